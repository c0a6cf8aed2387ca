"""Payouts: money transferred to a vendor for settled order lines.

A settlement run pays, per vendor, the order lines bought before its cut-off date and
past the withdrawal period, minus the refunds of lines already paid. Each payout line
points at one order line, once as a ``sale`` and at most once as a ``refund``
deduction (unique constraint): re-running a settlement can never pay a line twice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import BigId, Cents, UTCDateTime, enum_column, utcnow
from app.extensions import Model

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.orders.models import OrderLine
    from app.vendors.models import Vendor


class PayoutAccount(Model):
    """Where a vendor is paid: its Stripe connected account and whether it can receive."""

    __tablename__ = "payout_account"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), primary_key=True)
    stripe_account_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    details_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why payouts are not possible yet, as Stripe or the operator says it.
    status_reason: Mapped[str | None] = mapped_column(Text)
    last_bank_failure: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BankDetails(Model):
    """Where the accounting office sends a vendor's manual payouts, as a member of the
    vendor gave them (checked with python-stdnum; every change audited and mailed)."""

    __tablename__ = "bank_details"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(140))  # the account holder's name
    iban: Mapped[str] = mapped_column(String(34))  # compact, upper case
    bic: Mapped[str] = mapped_column(String(11))  # compact, upper case
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    author: Mapped[User | None] = relationship()

    @property
    def iban_end(self) -> str:
        """The last 4 characters: all that is shown of an IBAN outside the CSV of transfers."""
        return self.iban[-4:]

    @property
    def iban_masked(self) -> str:
        """How pages show the IBAN: its country and key, then only its last 4 characters."""
        return f"{self.iban[:4]} •••• •••• •••• {self.iban_end}"


class SettlementRun(Model):
    __tablename__ = "settlement_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    until: Mapped[date] = mapped_column(Date)
    gateway: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # vendor id → why it was not paid (no payout account, negative balance…)
    skipped: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    payouts: Mapped[list[Payout]] = relationship(back_populates="run", order_by="Payout.id")


class PayoutStatus(enum.StrEnum):
    PENDING = "pending"  # written in the ledger, transfer not confirmed yet
    TRANSFERRED = "transferred"  # the gateway made the transfer
    FAILED = "failed"  # the gateway refused; retried by the next run
    REVERSED = "reversed"  # the transfer was reversed: the money is owed again

    @property
    def label(self) -> str:
        return str(PAYOUT_STATUS_LABELS[self])


PAYOUT_STATUS_LABELS = {
    PayoutStatus.PENDING: _l("En attente de virement"),
    PayoutStatus.TRANSFERRED: _l("Viré"),
    PayoutStatus.FAILED: _l("Virement en échec"),
    PayoutStatus.REVERSED: _l("Virement annulé"),
}


class Payout(Model):
    __tablename__ = "payout"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("settlement_run.id"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"))
    until: Mapped[date] = mapped_column(Date)
    sales_cents: Mapped[Cents]
    deductions_cents: Mapped[Cents]
    amount_cents: Mapped[Cents]  # sales minus deductions: what is transferred
    status: Mapped[PayoutStatus] = mapped_column(
        enum_column(PayoutStatus), default=PayoutStatus.PENDING
    )
    gateway: Mapped[str] = mapped_column(String(20))
    transfer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"))
    reversal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    statement_key: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Manual gateway: the accounting office's transfer, once made ("marquer comme payé").
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    run: Mapped[SettlementRun] = relationship(back_populates="payouts")
    vendor: Mapped[Vendor] = relationship()
    lines: Mapped[list[PayoutLine]] = relationship(
        back_populates="payout", order_by="PayoutLine.id"
    )

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("amount_cents = sales_cents - deductions_cents", name="amount_is_net"),
        Index("ix_payout_vendor", "vendor_id", "id"),
        Index(
            "ix_payout_open",
            "id",
            postgresql_where=text("status IN ('pending', 'failed')"),
            sqlite_where=text("status IN ('pending', 'failed')"),
        ),
    )

    @property
    def number(self) -> str:
        return f"VRS-{self.id:06d}"

    @property
    def status_label(self) -> str:
        """The status in words; a manual transfer is recorded here, paid by the bank later."""
        if self.status is PayoutStatus.TRANSFERRED and self.gateway == "manual":
            return str(_l("Enregistré, virement manuel"))
        return self.status.label


class PayoutLineKind(enum.StrEnum):
    SALE = "sale"
    REFUND = "refund"


class PayoutLine(Model):
    __tablename__ = "payout_line"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payout.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_line.id"))
    kind: Mapped[PayoutLineKind] = mapped_column(enum_column(PayoutLineKind))
    amount_cents: Mapped[Cents]  # positive for a sale, negative for a refund deduction

    payout: Mapped[Payout] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()

    __table_args__ = (
        UniqueConstraint("order_line_id", "kind"),
        CheckConstraint(
            "(kind = 'sale' AND amount_cents > 0) OR (kind = 'refund' AND amount_cents < 0)",
            name="sign_matches_kind",
        ),
    )


class StripeEvent(Model):
    """A Stripe webhook event already processed: each id is handled once."""

    __tablename__ = "stripe_event"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
