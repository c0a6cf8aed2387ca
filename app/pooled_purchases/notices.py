"""What teachers are told about pooled purchases (see app/notifications): one started in
their school, a colleague joined, the purchase completed, their share given back."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import User
from app.extensions import db
from app.pooled_purchases.models import PooledPurchase, PooledShare


def _link(pooled: PooledPurchase) -> str:
    return mail.public_url("pooled_purchases.detail", pooled_id=pooled.id)


def _share_of(pooled: PooledPurchase, user: User) -> PooledShare | None:
    shares = [s for s in pooled.shares if s.teacher_id == user.id]
    return shares[-1] if shares else None


@notifications.event("pooled_started", label=_l("Achat groupé lancé dans votre établissement"))
def pooled_started(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    pooled = db.session.get(PooledPurchase, payload["pooled"])
    if pooled is None:
        return None
    context = {"pooled": pooled, "starter": pooled.starter, "mine": pooled.started_by == user.id}
    return notifications.Notice(context, link=_link(pooled))


@notifications.event("pooled_joined", label=_l("Nouvelle participation à un achat groupé"))
def pooled_joined(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    share = db.session.get(PooledShare, payload["share"])
    if share is None:
        return None
    pooled = share.pooled_purchase
    context = {"pooled": pooled, "share": share, "colleague": share.teacher}
    return notifications.Notice(context, link=_link(pooled))


@notifications.event("pooled_completed", label=_l("Achat groupé financé"))
def pooled_completed(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    pooled = db.session.get(PooledPurchase, payload["pooled"])
    if pooled is None or pooled.order_id is None:
        return None
    link = mail.public_url("licences.my_resources")
    return notifications.Notice({"pooled": pooled, "share": _share_of(pooled, user)}, link=link)


@notifications.event("pooled_refunded", label=_l("Achat groupé terminé, participation rendue"))
def pooled_refunded(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    pooled = db.session.get(PooledPurchase, payload["pooled"])
    if pooled is None:
        return None
    context = {"pooled": pooled, "share": _share_of(pooled, user)}
    return notifications.Notice(context, link=_link(pooled))
