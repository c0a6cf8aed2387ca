"""Append-only record of who did what, on which object, when.

`record()` adds an event in the caller's transaction, so the event exists if and
only if the change it describes was committed. The actor is a person (`actor_id`), the
system (no actor), or a vendor's API token: its id and name are then the event's
`details["api_token"]`, so that the vendor knows which of its programs did what.
Events are never updated or deleted: there is no code path for it, and on PostgreSQL a
trigger refuses it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from sqlalchemy import JSON, ForeignKey, String, Table, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.dates import PARIS
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

    actor: Mapped[User | None] = relationship(lazy="raise")

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
    event = AuditEvent(**_values(actor, action, object_type, object_id, details))
    db.session.add(event)
    return event


def record_now(
    actor: Actor, action: str, object_type: str, object_id: object, **details: Any
) -> None:
    """:func:`record`, written at once by a Core INSERT built once (no unit of work): for
    hot paths that do not need the event back (a checkout)."""
    values = _values(actor, action, object_type, object_id, details)
    db.session.execute(_INSERT, {"created_at": utcnow(), **values})


def record_many(
    actor: Actor, action: str, object_type: str, events: Iterable[tuple[object, dict[str, Any]]]
) -> None:
    """:func:`record_now` for many objects at once, one INSERT (`events`: each object's id
    and details): for what is written in bulk (the demo's teachers)."""
    now = utcnow()
    rows = [
        {"created_at": now, **_values(actor, action, object_type, object_id, details)}
        for object_id, details in events
    ]
    if rows:
        db.session.execute(_INSERT, rows)


def _values(
    actor: Actor, action: str, object_type: str, object_id: object, details: dict[str, Any]
) -> dict[str, Any]:
    from app.accounts.models import ApiToken

    if isinstance(actor, ApiToken):
        details = {"api_token": {"id": actor.id, "name": actor.name}, **details}
    return {
        "actor_id": None if actor is None or isinstance(actor, ApiToken) else actor.id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "details": details,
    }


_INSERT = insert(cast(Table, AuditEvent.__table__))


def history(object_type: str, object_id: object) -> list[AuditEvent]:
    """The events of one object, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id)
    )
    return list(db.session.scalars(query))


def recent(object_type: str, object_id: object, limit: int = 20) -> list[AuditEvent]:
    """The latest events of one object, newest first, with their actors."""
    return search(EventFilters(object_type=object_type, object_id=str(object_id)), 1, limit).events


# --- the operator's viewer ------------------------------------------------------------------

EVENTS_PER_PAGE = 50
# Past this many events the viewer stops counting (a count of the whole national log at
# each page would read all of it): "more than 10,000", and the filters narrow it down.
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class EventFilters:
    """What the viewer asks: one object (its type, and its id if given), the actors whose
    name or address holds `actor`, the days from `since` to `until` (Paris time, both
    included)."""

    object_type: str | None = None
    object_id: str | None = None
    actor: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    total: int  # at most COUNT_LIMIT: see `more`
    page: int
    pages: int

    @property
    def more(self) -> bool:
        """More events match than were counted."""
        return self.total > COUNT_LIMIT


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=PARIS)


def events_query(filters: EventFilters) -> Any:
    """The events matching `filters`, newest first: each filter has its index, ending with
    (created_at, id) as the order does (migration 0023)."""
    from app.accounts.models import User
    from app.accounts.services import matching_users

    query = select(AuditEvent)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
        if filters.object_id:
            query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.actor.strip():
        actors = select(User.id).where(matching_users(filters.actor))
        query = query.where(AuditEvent.actor_id.in_(actors))
    if filters.since is not None:
        query = query.where(AuditEvent.created_at >= _start_of(filters.since))
    if filters.until is not None:
        query = query.where(AuditEvent.created_at < _start_of(filters.until + timedelta(days=1)))
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def search(filters: EventFilters, page: int = 1, per_page: int = EVENTS_PER_PAGE) -> EventPage:
    """One page of the events matching `filters`, newest first, their actors loaded; a page
    past the last shows the last. Counted up to COUNT_LIMIT + 1."""
    from sqlalchemy.orm import selectinload

    query = events_query(filters)
    counted = query.with_only_columns(AuditEvent.id).limit(COUNT_LIMIT + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted)) or 0
    pages = max(math.ceil(min(total, COUNT_LIMIT) / per_page), 1)
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        query.options(selectinload(AuditEvent.actor)).limit(per_page).offset((page - 1) * per_page)
    )
    return EventPage(list(rows), total, page, pages)
