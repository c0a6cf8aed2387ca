"""What a vendor's staff may ask to be told each morning (see app/notifications): the
order lines of their products bought the day before (opt-in: Topic.DIGESTS)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, literal, select

from app import mail, notifications
from app.accounts.models import Role, RoleGrant, User
from app.core import dates, schedule
from app.core.dates import PARIS
from app.extensions import db
from app.notifications.models import MailChoice, Topic
from app.vendors import services as vendors
from app.vendors.models import Vendor


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=PARIS)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)


def order_lines_of(vendor_id: int, day: date) -> list[Any]:
    """The vendor's order lines bought on `day` (Paris), in the order they were bought."""
    from app.orders.models import Order, OrderLine

    start, end = _bounds(day)
    query = (
        select(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.vendor_id == vendor_id, Order.created_at >= start, Order.created_at < end)
        .order_by(Order.created_at, OrderLine.id)
    )
    return list(db.session.scalars(query))


@notifications.event(
    "orders_digest", label=_l("Récapitulatif des commandes de la veille"), topic=Topic.DIGESTS
)
def orders_digest(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    vendor = db.session.get(Vendor, payload["vendor"])
    if vendor is None or not vendors.is_member(user, vendor.id):
        return None
    day = date.fromisoformat(payload["day"])
    lines = order_lines_of(vendor.id, day)
    if not lines:
        return None
    context = {
        "vendor": vendor,
        "day": day,
        "lines": lines,
        "total": sum(line.price_cents for line in lines),
    }
    link = mail.public_url(
        "orders.vendor_orders", vendor_id=vendor.id, du=day.isoformat(), au=day.isoformat()
    )
    return notifications.Notice(context, link=link)


def send_orders_digest(day: date) -> int:
    """For each vendor whose products were bought on `day` (Paris), each member who asked
    for digests is told, set-based per vendor; nothing when nothing was bought. Safe to
    re-run: the key holds the vendor and the day (and the mail's, the member). Returns how
    many mails were queued."""
    from app.orders.models import Order, OrderLine

    start, end = _bounds(day)
    sold = (
        select(OrderLine.vendor_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.created_at >= start, Order.created_at < end)
    )
    queued = 0
    for vendor_id in db.session.scalars(sold.distinct().order_by(OrderLine.vendor_id)):
        people = (
            select(
                RoleGrant.user_id.label("user"),
                literal(vendor_id, Integer).label("vendor"),
                literal(day.isoformat(), String).label("day"),
            )
            .join(
                MailChoice,
                (MailChoice.user_id == RoleGrant.user_id) & (MailChoice.topic == Topic.DIGESTS),
            )
            .where(
                RoleGrant.role == Role.VENDOR,
                RoleGrant.vendor_id == vendor_id,
                MailChoice.wanted,
            )
        )
        queued += notifications.notify_many(
            "orders_digest", people, key=f"orders-digest:{day.isoformat()}:{vendor_id}"
        )
    return queued


@schedule.task(
    "vendors.orders-digest", "0 7 * * *", _l("Récapitulatif quotidien des commandes aux éditeurs")
)
def send_yesterdays_orders_digest() -> None:
    send_orders_digest(dates.today() - timedelta(days=1))
