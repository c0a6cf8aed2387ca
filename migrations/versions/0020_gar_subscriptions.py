"""GAR: each licence's subscription identifier, and the schools that use the GAR.

The GAR licences created before this revision were sent as "CR-<licence id>": they keep
that identifier, so that their update and deletion name the subscription the GAR holds.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    # A unique index rather than a constraint: on SQLite a constraint means rebuilding
    # the licence table, which the rows that reference it forbid.
    op.add_column('licence', sa.Column('gar_subscription_id', sa.String(length=45), nullable=True))
    op.create_index(op.f('ix_licence_gar_subscription_id'), 'licence', ['gar_subscription_id'], unique=True)
    op.execute(
        "UPDATE licence SET gar_subscription_id = 'CR-' || CAST(id AS VARCHAR(20)) "
        "WHERE version_id IN (SELECT id FROM product_version WHERE channel = 'gar')"
    )
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uses_gar', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.drop_column('uses_gar')
    op.drop_index(op.f('ix_licence_gar_subscription_id'), table_name='licence')
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_column('gar_subscription_id')
