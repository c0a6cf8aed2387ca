"""What the service tells about licences (see app/notifications): to a teacher, a licence
ready or failed; to a vendor's staff, activation codes running low or out and a licence
waiting for their action."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import User
from app.extensions import db
from app.licences.models import Licence, LicenceStatus
from app.notifications.models import Topic
from app.products.models import Channel, PlanKind, Product
from app.vendors import services as vendors

# Why a licence waits for the vendor (the key of its message holds it).
FAILED = "failed"
UNCONFIRMED = "unconfirmed"


def _codes(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    product = db.session.get(Product, payload["product"])
    if product is None or not vendors.is_member(user, product.vendor_id):
        return None
    context = {
        "product": product,
        "title": (product.listed or product.latest).title,
        "plan": PlanKind(payload["plan"]).label,
        "left": int(payload.get("left") or 0),
        "threshold": product.vendor.code_alert_threshold,
    }
    link = mail.public_url("licences.codes", vendor_id=product.vendor_id)
    return notifications.Notice(context, link=link)


@notifications.event(
    "codes_low", label=_l("Codes d’activation bientôt épuisés"), topic=Topic.REMINDERS
)
def codes_low(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    return _codes(payload, user)


@notifications.event("codes_out", label=_l("Codes d’activation épuisés"))
def codes_out(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    return _codes(payload, user)


@notifications.event("licence_needs_action", label=_l("Licence en attente de votre action"))
def licence_needs_action(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    licence = db.session.get(Licence, payload["licence"])
    if licence is None or not vendors.is_member(user, licence.vendor_id):
        return None
    cause = payload.get("cause")
    link = mail.public_url(
        "licences.vendor_licences",
        vendor_id=licence.vendor_id,
        statut=LicenceStatus.FAILED.value if cause == FAILED else LicenceStatus.PENDING.value,
    )
    context = {
        "licence": licence,
        "failed": cause == FAILED,
        "reason": licence.status_reason or "",
        "settings": mail.public_url("licences.delivery", vendor_id=licence.vendor_id),
    }
    return notifications.Notice(context, link=link)


def _teachers(payload: dict[str, Any], user: User) -> Licence | None:
    licence = db.session.get(Licence, payload["licence"])
    return licence if licence is not None and licence.teacher_id == user.id else None


@notifications.event("licence_ready", label=_l("Ressource prête"))
def licence_ready(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    """The access link is ours (`/mes-ressources/<id>/ouvrir`: the first opening is
    recorded); a code is never in the mail, only where to reveal it."""
    licence = _teachers(payload, user)
    if licence is None or licence.status is not LicenceStatus.ACTIVE:
        return None
    from app.orders import services as orders

    code = licence.version.channel is Channel.CODES
    if code:
        link = mail.public_url("licences.my_resources") + f"#licence-{licence.id}"
    else:
        link = mail.public_url("licences.open_resource", licence_id=licence.id)
    line = licence.order_line
    cancellable = line is not None and orders.cancellable(line)
    context = {"licence": licence, "code": code, "cancellable": cancellable}
    return notifications.Notice(context, link=link)


@notifications.event("licence_failed", label=_l("Livraison d’une ressource en échec"))
def licence_failed(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    licence = _teachers(payload, user)
    if licence is None or licence.status is not LicenceStatus.FAILED:
        return None  # delivered or cancelled meanwhile: nothing left to say
    from app.orders import services as orders

    line = licence.order_line
    until = None
    if line is not None:
        found = orders.cancellation(line)
        until = found.until if found.allowed else None
    link = mail.public_url("licences.my_resources") + f"#licence-{licence.id}"
    return notifications.Notice({"licence": licence, "until": until}, link=link)
