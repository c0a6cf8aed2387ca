"""Vendors: the EdTech companies whose products are sold on the marketplace, and the
exclusion list of the groups that may not sell on it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Timestamped, UTCDateTime, enum_column, utcnow
from app.extensions import Model

if TYPE_CHECKING:
    from app.accounts.models import User


CODE_ALERT_DEFAULT = 20
CODE_ALERT_MAX = 100_000


class VendorStatus(enum.StrEnum):
    # Registered, waiting for the operator: may prepare products, not submit them.
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    # The operator refused the registration (the reason is in `status_reason`).
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return str(VENDOR_STATUS_LABELS[self])


VENDOR_STATUS_LABELS = {
    VendorStatus.PENDING: _l("En attente de validation"),
    VendorStatus.ACTIVE: _l("Actif"),
    VendorStatus.SUSPENDED: _l("Suspendu"),
    VendorStatus.REFUSED: _l("Inscription refusée"),
}


class Vendor(Timestamped, Model):
    __tablename__ = "vendor"

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    # "SAS", "SARL au capital de 10 000 €"…: a mention of the invoices issued in its name.
    legal_form: Mapped[str] = mapped_column(String(60), default="", server_default="")
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    vat_number: Mapped[str] = mapped_column(String(13))
    street: Mapped[str] = mapped_column(String(200), default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(10), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    country: Mapped[str] = mapped_column(String(2), default="FR")
    parent_company: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    status: Mapped[VendorStatus] = mapped_column(
        enum_column(VendorStatus), default=VendorStatus.ACTIVE
    )
    # Why the operator suspended the vendor, shown to its staff.
    status_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The webhook channel: where licences are announced, and the key that signs the calls.
    provisioning_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    # Registration: who registered the company, when they confirmed their address (the
    # link sent at registration), which version of the terms of use they accepted, when.
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    registrant_email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terms_version: Mapped[str | None] = mapped_column(String(20))
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The billing mandate: the platform issues the vendor's invoices in its name (see
    # docs/decisions/0020); the vendor accepts it with its approval.
    billing_mandate_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Activation codes: the staff are told when a product's plan has fewer codes left.
    code_alert_threshold: Mapped[int] = mapped_column(
        Integer, default=CODE_ALERT_DEFAULT, server_default=str(CODE_ALERT_DEFAULT)
    )

    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])

    @property
    def siren(self) -> str:
        return self.siret[:9]

    @property
    def active(self) -> bool:
        return self.status is VendorStatus.ACTIVE

    @property
    def pending(self) -> bool:
        return self.status is VendorStatus.PENDING

    @property
    def may_prepare_products(self) -> bool:
        """Pending and active vendors draft products; only active ones submit them."""
        return self.status in (VendorStatus.PENDING, VendorStatus.ACTIVE)

    def __str__(self) -> str:
        return self.legal_name


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class VendorInvitation(Model):
    """A colleague invited to the vendor's team: they join only when they accept (the
    link of the mail sent to `email`); until then the team sees the address, never the
    name of an account that may exist for it, and nothing of the vendor applies to them
    (a reviewer's conflict of interest starts with the membership)."""

    __tablename__ = "vendor_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    # The name the inviter typed: the new account's name, if the person has none.
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus), default=InvitationStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    vendor: Mapped[Vendor] = relationship()
    invited_by: Mapped[User] = relationship()

    __table_args__ = (
        # One invitation waiting per address and vendor.
        Index(
            "uq_vendor_invitation_pending",
            "vendor_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )


class ExcludedCompany(Timestamped, Model):
    """A company that may not sell on the marketplace, nor own a company that does."""

    __tablename__ = "excluded_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group_name: Mapped[str] = mapped_column(String(200))

    def __str__(self) -> str:
        return self.name


class ExclusionMatchStatus(enum.StrEnum):
    OPEN = "open"  # waiting for the operator's decision
    SUSPENDED = "suspended"  # the operator suspended the vendor
    DISMISSED = "dismissed"  # the operator judged it a false positive

    @property
    def label(self) -> str:
        return str(EXCLUSION_MATCH_STATUS_LABELS[self])


EXCLUSION_MATCH_STATUS_LABELS = {
    ExclusionMatchStatus.OPEN: _l("À examiner"),
    ExclusionMatchStatus.SUSPENDED: _l("Éditeur suspendu"),
    ExclusionMatchStatus.DISMISSED: _l("Écarté (faux positif)"),
}


class ExclusionMatch(Timestamped, Model):
    """A registered vendor whose name or parent matches an entry added to the exclusion
    list later: the operator suspends the vendor or dismisses the match."""

    __tablename__ = "exclusion_match"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    excluded_company_id: Mapped[int] = mapped_column(
        ForeignKey("excluded_company.id", ondelete="CASCADE"), index=True
    )
    # What matched: the company's own name or its parent's, and the name found in it
    # (the entry's own, or one known for its group).
    on_parent: Mapped[bool] = mapped_column(default=False)
    checked_name: Mapped[str] = mapped_column(String(200))
    found: Mapped[str] = mapped_column(String(200))
    status: Mapped[ExclusionMatchStatus] = mapped_column(
        enum_column(ExclusionMatchStatus), default=ExclusionMatchStatus.OPEN
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    vendor: Mapped[Vendor] = relationship()
    excluded_company: Mapped[ExcludedCompany] = relationship()

    __table_args__ = (UniqueConstraint("vendor_id", "excluded_company_id"),)
