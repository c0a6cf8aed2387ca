"""Invoices and credit notes issued in the vendors' names, under a billing mandate.

Tables `invoice_counter` (the gapless sequence of each vendor, kind and year), `invoice`
and `invoice_line`; on `vendor`, its legal form and when its billing mandate took effect.
The vendors approved before this revision (active or suspended) are recorded as having
accepted the mandate now, at the migration: the platform invoices their sales from now on,
and docs/decisions/0020 says why and what the operator tells them.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invoice_counter',
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invoice', 'credit_note', name='invoicekind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_number >= 0', name=op.f('ck_invoice_counter_last_number_not_negative')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_invoice_counter_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('vendor_id', 'kind', 'year', name=op.f('pk_invoice_counter'))
    )
    op.create_table('invoice',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('invoice', 'credit_note', name='invoicekind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('academy_code', sa.String(length=2), nullable=False),
    sa.Column('credited_invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('seller_name', sa.String(length=200), nullable=False),
    sa.Column('seller_legal_form', sa.String(length=60), nullable=False),
    sa.Column('seller_siret', sa.String(length=14), nullable=False),
    sa.Column('seller_vat_number', sa.String(length=13), nullable=False),
    sa.Column('seller_street', sa.String(length=200), nullable=False),
    sa.Column('seller_postcode', sa.String(length=10), nullable=False),
    sa.Column('seller_city', sa.String(length=100), nullable=False),
    sa.Column('mandate_accepted_on', sa.Date(), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=False),
    sa.Column('teacher_name', sa.String(length=200), nullable=False),
    sa.Column('school_name', sa.String(length=200), nullable=False),
    sa.Column('school_city', sa.String(length=100), nullable=False),
    sa.Column('school_uai', sa.String(length=8), nullable=False),
    sa.Column('total_excl_vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('total_incl_vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('pdf_key', sa.String(length=100), nullable=True),
    sa.CheckConstraint("(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)", name=op.f('ck_invoice_credit_note_refers_to_invoice')),
    sa.CheckConstraint('sequence > 0', name=op.f('ck_invoice_sequence_positive')),
    sa.CheckConstraint('total_incl_vat_cents = total_excl_vat_cents + vat_cents', name=op.f('ck_invoice_totals_add_up')),
    sa.ForeignKeyConstraint(['academy_code'], ['academy.code'], name=op.f('fk_invoice_academy_code_academy')),
    sa.ForeignKeyConstraint(['credited_invoice_id'], ['invoice.id'], name=op.f('fk_invoice_credited_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_invoice_order_id_order')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_invoice_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('vendor_id', 'kind', 'year', 'sequence', name=op.f('uq_invoice_vendor_id_kind_year_sequence')),
    sa.UniqueConstraint('vendor_id', 'number', name=op.f('uq_invoice_vendor_id_number'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_academy', ['academy_code', 'issued_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_invoice_vendor', ['vendor_id', 'id'], unique=False)
        batch_op.create_index('uq_invoice_order_vendor', ['order_id', 'vendor_id'], unique=True, postgresql_where=sa.text("kind = 'invoice'"), sqlite_where=sa.text("kind = 'invoice'"))

    op.create_table('invoice_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_excl_vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('total_excl_vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('total_incl_vat_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_invoice_line_quantity_positive')),
    sa.CheckConstraint('total_incl_vat_cents = total_excl_vat_cents + vat_cents', name=op.f('ck_invoice_line_totals_add_up')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_invoice_line_order_line_id_order_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('invoice_id', 'order_line_id', name=op.f('uq_invoice_line_invoice_id_order_line_id'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_order_line_id'), ['order_line_id'], unique=False)

    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_form', sa.String(length=60), server_default='', nullable=False))
        batch_op.add_column(sa.Column('billing_mandate_accepted_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE vendor SET billing_mandate_accepted_at = CURRENT_TIMESTAMP"
        " WHERE status IN ('active', 'suspended')"
    )


def downgrade():
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.drop_column('billing_mandate_accepted_at')
        batch_op.drop_column('legal_form')

    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_order_line_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('uq_invoice_order_vendor', postgresql_where=sa.text("kind = 'invoice'"), sqlite_where=sa.text("kind = 'invoice'"))
        batch_op.drop_index('ix_invoice_vendor')
        batch_op.drop_index(batch_op.f('ix_invoice_order_id'))
        batch_op.drop_index('ix_invoice_academy')

    op.drop_table('invoice')
    op.drop_table('invoice_counter')
