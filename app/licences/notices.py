"""What a teacher is told about their licences (see app/notifications)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import User
from app.extensions import db
from app.licences.models import Licence, LicenceStatus
from app.products.models import Channel


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
