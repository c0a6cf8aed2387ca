"""What a vendor's staff are told about their money (see app/notifications): a payout
sent, with its statement."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import User
from app.extensions import db
from app.payouts.models import Payout
from app.vendors import services as vendors


@notifications.event("payout_sent", label=_l("Versement envoyé"))
def payout_sent(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    payout = db.session.get(Payout, payload["payout"])
    if payout is None or not vendors.is_member(user, payout.vendor_id):
        return None
    statement = mail.public_url(
        "payouts.statement", vendor_id=payout.vendor_id, payout_id=payout.id
    )
    link = mail.public_url("payouts.vendor_payouts", vendor_id=payout.vendor_id)
    return notifications.Notice({"payout": payout, "statement": statement}, link=link)
