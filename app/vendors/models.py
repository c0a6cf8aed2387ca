"""Vendors: the EdTech companies whose products are sold on the marketplace."""

from __future__ import annotations

import enum

from sqlalchemy import String
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
    country: Mapped[str] = mapped_column(String(2), default="FR")
    parent_company: Mapped[str] = mapped_column(String(200))
    status: Mapped[VendorStatus] = mapped_column(
        enum_column(VendorStatus), default=VendorStatus.ACTIVE
    )

    def __str__(self) -> str:
        return self.legal_name
