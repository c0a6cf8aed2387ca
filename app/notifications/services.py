"""Telling people: each event becomes a line of their in-app list and an e-mail.

An event is declared once, next to the services that cause it::

    @notifications.event("order_confirmed", label=_l("Commande confirmée"))
    def order_confirmed(payload, user):  # runs when the mail is sent or the list is shown
        order = db.session.get(Order, payload["order"])
        return notifications.Notice({"order": order}, link=mail.public_url(...))

with one template, `mail/order_confirmed.html` (blocks `subject`, `text`, `body`, as every
mail; the subject is also the line's title in the list). The service that causes the
event calls, in its transaction::

    notifications.notify("order_confirmed", {"order": order.id}, users=[teacher.id],
                         key=f"order-confirmed:{order.id}")

One notification row per person (unique on the person and the key) and one mail job per
person (its job key holds the same key) are written: a replayed request or a task run
twice adds nothing. `notify_many` does the same for a whole SELECT of people in two
statements (the credit-expiry reminder to 870,000 teachers).

A `topic` makes the event optional: the mail is not sent to whoever turned the topic off
on `/mon-profil` (checked when the mail is sent), it carries a one-click unsubscribe link,
and the line still appears in the list. Events without a topic (money, orders, licences,
decisions) cannot be turned off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask_babel import get_locale
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import String, cast, func, literal, select, update
from sqlalchemy.orm import lazyload

from app import mail
from app.accounts.models import User
from app.core.db import AnySelect, insert_or_ignore, json_object, utcnow
from app.core.errors import NotFound
from app.core.signing import secret_keys
from app.extensions import db
from app.notifications.models import MailChoice, Notification, Topic


@dataclass(frozen=True)
class Notice:
    """What an event says to one person: the template's context and where it leads."""

    context: dict[str, Any] = field(default_factory=dict)
    link: str | None = None


Builder = Callable[[dict[str, Any], User], Notice | None]


@dataclass(frozen=True)
class Event:
    name: str
    label: str
    topic: Topic | None
    build: Builder


EVENTS: dict[str, Event] = {}


def event(name: str, label: str, topic: Topic | None = None) -> Callable[[Builder], Builder]:
    """Declare the event `name`: its builder, its template `mail/<name>.html`, and the
    topic that makes it optional (None: always sent)."""

    def register(build: Builder) -> Builder:
        EVENTS[name] = Event(name, str(label), topic, build)
        mail.message(name, label=str(label))(lambda payload: _letter(name, payload))
        return build

    return register


# --- telling -----------------------------------------------------------------------------------


def notify(name: str, payload: dict[str, Any], *, users: Iterable[int | User], key: str) -> None:
    """Tell `users` (ids, or users already loaded: their address is not read again) about
    the event `name`, once per person for this `key`."""
    if name not in EVENTS:
        raise ValueError(f"unknown event: {name}")
    people = list(users)
    loaded = {user.id: user for user in people if isinstance(user, User)}
    ids = sorted({user if isinstance(user, int) else user.id for user in people})
    if not ids:
        return
    addresses = {user.id: user.email for user in loaded.values() if user.active}
    unknown = [user_id for user_id in ids if user_id not in loaded]
    if unknown:
        rows = db.session.execute(
            select(User.id, User.email).where(User.id.in_(unknown), User.active)
        )
        addresses.update((user_id, email) for user_id, email in rows)
    for user_id in ids:
        if user_id not in addresses:
            continue
        values = {
            "user_id": user_id,
            "event": name,
            "key": key,
            "payload": payload,
            "created_at": utcnow(),
        }
        db.session.execute(_notification_insert(), values)
        mail.send(name, {**payload, "user": user_id}, to=addresses[user_id], key=f"{key}:{user_id}")


_NOTIFICATION_INSERTS: dict[str, Any] = {}


