"""Append-only record of who did what, on which object, when.

`record()` adds an event in the caller's transaction, so the event exists if and
only if the change it describes was committed. The actor is a person (`actor_id`), the
system (no actor), or a vendor's API token: its id and name are then the event's
`details["api_token"]`, so that the vendor knows which of its programs did what.
Events are never updated or deleted: there is no code path for it, and on PostgreSQL a
trigger refuses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, utcnow
from app.extensions import Model, db

if TYPE_CHECKING:
    from app.accounts.models import ApiToken, User

# Who did it: a person, a vendor's API token, or None for the system.
Actor: TypeAlias = "User | ApiToken | None"


class AuditEvent(Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # The viewer reads newest first, filtered by object, by actor or by dates: each index
    # ends with (created_at, id), so a page of the log reads its rows and no more.
    __table_args__ = (
        db.Index("ix_audit_event_object", "object_type", "object_id", "created_at", "id"),
        db.Index("ix_audit_event_actor", "actor_id", "created_at", "id"),
        db.Index("ix_audit_event_created_at", "created_at", "id"),
    )


def record(
    actor: Actor, action: str, object_type: str, object_id: object, **details: Any
) -> AuditEvent:
    """Add an audit event to the current transaction. `actor` None means the system."""
    from app.accounts.models import ApiToken

    if isinstance(actor, ApiToken):
        details = {"api_token": {"id": actor.id, "name": actor.name}, **details}
    event = AuditEvent(
        actor_id=None if actor is None or isinstance(actor, ApiToken) else actor.id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details,
    )
    db.session.add(event)
    return event


def history(object_type: str, object_id: object) -> list[AuditEvent]:
    """The events of one object, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id)
    )
    return list(db.session.scalars(query))
