"""What a teacher is told about their orders (see app/notifications)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import User
from app.extensions import db
from app.orders.models import Order


@notifications.event("order_confirmed", label=_l("Commande confirmée"))
def order_confirmed(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    order = db.session.get(Order, payload["order"])
    if order is None or order.teacher_id != user.id:
        return None
    link = mail.public_url("orders.order_detail", order_id=order.id)
    receipt = mail.public_url("orders.receipt", order_id=order.id)
    return notifications.Notice({"order": order, "receipt": receipt}, link=link)
