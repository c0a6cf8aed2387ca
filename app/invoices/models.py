"""Invoices and credit notes, issued by the platform in each vendor's name.

An invoice covers one vendor's lines of one order; a credit note (avoir) covers one
cancelled line and refers to the invoice that billed it. Both are numbered without gaps,
per vendor, kind and calendar year, from the `invoice_counter` row of that vendor, kind and
year. What the law requires on the document (the seller's and the buyer's identity at the
time of the sale) is copied onto it: an issued invoice never changes.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import BigId, Cents, UTCDateTime, enum_column
from app.extensions import Model

if TYPE_CHECKING:
    from app.orders.models import Order
    from app.vendors.models import Vendor


class InvoiceKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"

    @property
    def label(self) -> str:
        return str(INVOICE_KIND_LABELS[self])

    @property
    def prefix(self) -> str:
        return "F" if self is InvoiceKind.INVOICE else "A"


INVOICE_KIND_LABELS = {
    InvoiceKind.INVOICE: _l("Facture"),
    InvoiceKind.CREDIT_NOTE: _l("Avoir"),
}


class InvoiceCounter(Model):
    """The last number issued for a vendor, kind and year. The next number is taken by
    incrementing this row, which locks it until the transaction ends: a rolled-back
    checkout gives its number back, so the sequence has no gap."""

    __tablename__ = "invoice_counter"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), primary_key=True)
    kind: Mapped[InvoiceKind] = mapped_column(enum_column(InvoiceKind), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)


class Invoice(Model):
    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[InvoiceKind] = mapped_column(enum_column(InvoiceKind))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20))  # "F-2026-000123", "A-2026-000007"
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    academy_code: Mapped[str] = mapped_column(ForeignKey("academy.code"))
    # A credit note refers to the invoice it cancels (in part).
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_on: Mapped[date] = mapped_column(Date)  # the day in Paris
    # The seller, as it was when the invoice was issued, and the mandate it is issued under.
    seller_name: Mapped[str] = mapped_column(String(200))
    seller_legal_form: Mapped[str] = mapped_column(String(60))
    seller_siret: Mapped[str] = mapped_column(String(14))
    seller_vat_number: Mapped[str] = mapped_column(String(13))
    seller_street: Mapped[str] = mapped_column(String(200))
    seller_postcode: Mapped[str] = mapped_column(String(10))
    seller_city: Mapped[str] = mapped_column(String(100))
    mandate_accepted_on: Mapped[date] = mapped_column(Date)
    # The buyer: the academy's budget office, on behalf of the teacher of a school.
    buyer_name: Mapped[str] = mapped_column(String(200))
    teacher_name: Mapped[str] = mapped_column(String(200))
    school_name: Mapped[str] = mapped_column(String(200))
    school_city: Mapped[str] = mapped_column(String(100))
    school_uai: Mapped[str] = mapped_column(String(8))
    total_excl_vat_cents: Mapped[Cents]
    vat_cents: Mapped[Cents]
    total_incl_vat_cents: Mapped[Cents]
    # The Factur-X PDF, once rendered (by a job after the checkout, or on first download).
    pdf_key: Mapped[str | None] = mapped_column(String(100))

    vendor: Mapped[Vendor] = relationship()
    order: Mapped[Order] = relationship()
    credited_invoice: Mapped[Invoice | None] = relationship(remote_side=[id])
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id"
    )

    __table_args__ = (
        UniqueConstraint("vendor_id", "kind", "year", "sequence"),
        UniqueConstraint("vendor_id", "number"),
        # One invoice per vendor and order; credit notes are one per cancelled line.
        Index(
            "uq_invoice_order_vendor",
            "order_id",
            "vendor_id",
            unique=True,
            postgresql_where=text("kind = 'invoice'"),
            sqlite_where=text("kind = 'invoice'"),
        ),
        Index("ix_invoice_academy", "academy_code", "issued_on"),
        Index("ix_invoice_vendor", "vendor_id", "id"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint(
            "(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)",
            name="credit_note_refers_to_invoice",
        ),
        CheckConstraint(
            "total_incl_vat_cents = total_excl_vat_cents + vat_cents", name="totals_add_up"
        ),
    )

    @property
    def is_credit_note(self) -> bool:
        return self.kind is InvoiceKind.CREDIT_NOTE

    @property
    def seller_siren(self) -> str:
        return self.seller_siret[:9]


class InvoiceLine(Model):
    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)  # the plan, and the pupils of a class plan
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_excl_vat_cents: Mapped[Cents]
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    vat_cents: Mapped[Cents]
    total_excl_vat_cents: Mapped[Cents]
    total_incl_vat_cents: Mapped[Cents]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    __table_args__ = (
        UniqueConstraint("invoice_id", "order_line_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "total_incl_vat_cents = total_excl_vat_cents + vat_cents", name="totals_add_up"
        ),
    )
