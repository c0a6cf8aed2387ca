"""What a teacher is told about their orders (see app/notifications)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import User
from app.extensions import db
from app.ledger import services as ledger
from app.orders.models import Order, OrderLine


@notifications.event("order_confirmed", label=_l("Commande confirmée"))
def order_confirmed(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    order = db.session.get(Order, payload["order"])
    if order is None or order.teacher_id != user.id:
        return None
    link = mail.public_url("orders.order_detail", order_id=order.id)
    receipt = mail.public_url("orders.receipt", order_id=order.id)
    return notifications.Notice({"order": order, "receipt": receipt}, link=link)


@notifications.event("line_cancelled", label=_l("Commande annulée, crédit rendu"))
def line_cancelled(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    line = db.session.get(OrderLine, payload["line"])
    if line is None or line.order.teacher_id != user.id or line.refund_entry_id is None:
        return None
    order = line.order
    account = ledger.teacher_credit(user.id, order.academy_code, order.school_year_code)
    link = mail.public_url("orders.order_detail", order_id=order.id)
    context = {"line": line, "order": order, "left": ledger.balance(account)}
    return notifications.Notice(context, link=link)
