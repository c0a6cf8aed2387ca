"""Seeing and keeping: the request behind each job, the result of each ledger verify,
when an account was closed, and the indexes the retention task reads.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_job_done', ['finished_at'], unique=False,
                              postgresql_where=sa.text("status = 'done'"),
                              sqlite_where=sa.text("status = 'done'"))

    op.create_table('ledger_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.Column('postings', sa.BigInteger(), nullable=False),
    sa.Column('accounts', sa.BigInteger(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('faults', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_verification'))
    )

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    # Accounts already closed: their retention period starts now.
    op.execute(sa.text('UPDATE "user" SET closed_at = CURRENT_TIMESTAMP WHERE NOT active'))

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_read', ['read_at'], unique=False,
                              postgresql_where=sa.text('read_at IS NOT NULL'),
                              sqlite_where=sa.text('read_at IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_read', sqlite_where=sa.text('read_at IS NOT NULL'),
                            postgresql_where=sa.text('read_at IS NOT NULL'))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
    op.drop_table('ledger_verification')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_done', sqlite_where=sa.text("status = 'done'"),
                            postgresql_where=sa.text("status = 'done'"))
        batch_op.drop_column('request_id')
