"""Screenshots of a product version: up to five, each with its alternative text.

Table `product_version_screenshot`: the version, the place (1 to 5, unique per version,
which is what holds the limit), the stored file's key and the alternative text (required).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product_version_screenshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('alt_text', sa.String(length=250), nullable=False),
    sa.CheckConstraint('position BETWEEN 1 AND 5', name=op.f('ck_product_version_screenshot_position_in_range')),
    sa.CheckConstraint('length(trim(alt_text)) > 0', name=op.f('ck_product_version_screenshot_alt_text_given')),
    sa.ForeignKeyConstraint(['version_id'], ['product_version.id'], name=op.f('fk_product_version_screenshot_version_id_product_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_version_screenshot')),
    sa.UniqueConstraint('version_id', 'position', name=op.f('uq_product_version_screenshot_version_id_position'))
    )


def downgrade():
    op.drop_table('product_version_screenshot')
