"""Licences and the activation codes vendors upload.

One licence per order line: a product's plan, for a teacher (and a school), valid until
the end of the school year. Its life: ``pending`` (provisioning under way) → ``active``
(access URL or code known) → ``expired`` at the end of the school year, or ``revoked``
(order cancelled); ``failed`` when provisioning gave up (retryable).

``opened_at`` is the first time the teacher opened the resource (through the access
redirect, by revealing the activation code, or, for the GAR, as the vendor confirmed):
from then on the order line can no longer be cancelled.
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

from app.core.db import BigId, UTCDateTime, enum_column, utcnow
from app.extensions import Model
from app.products.models import PlanKind

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.budgets.models import School
    from app.orders.models import OrderLine
    from app.products.models import Product, ProductVersion
    from app.vendors.models import Vendor


class LicenceStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(LICENCE_STATUS_LABELS[self])

    @property
    def phrase(self) -> str:
        """The status naming the licence, next to another status (an order line's)."""
        return str(LICENCE_STATUS_PHRASES[self])


LICENCE_STATUS_LABELS = {
    LicenceStatus.PENDING: _l("En cours de livraison"),
    LicenceStatus.ACTIVE: _l("Active"),
    LicenceStatus.EXPIRED: _l("Expirée"),
    LicenceStatus.REVOKED: _l("Annulée"),
    LicenceStatus.FAILED: _l("Livraison en échec"),
}

LICENCE_STATUS_PHRASES = {
    LicenceStatus.PENDING: _l("licence en cours de livraison"),
    LicenceStatus.ACTIVE: _l("licence active"),
    LicenceStatus.EXPIRED: _l("licence expirée"),
    LicenceStatus.REVOKED: _l("licence retirée"),
    LicenceStatus.FAILED: _l("livraison de la licence en échec"),
}


class Licence(Model):
    __tablename__ = "licence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The order line that bought it (one licence per line).
    order_line_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("order_line.id"), unique=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"))
    plan_kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    seats: Mapped[int] = mapped_column(Integer)  # pupils of a class plan; 1 otherwise
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    school_year_code: Mapped[str] = mapped_column(ForeignKey("school_year.code"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[LicenceStatus] = mapped_column(
        enum_column(LicenceStatus), default=LicenceStatus.PENDING
    )
    access_url: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(200))
    # The GAR subscription's idAbonnement (gar channel), chosen when the licence is created
    # so that a retried creation, an update and a deletion all name the same one.
    # (A unique index, not a constraint: SQLite adds it without rebuilding the table.)
    gar_subscription_id: Mapped[str | None] = mapped_column(String(45), unique=True, index=True)
    # Why a licence waits (no codes left…) or failed (the vendor's or the GAR's message).
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    product: Mapped[Product] = relationship()
    version: Mapped[ProductVersion] = relationship()
    vendor: Mapped[Vendor] = relationship()
    teacher: Mapped[User] = relationship()
    school: Mapped[School] = relationship()
    code: Mapped[ActivationCode | None] = relationship(back_populates="licence")
    order_line: Mapped[OrderLine | None] = relationship(back_populates="licence")

    __table_args__ = (
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("valid_until >= valid_from", name="valid_period"),
        CheckConstraint(
            "status <> 'active' OR access_url IS NOT NULL OR external_id IS NOT NULL",
            name="active_has_access",
        ),
        # A teacher holds a per-teacher plan of a product once (pending or active).
        Index(
            "uq_licence_one_teacher_plan",
            "teacher_id",
            "product_id",
            unique=True,
            postgresql_where=text("plan_kind = 'teacher' AND status IN ('pending', 'active')"),
            sqlite_where=text("plan_kind = 'teacher' AND status IN ('pending', 'active')"),
        ),
        Index("ix_licence_vendor_updated", "vendor_id", "updated_at"),
        Index("ix_licence_status_until", "status", "valid_until"),
    )

    @property
    def activation_code(self) -> str | None:
        return self.code.code if self.code is not None else None


class ActivationCode(Model):
    """A code a vendor uploaded for a product's plan; given to exactly one licence."""

    __tablename__ = "activation_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    plan_kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    code: Mapped[str] = mapped_column(String(200))
    licence_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"), unique=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    licence: Mapped[Licence | None] = relationship(back_populates="code")

    __table_args__ = (
        UniqueConstraint("product_id", "code"),
        Index(
            "ix_activation_code_available",
            "product_id",
            "plan_kind",
            "id",
            postgresql_where=text("licence_id IS NULL"),
            sqlite_where=text("licence_id IS NULL"),
        ),
    )
