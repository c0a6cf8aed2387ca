"""What an academy's managers are told about its pool (see app/notifications)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import Role, User
from app.budgets.models import Academy
from app.extensions import db


@notifications.event(
    "pool_low", label=_l("Enveloppe sous le seuil d’alerte"), topic=notifications.Topic.REMINDERS
)
def pool_low(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    academy = db.session.get(Academy, payload["academy"])
    if academy is None or not user.has_role(Role.ACADEMY_MANAGER, academy.code):
        return None
    link = mail.public_url("budgets.academy_home", academy_code=academy.code, annee=payload["year"])
    context = {
        "academy": academy,
        "school_year": payload["year"],
        "threshold": payload["threshold"],
        "pool": payload["pool"],
    }
    return notifications.Notice(context, link=link)
