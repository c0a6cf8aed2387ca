"""Ledger accounts, journal entries and their postings.

- A posting's amount is signed: positive credits the account (its balance grows),
  negative debits it. The postings of an entry sum to zero.
- Entries and postings are append-only: no code updates or deletes them, and the
  database refuses it (triggers, see migration 0002). A correction is a new entry.
- Accounts that must never go negative (academy pools, teacher credits) carry a
  materialised `balance_cents` with `CHECK (balance_cents >= 0)`; the others
  (national funding, vendor payables…) have none, so no purchase ever waits on a
  vendor's hot row: their balance is the sum of their postings.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import BigId, Cents, UTCDateTime, enum_column, utcnow
from app.extensions import Model


class AccountKind(enum.StrEnum):
    NATIONAL_FUNDING = "national_funding"  # the State's side, per school year
    ACADEMY_POOL = "academy_pool"  # an academy's budget for a school year (guarded)
    TEACHER_CREDIT = "teacher_credit"  # a teacher's credit from one academy, one year (guarded)
    VENDOR_PAYABLE = "vendor_payable"  # what the marketplace owes a vendor
    VENDOR_PAID = "vendor_paid"  # what was transferred to a vendor
    EXPIRED = "expired"  # credit that lapsed and was not returned to a pool
    # The teachers' shares of a pooled purchase, reserved until it completes (guarded).
    POOLED_PURCHASE_HOLD = "pooled_purchase_hold"

    @property
    def label(self) -> str:
        return str(ACCOUNT_KIND_LABELS[self])


ACCOUNT_KIND_LABELS = {
    AccountKind.NATIONAL_FUNDING: _l("Financement national"),
    AccountKind.ACADEMY_POOL: _l("Enveloppe de l’académie"),
    AccountKind.TEACHER_CREDIT: _l("Crédit d’un enseignant"),
    AccountKind.VENDOR_PAYABLE: _l("Dû à l’éditeur"),
    AccountKind.VENDOR_PAID: _l("Versé à l’éditeur"),
    AccountKind.EXPIRED: _l("Crédit expiré"),
    AccountKind.POOLED_PURCHASE_HOLD: _l("Réserve d’un achat groupé"),
}


GUARDED_KINDS = (
    AccountKind.ACADEMY_POOL,
    AccountKind.TEACHER_CREDIT,
    AccountKind.POOLED_PURCHASE_HOLD,
)

# The academy's money in its teachers' hands, not spent yet: their credits and the shares
# they reserved in pooled purchases still open (given back if the purchase does not
# complete). A purchase from either is spending; a share moves money within this side.
TEACHER_SIDE_KINDS = (AccountKind.TEACHER_CREDIT, AccountKind.POOLED_PURCHASE_HOLD)


class EntryKind(enum.StrEnum):
    FUND = "fund"
    ALLOCATE = "allocate"
    PURCHASE = "purchase"
    REFUND = "refund"
    PAYOUT = "payout"
    EXPIRE = "expire"
    REVERSAL = "reversal"
    POOL_SHARE = "pool_share"  # a teacher's credit → a pooled purchase's hold account
    POOL_REFUND = "pool_refund"  # the share back to the teacher

    @property
    def label(self) -> str:
        return str(ENTRY_KIND_LABELS[self])


ENTRY_KIND_LABELS = {
    EntryKind.FUND: _l("Dotation"),
    EntryKind.ALLOCATE: _l("Répartition"),
    EntryKind.PURCHASE: _l("Achat"),
    EntryKind.REFUND: _l("Remboursement"),
    EntryKind.PAYOUT: _l("Versement"),
    EntryKind.EXPIRE: _l("Expiration"),
    EntryKind.REVERSAL: _l("Correction"),
    EntryKind.POOL_SHARE: _l("Participation à un achat groupé"),
    EntryKind.POOL_REFUND: _l("Restitution d’une participation"),
}


class LedgerAccount(Model):
    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind))
    school_year_code: Mapped[str | None] = mapped_column(ForeignKey("school_year.code"))
    academy_code: Mapped[str | None] = mapped_column(ForeignKey("academy.code"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"))
    pooled_purchase_id: Mapped[int | None] = mapped_column(ForeignKey("pooled_purchase.id"))
    # Materialised for guarded kinds only; NULL (no balance kept) for the others.
    balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("balance_cents >= 0", name="balance_not_negative"),
        CheckConstraint(
            "(kind IN ('academy_pool', 'teacher_credit', 'pooled_purchase_hold'))"
            " = (balance_cents IS NOT NULL)",
            name="guarded_kinds_keep_a_balance",
        ),
        CheckConstraint(
            "(kind = 'teacher_credit') = (user_id IS NOT NULL)", name="teacher_credit_has_teacher"
        ),
        CheckConstraint(
            "(kind IN ('academy_pool', 'teacher_credit', 'pooled_purchase_hold'))"
            " = (academy_code IS NOT NULL)",
            name="academy_accounts_have_academy",
        ),
        CheckConstraint(
            "(kind = 'pooled_purchase_hold') = (pooled_purchase_id IS NOT NULL)",
            name="hold_has_pooled_purchase",
        ),
        CheckConstraint(
            "(kind IN ('vendor_payable', 'vendor_paid')) = (vendor_id IS NOT NULL)",
            name="vendor_accounts_have_vendor",
        ),
        CheckConstraint(
            "(kind IN ('vendor_payable', 'vendor_paid')) = (school_year_code IS NULL)",
            name="only_vendor_accounts_span_years",
        ),
        # One account per owner: these partial unique indexes are also the targets of
        # the set-based "create when missing" inserts (ON CONFLICT DO NOTHING).
        Index(
            "uq_ledger_account_teacher_credit",
            "user_id",
            "school_year_code",
            "academy_code",
            unique=True,
            postgresql_where=text("kind = 'teacher_credit'"),
            sqlite_where=text("kind = 'teacher_credit'"),
        ),
        Index(
            "uq_ledger_account_academy_pool",
            "academy_code",
            "school_year_code",
            unique=True,
            postgresql_where=text("kind = 'academy_pool'"),
            sqlite_where=text("kind = 'academy_pool'"),
        ),
        Index(
            "uq_ledger_account_vendor",
            "kind",
            "vendor_id",
            unique=True,
            postgresql_where=text("vendor_id IS NOT NULL"),
            sqlite_where=text("vendor_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_account_per_year",
            "kind",
            "school_year_code",
            unique=True,
            postgresql_where=text("kind IN ('national_funding', 'expired')"),
            sqlite_where=text("kind IN ('national_funding', 'expired')"),
        ),
        Index(
            "uq_ledger_account_pooled_purchase",
            "pooled_purchase_id",
            unique=True,
            postgresql_where=text("pooled_purchase_id IS NOT NULL"),
            sqlite_where=text("pooled_purchase_id IS NOT NULL"),
        ),
        Index("ix_ledger_account_academy_year", "academy_code", "school_year_code", "kind"),
    )

    def __repr__(self) -> str:
        return f"<LedgerAccount {self.id} {self.kind.value}>"


class JournalEntry(Model):
    """One balanced movement of money."""

    __tablename__ = "journal_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind))
    # The same key never moves money twice: a replay returns the first entry.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # What the entry is about: "allocation:12", "order:345", "payout:6", "school_year:2026-2027"…
    reference: Mapped[str] = mapped_column(String(100), index=True)
    memo: Mapped[str] = mapped_column(String(300), default="")
    reverses_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("journal_entry.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    postings: Mapped[list[Posting]] = relationship(back_populates="entry", order_by="Posting.id")

    # Not stored: set by the ledger's services on the entry they return, True when the
    # call was a replay of an earlier one (same idempotency key) and moved nothing.
    replayed: bool = False

    def __repr__(self) -> str:
        return f"<JournalEntry {self.id} {self.kind.value} {self.idempotency_key}>"


class Posting(Model):
    """One line of an entry: a signed amount on one account."""

    __tablename__ = "posting"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entry.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    amount_cents: Mapped[Cents]

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[LedgerAccount] = relationship()

    __table_args__ = (CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)


class LedgerVerification(Model):
    """The result of one `ledger verify` (command or daily task): the latest is what the
    monitoring reads (app/core/metrics.py)."""

    __tablename__ = "ledger_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    entries: Mapped[int] = mapped_column(BigInteger)
    postings: Mapped[int] = mapped_column(BigInteger)
    accounts: Mapped[int] = mapped_column(BigInteger)
    seconds: Mapped[float] = mapped_column(Float)
    # The offending ids per kind of fault ({} when ok).
    faults: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
