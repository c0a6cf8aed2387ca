"""Licences remember when the teacher first opened the resource (the end of the right to
cancel): through the access redirect, the revealed activation code, or the vendor's
confirmation of first use (GAR).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_column('opened_at')
