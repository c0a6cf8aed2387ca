"""Scheduled tasks: an index over the jobs that run them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_scheduled', ['id'], unique=False, postgresql_where=sa.text("kind = 'schedule'"), sqlite_where=sa.text("kind = 'schedule'"))


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_scheduled', postgresql_where=sa.text("kind = 'schedule'"), sqlite_where=sa.text("kind = 'schedule'"))