def _notification_insert() -> Any:
    """The INSERT … ON CONFLICT DO NOTHING of one notification, built once per database
    kind: Core on the table, its values given at execution (every checkout sends one)."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in _NOTIFICATION_INSERTS:
        statement = insert_or_ignore(db.session, Notification.__table__)
        _NOTIFICATION_INSERTS[dialect] = statement.on_conflict_do_nothing()
    return _NOTIFICATION_INSERTS[dialect]


def notify_many(name: str, people: AnySelect, *, key: str) -> int:
    """Tell every person of `people` — a SELECT whose column `user` is the person's id and
    whose other columns are the payload — in two INSERT … SELECT statements (no row goes
    through Python). People already told for `key` are skipped. Returns how many mails
    were queued."""
    if name not in EVENTS:
        raise ValueError(f"unknown event: {name}")
    source = people.subquery()
    user = source.c.user
    fields = {str(c.name): c for c in source.columns if c.name != "user"}
    rows = select(
        user,
        literal(name),
        literal(key),
        json_object(db.session, fields),
        literal(utcnow(), Notification.created_at.type),
    ).select_from(source)
    # SQLite needs a WHERE before ON CONFLICT in an INSERT … SELECT (parsing ambiguity).
    rows = rows.where(literal(1) == 1)
    columns = ["user_id", "event", "key", "payload", "created_at"]
    statement: Any = insert_or_ignore(db.session, Notification).from_select(columns, rows)
    db.session.execute(statement.on_conflict_do_nothing())

    mails = (
        select(
            *source.columns,
            User.email.label("to"),
            (literal(f"{key}:") + cast(user, String)).label("notice"),
        )
        .select_from(source)
        .join(User, User.id == user)
        .where(User.active)
    )
    return mail.send_many(name, mails, key="notice")


# --- the mail of an event ------------------------------------------------------------------


def _letter(name: str, payload: dict[str, Any]) -> mail.Letter | None:
    """The e-mail of the event for its person, unless they turned its topic off or there is
    nothing left to say."""
    event = EVENTS[name]
    query = select(User).where(User.id == payload["user"]).options(lazyload(User.grants))
    user = db.session.scalar(query)
    if user is None or not user.active:
        return None
    if event.topic is not None and not wants(user.id, event.topic):
        return None
    notice = event.build(payload, user)
    if notice is None:
        return None
    context = {"user": user, "link": notice.link, **notice.context}
    unsubscribe = None
    if event.topic is not None:
        unsubscribe = mail.public_url(
            "notifications.unsubscribe", token=unsubscribe_token(user.id, event.topic)
        )
    return mail.Letter(
        to=user.email,
        name=user.name,
        context=context,
        locale=user.locale or "fr",
        unsubscribe=unsubscribe,
    )


# --- choices ---------------------------------------------------------------------------------


def wants(user_id: int, topic: Topic) -> bool:
    choice = db.session.get(MailChoice, (user_id, topic))
    return topic.wanted_by_default if choice is None else choice.wanted


def choices(user_id: int) -> dict[Topic, bool]:
    return {topic: wants(user_id, topic) for topic in Topic}


def choose(user_id: int, topic: Topic, wanted: bool) -> None:
    choice = db.session.get(MailChoice, (user_id, topic))
    if choice is None:
        db.session.add(MailChoice(user_id=user_id, topic=topic, wanted=wanted))
    else:
        choice.wanted = wanted
    db.session.flush()


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(secret_keys(), salt="unsubscribe")


def unsubscribe_token(user_id: int, topic: Topic) -> str:
    """Signed, without expiry: the link of an old message keeps working."""
    return str(_unsubscribe_serializer().dumps([user_id, topic.value]))


class InvalidUnsubscribeLink(NotFound):
    code = "unsubscribe_link_invalid"


def read_unsubscribe_token(token: str) -> tuple[User, Topic]:
    try:
        user_id, topic = _unsubscribe_serializer().loads(token)
        user = db.session.get(User, int(user_id))
        if user is None:
            raise ValueError(user_id)
        return user, Topic(topic)
    except (BadSignature, ValueError, TypeError) as error:
        raise InvalidUnsubscribeLink(
            "Ce lien de désabonnement n’est pas valable. Choisissez vos courriels depuis "
            "« Mon profil »."
        ) from error


# --- the list --------------------------------------------------------------------------------


def unread_count(user_id: int) -> int:
    query = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(db.session.scalar(query) or 0)


@dataclass(frozen=True)
class Line:
    """A notification as its person reads it in the list."""

    notification: Notification
    title: str
    label: str
    link: str | None

    @property
    def unread(self) -> bool:
        return self.notification.read_at is None


def page_of(user: User, page: int, per_page: int = 20) -> tuple[list[Line], bool]:
    """The person's notifications, newest first, said in the current language; and whether
    there are older ones."""
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    rows = list(db.session.scalars(query))
    locale = str(get_locale() or "fr")
    return [_line(row, user, locale) for row in rows[:per_page]], len(rows) > per_page


def _notice(notification: Notification, user: User) -> tuple[Event | None, Notice | None]:
    event = EVENTS.get(notification.event)
    if event is None:
        return None, None
    return event, event.build({**notification.payload, "user": user.id}, user)


def _line(notification: Notification, user: User, locale: str) -> Line:
    event, notice = _notice(notification, user)
    if event is None:
        return Line(notification, notification.event, notification.event, None)
    if notice is None:  # what it spoke of is gone: its kind alone
        return Line(notification, event.label, event.label, None)
    context = {"user": user, "link": notice.link, **notice.context}
    title = mail.subject(event.name, context, locale)
    return Line(notification, title, event.label, _path_of(notice.link))


def _path_of(link: str | None) -> str | None:
    """An in-app link: the path of the public address (the app may be reached elsewhere)."""
    if not link:
        return None
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def open_notification(user: User, notification_id: int) -> str | None:
    """Mark one of the person's notifications read; where it leads."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound("Cette notification n’existe pas.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    _event, notice = _notice(notification, user)
    return _path_of(notice.link) if notice is not None else None


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
