"""Reviews: the commission's decisions on submitted product versions."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Timestamped, enum_column
from app.extensions import Model

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.products.models import ProductVersion


class Decision(enum.StrEnum):
    APPROVE = "approve"
    CHANGES_REQUESTED = "changes_requested"
    REJECT = "reject"

    @property
    def label(self) -> str:
        return str(DECISION_LABELS[self])


DECISION_LABELS = {
    Decision.APPROVE: _l("Label accordé"),
    Decision.CHANGES_REQUESTED: _l("Modifications demandées"),
    Decision.REJECT: _l("Refusé"),
}


class Review(Timestamped, Model):
    """A reviewer's decision on one version, with the label criteria grid they filled."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decision: Mapped[Decision] = mapped_column(enum_column(Decision))
    comment: Mapped[str] = mapped_column(Text, default="")
    # Label criterion code → met (True) or not (False).
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    label_expires_on: Mapped[date | None] = mapped_column(Date)

    version: Mapped[ProductVersion] = relationship()
    reviewer: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(decision = 'approve') = (label_expires_on IS NOT NULL)",
            name="label_only_on_approval",
        ),
    )
