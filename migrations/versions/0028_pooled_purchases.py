"""Pooled purchases (« achats groupés »): a school licence paid by several teachers.

- `pooled_purchase` and `pooled_share`;
- a new guarded ledger account kind, `pooled_purchase_hold` (one per pooled purchase, with
  its academy and school year), owned through `ledger_account.pooled_purchase_id`;
- two new entry kinds, `pool_share` and `pool_refund`.

The kinds are VARCHAR + CHECK (non-native enums): their CHECK constraints, and those of
ledger_account naming the guarded kinds, are rewritten (SQLite: batch mode, which
rebuilds the tables; journal_entry's append-only triggers are created again after).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

OLD_ACCOUNT_KINDS = ('national_funding', 'academy_pool', 'teacher_credit', 'vendor_payable', 'vendor_paid', 'expired')
NEW_ACCOUNT_KINDS = OLD_ACCOUNT_KINDS + ('pooled_purchase_hold',)
OLD_ENTRY_KINDS = ('fund', 'allocate', 'purchase', 'refund', 'payout', 'expire', 'reversal')
NEW_ENTRY_KINDS = OLD_ENTRY_KINDS + ('pool_share', 'pool_refund')
OLD_GUARDED = "('academy_pool', 'teacher_credit')"
NEW_GUARDED = "('academy_pool', 'teacher_credit', 'pooled_purchase_hold')"


def _in(values):
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def _sqlite_journal_triggers():
    """Batch mode rebuilt journal_entry on SQLite: its append-only triggers went with it."""
    if op.get_context().dialect.name == 'postgresql':
        return
    for operation in ('UPDATE', 'DELETE'):
        op.execute(f"DROP TRIGGER IF EXISTS journal_entry_append_only_{operation.lower()}")
        op.execute(
            f"CREATE TRIGGER journal_entry_append_only_{operation.lower()} BEFORE {operation} "
            "ON journal_entry BEGIN SELECT RAISE(ABORT, 'journal_entry is append-only'); END"
        )


def upgrade():
    op.create_table('pooled_purchase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('plan_kind', sa.Enum('teacher', 'class', 'school', name='plankind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('academy_code', sa.String(length=2), nullable=False),
    sa.Column('school_year_code', sa.String(length=9), nullable=False),
    sa.Column('started_by', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'completed', 'expired', 'cancelled', name='pooledstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('collected_cents', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('end_reason', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('price_cents > 0', name=op.f('ck_pooled_purchase_price_positive')),
    sa.CheckConstraint('collected_cents >= 0', name=op.f('ck_pooled_purchase_collected_not_negative')),
    sa.CheckConstraint('collected_cents <= price_cents', name=op.f('ck_pooled_purchase_collected_within_price')),
    sa.CheckConstraint("(status = 'completed') = (order_id IS NOT NULL)", name=op.f('ck_pooled_purchase_completed_has_order')),
    sa.CheckConstraint("(status = 'open') = (ended_at IS NULL)", name=op.f('ck_pooled_purchase_ended_when_not_open')),
    sa.ForeignKeyConstraint(['academy_code'], ['academy.code'], name=op.f('fk_pooled_purchase_academy_code_academy')),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_pooled_purchase_order_id_order')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_pooled_purchase_product_id_product')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_pooled_purchase_school_id_school')),
    sa.ForeignKeyConstraint(['school_year_code'], ['school_year.code'], name=op.f('fk_pooled_purchase_school_year_code_school_year')),
    sa.ForeignKeyConstraint(['started_by'], ['user.id'], name=op.f('fk_pooled_purchase_started_by_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pooled_purchase')),
    sa.UniqueConstraint('order_id', name=op.f('uq_pooled_purchase_order_id'))
    )
    with op.batch_alter_table('pooled_purchase', schema=None) as batch_op:
        batch_op.create_index('uq_pooled_purchase_open', ['school_id', 'product_id'], unique=True, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.create_index('ix_pooled_purchase_open_deadline', ['deadline'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.create_index(batch_op.f('ix_pooled_purchase_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pooled_purchase_school_id'), ['school_id'], unique=False)

    op.create_table('pooled_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pooled_purchase_id', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('refund_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_cents >= 100', name=op.f('ck_pooled_share_at_least_one_euro')),
    sa.CheckConstraint('withdrawn_at IS NULL OR refund_entry_id IS NOT NULL', name=op.f('ck_pooled_share_withdrawn_is_refunded')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entry.id'], name=op.f('fk_pooled_share_entry_id_journal_entry')),
    sa.ForeignKeyConstraint(['pooled_purchase_id'], ['pooled_purchase.id'], name=op.f('fk_pooled_share_pooled_purchase_id_pooled_purchase')),
    sa.ForeignKeyConstraint(['refund_entry_id'], ['journal_entry.id'], name=op.f('fk_pooled_share_refund_entry_id_journal_entry')),
    sa.ForeignKeyConstraint(['teacher_id'], ['user.id'], name=op.f('fk_pooled_share_teacher_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pooled_share'))
    )
    with op.batch_alter_table('pooled_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pooled_share_teacher_id'), ['teacher_id'], unique=False)
        batch_op.create_index('uq_pooled_share_active', ['pooled_purchase_id', 'teacher_id'], unique=True, postgresql_where=sa.text('withdrawn_at IS NULL'), sqlite_where=sa.text('withdrawn_at IS NULL'))

    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pooled_purchase_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ledger_account_pooled_purchase_id_pooled_purchase'), 'pooled_purchase', ['pooled_purchase_id'], ['id'])
        batch_op.create_index('uq_ledger_account_pooled_purchase', ['pooled_purchase_id'], unique=True, postgresql_where=sa.text('pooled_purchase_id IS NOT NULL'), sqlite_where=sa.text('pooled_purchase_id IS NOT NULL'))
        _ledger_account_checks(batch_op, NEW_ACCOUNT_KINDS, NEW_GUARDED)
        batch_op.create_check_constraint(op.f('ck_ledger_account_hold_has_pooled_purchase'), "(kind = 'pooled_purchase_hold') = (pooled_purchase_id IS NOT NULL)")

    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_journal_entry_entrykind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_journal_entry_entrykind'), f"kind IN {_in(NEW_ENTRY_KINDS)}")
    _sqlite_journal_triggers()


def _ledger_account_checks(batch_op, kinds, guarded):
    batch_op.drop_constraint(op.f('ck_ledger_account_accountkind'), type_='check')
    batch_op.drop_constraint(op.f('ck_ledger_account_guarded_kinds_keep_a_balance'), type_='check')
    batch_op.drop_constraint(op.f('ck_ledger_account_academy_accounts_have_academy'), type_='check')
    batch_op.create_check_constraint(op.f('ck_ledger_account_accountkind'), f"kind IN {_in(kinds)}")
    batch_op.create_check_constraint(op.f('ck_ledger_account_guarded_kinds_keep_a_balance'), f"(kind IN {guarded}) = (balance_cents IS NOT NULL)")
    batch_op.create_check_constraint(op.f('ck_ledger_account_academy_accounts_have_academy'), f"(kind IN {guarded}) = (academy_code IS NOT NULL)")


def downgrade():
    # Refused by the CHECK constraints below while any pooled purchase moved money:
    # a downgrade never drops entries (the ledger is append-only).
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_journal_entry_entrykind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_journal_entry_entrykind'), f"kind IN {_in(OLD_ENTRY_KINDS)}")
    _sqlite_journal_triggers()

    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_account_hold_has_pooled_purchase'), type_='check')
        _ledger_account_checks(batch_op, OLD_ACCOUNT_KINDS, OLD_GUARDED)
        batch_op.drop_index('uq_ledger_account_pooled_purchase', postgresql_where=sa.text('pooled_purchase_id IS NOT NULL'), sqlite_where=sa.text('pooled_purchase_id IS NOT NULL'))
        batch_op.drop_constraint(batch_op.f('fk_ledger_account_pooled_purchase_id_pooled_purchase'), type_='foreignkey')
        batch_op.drop_column('pooled_purchase_id')

    with op.batch_alter_table('pooled_share', schema=None) as batch_op:
        batch_op.drop_index('uq_pooled_share_active', postgresql_where=sa.text('withdrawn_at IS NULL'), sqlite_where=sa.text('withdrawn_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_pooled_share_teacher_id'))

    op.drop_table('pooled_share')
    with op.batch_alter_table('pooled_purchase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pooled_purchase_school_id'))
        batch_op.drop_index(batch_op.f('ix_pooled_purchase_product_id'))
        batch_op.drop_index('uq_pooled_purchase_open', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_pooled_purchase_open_deadline', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    op.drop_table('pooled_purchase')
