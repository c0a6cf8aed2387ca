"""Notifications: what each person was told, their choice of optional e-mails, their language.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=5), nullable=True))

    op.create_table('notification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_notification_user_id_key'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_id_id', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_notification_unread', ['user_id'], unique=False,
                              postgresql_where=sa.text('read_at IS NULL'),
                              sqlite_where=sa.text('read_at IS NULL'))

    op.create_table('mail_choice',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.Enum('reminders', 'digests', name='topic', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('wanted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_mail_choice_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'topic', name=op.f('pk_mail_choice'))
    )


def downgrade():
    op.drop_table('mail_choice')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_unread', sqlite_where=sa.text('read_at IS NULL'),
                            postgresql_where=sa.text('read_at IS NULL'))
        batch_op.drop_index('ix_notification_user_id_id')
    op.drop_table('notification')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('locale')
