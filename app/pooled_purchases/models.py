"""Pooled purchases and their shares.

A teacher starts a pooled purchase of a product's school plan for their school, at the
price of the day (frozen), with a deadline. Colleagues of the same school each put in a
share: the money leaves their credit at once for the purchase's hold account (a guarded
ledger account, ``pooled_purchase_hold``), so it is reserved. ``collected_cents`` is what
the shares not withdrawn add up to; it never exceeds the price (a CHECK, and the guarded
UPDATE that adds a share). When it reaches the price the purchase completes: one order
for the school, paid from the hold account. If the deadline passes first, or the product
leaves the catalogue or changes price, every share goes back to its teacher.

Invariant (checked by the tests): the hold account's balance equals ``collected_cents``
while the purchase is open, and is 0 once it has ended.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import BigId, Cents, UTCDateTime, enum_column, utcnow
from app.extensions import Model
from app.products.models import PlanKind

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.budgets.models import School
    from app.products.models import Product


class PooledStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(POOLED_STATUS_LABELS[self])


POOLED_STATUS_LABELS = {
    PooledStatus.OPEN: _l("En cours"),
    PooledStatus.COMPLETED: _l("Financé"),
    PooledStatus.EXPIRED: _l("Échéance dépassée, participations rendues"),
    PooledStatus.CANCELLED: _l("Annulé, participations rendues"),
}


class PooledPurchase(Model):
    __tablename__ = "pooled_purchase"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    plan_kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    # The plan's price when the purchase started: the product changing price cancels it.
    price_cents: Mapped[Cents]
    title: Mapped[str] = mapped_column(String(200))  # the product's title when it started
    academy_code: Mapped[str] = mapped_column(ForeignKey("academy.code"))
    school_year_code: Mapped[str] = mapped_column(ForeignKey("school_year.code"))
    started_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    deadline: Mapped[date] = mapped_column(Date)  # the last day shares are taken (Paris)
    status: Mapped[PooledStatus] = mapped_column(
        enum_column(PooledStatus), default=PooledStatus.OPEN
    )
    collected_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order.id"), unique=True)
    # Why it was cancelled (product withdrawn, price changed…), in French.
    end_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    school: Mapped[School] = relationship()
    product: Mapped[Product] = relationship()
    starter: Mapped[User] = relationship()
    shares: Mapped[list[PooledShare]] = relationship(
        back_populates="pooled_purchase", order_by="PooledShare.id"
    )

    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint("collected_cents >= 0", name="collected_not_negative"),
        CheckConstraint("collected_cents <= price_cents", name="collected_within_price"),
        CheckConstraint(
            "(status = 'completed') = (order_id IS NOT NULL)", name="completed_has_order"
        ),
        CheckConstraint("(status = 'open') = (ended_at IS NULL)", name="ended_when_not_open"),
        # One open pooled purchase of a product per school: colleagues join it.
        Index(
            "uq_pooled_purchase_open",
            "school_id",
            "product_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index(
            "ix_pooled_purchase_open_deadline",
            "deadline",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    @property
    def remaining_cents(self) -> int:
        return self.price_cents - self.collected_cents

    @property
    def is_open(self) -> bool:
        return self.status is PooledStatus.OPEN

    @property
    def active_shares(self) -> list[PooledShare]:
        return [share for share in self.shares if share.withdrawn_at is None]

    @property
    def percent(self) -> int:
        return min(100, self.collected_cents * 100 // self.price_cents)


class PooledShare(Model):
    """One teacher's share: taken from their credit by `entry_id`, given back by
    `refund_entry_id` when the teacher withdrew it (`withdrawn_at`) or the purchase ended
    without completing (expired, cancelled)."""

    __tablename__ = "pooled_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    pooled_purchase_id: Mapped[int] = mapped_column(ForeignKey("pooled_purchase.id"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    amount_cents: Mapped[Cents]
    entry_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journal_entry.id"))
    refund_entry_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journal_entry.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pooled_purchase: Mapped[PooledPurchase] = relationship(back_populates="shares")
    teacher: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("amount_cents >= 100", name="at_least_one_euro"),
        CheckConstraint(
            "withdrawn_at IS NULL OR refund_entry_id IS NOT NULL", name="withdrawn_is_refunded"
        ),
        # One share at a time per teacher and purchase (withdrawn ones are kept).
        Index(
            "uq_pooled_share_active",
            "pooled_purchase_id",
            "teacher_id",
            unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
            sqlite_where=text("withdrawn_at IS NULL"),
        ),
    )
