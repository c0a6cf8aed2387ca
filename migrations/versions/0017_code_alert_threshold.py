"""Vendors: the number of activation codes left under which their staff are told.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_alert_threshold', sa.Integer(), server_default='20',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.drop_column('code_alert_threshold')
