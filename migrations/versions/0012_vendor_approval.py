"""Vendors wait for the operator's approval; matches of the exclusion list to decide.

A vendor registers as `pending` (or is `refused`), with who registered it, when their
address was confirmed and which terms of use they accepted; the vendors already there
stay as they are. A later entry of the exclusion list that matches a registered vendor
leaves an `exclusion_match` for the operator to decide.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

OLD_STATUS = sa.Enum(
    'active', 'suspended', name='vendorstatus', native_enum=False, create_constraint=True,
    length=32,
)
NEW_STATUS = sa.Enum(
    'pending', 'active', 'suspended', 'refused', name='vendorstatus', native_enum=False,
    create_constraint=True, length=32,
)


def upgrade():
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.alter_column(
            'status', existing_type=OLD_STATUS, type_=NEW_STATUS, existing_nullable=False
        )
        batch_op.add_column(sa.Column('registered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('registrant_email_confirmed_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('terms_version', sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column('terms_accepted_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_vendor_registered_by_id_user'), 'user', ['registered_by_id'], ['id']
        )

    op.create_table('exclusion_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('excluded_company_id', sa.Integer(), nullable=False),
    sa.Column('on_parent', sa.Boolean(), nullable=False),
    sa.Column('checked_name', sa.String(length=200), nullable=False),
    sa.Column('found', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('open', 'suspended', 'dismissed', name='exclusionmatchstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_exclusion_match_decided_by_id_user')),
    sa.ForeignKeyConstraint(['excluded_company_id'], ['excluded_company.id'], name=op.f('fk_exclusion_match_excluded_company_id_excluded_company'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_exclusion_match_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exclusion_match')),
    sa.UniqueConstraint('vendor_id', 'excluded_company_id', name=op.f('uq_exclusion_match_vendor_id_excluded_company_id'))
    )
    with op.batch_alter_table('exclusion_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exclusion_match_excluded_company_id'), ['excluded_company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exclusion_match_vendor_id'), ['vendor_id'], unique=False)


def downgrade():
    with op.batch_alter_table('exclusion_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exclusion_match_vendor_id'))
        batch_op.drop_index(batch_op.f('ix_exclusion_match_excluded_company_id'))
    op.drop_table('exclusion_match')

    # Vendors the old schema cannot hold: a pending one was never approved, a refused one
    # may not sell: both come back suspended, with their reason.
    vendor = sa.table('vendor', sa.column('status', sa.String), sa.column('status_reason', sa.Text))
    op.execute(
        vendor.update()
        .where(vendor.c.status.in_(['pending', 'refused']))
        .values(status='suspended')
    )
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_vendor_registered_by_id_user'), type_='foreignkey')
        batch_op.drop_column('terms_accepted_at')
        batch_op.drop_column('terms_version')
        batch_op.drop_column('registrant_email_confirmed_at')
        batch_op.drop_column('registered_by_id')
        batch_op.alter_column(
            'status', existing_type=NEW_STATUS, type_=OLD_STATUS, existing_nullable=False
        )
