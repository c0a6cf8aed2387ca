"""Bank details of vendors, and manual payouts marked paid with their bank reference.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank_details',
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=140), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], name=op.f('fk_bank_details_updated_by_user')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_bank_details_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('vendor_id', name=op.f('pk_bank_details'))
    )

    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_reference', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paid_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payout_paid_by_user'), 'user', ['paid_by'], ['id'])


def downgrade():
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payout_paid_by_user'), type_='foreignkey')
        batch_op.drop_column('paid_by')
        batch_op.drop_column('paid_at')
        batch_op.drop_column('bank_reference')

    op.drop_table('bank_details')
