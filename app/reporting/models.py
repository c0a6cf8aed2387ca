"""The spending summary the dashboards read: figures per school year, academy (``*`` for
the whole country), dimension and key, rebuilt from the ledger and the orders by
:func:`app.reporting.services.refresh`.

Dimensions: ``ledger`` (received, allocated, spent, refunded, expired, pool, teachers),
``week``, ``vendor``, ``product``, ``school``, ``discipline``, ``level``,
``resource_type``, and ``people`` (teachers, buyers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Cents, UTCDateTime, utcnow
from app.extensions import Model

NATIONAL = "*"


class SpendingSummary(Model):
    __tablename__ = "spending_summary"

    school_year_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    academy_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount_cents: Mapped[Cents] = mapped_column(default=0)  # bought (before refunds)
    refunded_cents: Mapped[Cents] = mapped_column(default=0)
    count: Mapped[int] = mapped_column(Integer, default=0)  # order lines, or people
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index(
            "ix_spending_summary_ranking",
            "school_year_code",
            "academy_code",
            "dimension",
            "amount_cents",
        ),
    )
