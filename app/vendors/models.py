"""Vendors: the EdTech companies whose products are sold on the marketplace, and the
exclusion list of the groups that may not sell on it."""

from __future__ import annotations

import enum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Timestamped, enum_column
from app.extensions import Model


class VendorStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Vendor(Timestamped, Model):
    __tablename__ = "vendor"

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
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

    @property
    def siren(self) -> str:
        return self.siret[:9]

    @property
    def active(self) -> bool:
        return self.status is VendorStatus.ACTIVE

    def __str__(self) -> str:
        return self.legal_name


class ExcludedCompany(Timestamped, Model):
    """A company that may not sell on the marketplace, nor own a company that does."""

    __tablename__ = "excluded_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group_name: Mapped[str] = mapped_column(String(200))

    def __str__(self) -> str:
        return self.name
