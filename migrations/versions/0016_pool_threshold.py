"""The alert threshold of an academy's pool, per school year.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pool_threshold',
    sa.Column('academy_code', sa.String(length=2), nullable=False),
    sa.Column('school_year_code', sa.String(length=9), nullable=False),
    sa.Column('threshold_cents', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('threshold_cents > 0', name=op.f('ck_pool_threshold_threshold_positive')),
    sa.ForeignKeyConstraint(['academy_code'], ['academy.code'], name=op.f('fk_pool_threshold_academy_code_academy')),
    sa.ForeignKeyConstraint(['school_year_code'], ['school_year.code'], name=op.f('fk_pool_threshold_school_year_code_school_year')),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], name=op.f('fk_pool_threshold_updated_by_user')),
    sa.PrimaryKeyConstraint('academy_code', 'school_year_code', name=op.f('pk_pool_threshold'))
    )


def downgrade():
    op.drop_table('pool_threshold')
