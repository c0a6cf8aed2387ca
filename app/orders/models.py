"""Carts and orders.

The cart is kept in the database, one line per (teacher, product, plan). An order is
what a checkout wrote, all at once: its lines with a snapshot of the price and VAT
paid, the journal entry that moved the money, and one licence per line.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import BigId, Cents, UTCDateTime, enum_column, utcnow
from app.extensions import Model
from app.products.models import PlanKind

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.budgets.models import School
    from app.licences.models import Licence
    from app.products.models import Product, ProductVersion
    from app.vendors.models import Vendor


class CartLine(Model):
    __tablename__ = "cart_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    plan_kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    seats: Mapped[int] = mapped_column(Integer, default=1)
    # The price the teacher saw: a different price at checkout must be confirmed again.
    seen_price_cents: Mapped[Cents]
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship()

    __table_args__ = (
        UniqueConstraint("teacher_id", "product_id", "plan_kind"),
        CheckConstraint("seats >= 1", name="seats_positive"),
    )


class OrderLineStatus(enum.StrEnum):
    PAID = "paid"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(ORDER_LINE_STATUS_LABELS[self])


ORDER_LINE_STATUS_LABELS = {
    OrderLineStatus.PAID: _l("Payée"),
    OrderLineStatus.CANCELLED: _l("Annulée"),
}


class Order(Model):
    __tablename__ = "order"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    academy_code: Mapped[str] = mapped_column(ForeignKey("academy.code"))
    school_year_code: Mapped[str] = mapped_column(ForeignKey("school_year.code"))
    # The checkout form's key: the same form submitted twice makes one order.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    total_cents: Mapped[Cents]
    credit_after_cents: Mapped[Cents]  # the teacher's credit left, for the receipt
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    receipt_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    teacher: Mapped[User] = relationship()
    school: Mapped[School] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")

    __table_args__ = (CheckConstraint("total_cents > 0", name="total_positive"),)

    @property
    def number(self) -> str:
        """The order number people read and quote: "CR-2026-000042"."""
        return f"CR-{self.school_year_code[:4]}-{self.id:06d}"

    @property
    def refunded_cents(self) -> int:
        """What the cancelled lines gave back to the teacher's credit."""
        return sum(line.price_cents for line in self.lines if line.is_cancelled)

    @property
    def net_paid_cents(self) -> int:
        """What the order finally cost the teacher's credit: the total less the refunds."""
        return self.total_cents - self.refunded_cents

    @property
    def net_vat_cents(self) -> int:
        return sum(line.vat_cents for line in self.lines if not line.is_cancelled)


class OrderLine(Model):
    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"))
    title: Mapped[str] = mapped_column(String(200))
    plan_kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    seats: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[Cents]  # including VAT, as paid
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    vat_cents: Mapped[Cents]
    status: Mapped[OrderLineStatus] = mapped_column(
        enum_column(OrderLineStatus), default=OrderLineStatus.PAID
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refund_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))

    order: Mapped[Order] = relationship(back_populates="lines")
    version: Mapped[ProductVersion] = relationship()
    vendor: Mapped[Vendor] = relationship()
    licence: Mapped[Licence | None] = relationship(back_populates="order_line")

    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL AND refund_entry_id IS NOT NULL)",
            name="cancelled_is_refunded",
        ),
        Index("ix_order_line_vendor", "vendor_id", "order_id"),
    )

    @property
    def is_cancelled(self) -> bool:
        return self.status is OrderLineStatus.CANCELLED
