"""What a person has been told in the app, and which optional messages they receive."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import BigId, UTCDateTime, enum_column, utcnow
from app.extensions import Model


class Topic(enum.StrEnum):
    """The messages a person may turn off. Every other message (account, money, orders,
    licences, decisions) is essential and always sent."""

    REMINDERS = "reminders"
    DIGESTS = "digests"

    @property
    def label(self) -> str:
        return str(TOPIC_LABELS[self])

    @property
    def description(self) -> str:
        return str(TOPIC_DESCRIPTIONS[self])

    @property
    def wanted_by_default(self) -> bool:
        """Reminders are sent unless turned off; digests only to those who ask for them."""
        return self is Topic.REMINDERS


TOPIC_LABELS = {
    Topic.REMINDERS: _l("Rappels"),
    Topic.DIGESTS: _l("Récapitulatifs quotidiens"),
}
TOPIC_DESCRIPTIONS = {
    Topic.REMINDERS: _l(
        "Crédit bientôt perdu en fin d’année scolaire, label qui arrive à échéance, "
        "codes d’activation presque épuisés, seuil de l’enveloppe académique."
    ),
    Topic.DIGESTS: _l(
        "Un courriel par jour au plus : nouvelles commandes de vos produits, "
        "file d’attente de la commission."
    ),
}


class Notification(Model):
    """One event told to one person, shown in their list (`/notifications`) until read.

    `key` names the event (`order-confirmed:<order id>`): unique per person, so a replayed
    request or a task run twice tells nobody twice."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_notification_user_id_id", "user_id", "id"),
        # The bell's count: the unread ones of one person.
        Index(
            "ix_notification_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
            sqlite_where=text("read_at IS NULL"),
        ),
        # The read ones, oldest first: removed after their retention period.
        Index(
            "ix_notification_read",
            "read_at",
            postgresql_where=text("read_at IS NOT NULL"),
            sqlite_where=text("read_at IS NOT NULL"),
        ),
    )


class MailChoice(Model):
    """A person's choice for one topic; without a row, the topic's default holds."""

    __tablename__ = "mail_choice"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[Topic] = mapped_column(enum_column(Topic), primary_key=True)
    wanted: Mapped[bool] = mapped_column(Boolean)
