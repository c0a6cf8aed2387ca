"""What the service tells about budgets (see app/notifications): to a teacher, the credit
received and the credit about to be lost at the end of the school year; to an academy's
managers, a pool that went below their alert threshold."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import mail, notifications
from app.accounts.models import Role, User
from app.budgets.models import Academy, Allocation, SchoolYear
from app.budgets.services import teacher_balance
from app.extensions import db
from app.ledger.models import AccountKind, JournalEntry, LedgerAccount, Posting
from app.notifications.models import Topic


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


@notifications.event("credit_received", label=_l("Crédit reçu"))
def credit_received(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    """Told once per allocation (however many chunks) to a teacher who has a password: a
    teacher without one gets the activation mail instead, which says a credit waits."""
    allocation = db.session.get(Allocation, payload["allocation"])
    if allocation is None or user.password_hash is None:
        return None
    received = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(
            JournalEntry.reference == allocation.reference,
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.user_id == user.id,
        )
    )
    if not received:
        return None
    year = db.session.get(SchoolYear, allocation.school_year_code)
    context = {
        "cents": int(received),
        "left": teacher_balance(user.id, allocation.school_year_code),
        "ends_on": year.ends_on if year is not None else None,
    }
    return notifications.Notice(context, link=mail.public_url("products.storefront"))


@notifications.event("credit_expiring", label=_l("Crédit bientôt perdu"), topic=Topic.REMINDERS)
def credit_expiring(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    """The reminder, 30 then 7 days before the end of the school year: said with the
    credit left when it is read; nothing when it was all spent meanwhile."""
    year = db.session.get(SchoolYear, payload["year"])
    if year is None:
        return None
    left = teacher_balance(user.id, year.code)
    if left <= 0:
        return None
    context = {"left": left, "ends_on": year.ends_on, "days": int(payload["days"])}
    return notifications.Notice(context, link=mail.public_url("products.storefront"))
