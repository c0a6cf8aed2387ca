"""What an academy's managers are told about their monthly report (see app/notifications),
and the monthly task that tells them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import LazyString, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, literal, select

from app import mail, notifications
from app.accounts.models import Role, RoleGrant, User
from app.budgets.models import Academy
from app.core import dates, schedule
from app.extensions import db


@notifications.event("monthly_report_ready", label=_l("Rapport mensuel disponible"))
def monthly_report_ready(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    academy = db.session.get(Academy, payload["academy"])
    if academy is None or not user.has_role(Role.ACADEMY_MANAGER, academy.code):
        return None
    month = date.fromisoformat(f"{payload['month']}-01")
    link = mail.public_url(
        "reporting.monthly_report", academy_code=academy.code, mois=payload["month"]
    )
    dashboard = mail.public_url("reporting.academy_dashboard", academy_code=academy.code)
    context = {
        "academy": academy,
        "month_label": LazyString(format_date, month, "MMMM y"),  # in the reader’s language
        "dashboard": dashboard,
    }
    return notifications.Notice(context, link=link)


def previous_month(today: date) -> date:
    """The first day of the month before `today`'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


@schedule.task("reporting.monthly-report", "0 7 1 * *", _l("Rapport mensuel des académies"))
def tell_monthly_reports() -> None:
    """On the 1st, tell each academy's managers that last month's report is ready: one
    message per manager, academy and month (the key), however often the task runs."""
    month = f"{previous_month(dates.today()):%Y-%m}"
    codes = db.session.scalars(
        select(RoleGrant.academy_code)
        .where(RoleGrant.role == Role.ACADEMY_MANAGER)
        .distinct()
        .order_by(RoleGrant.academy_code)
    )
    for code in list(codes):  # one statement per academy (about thirty), not per person
        managers = select(
            RoleGrant.user_id.label("user"),
            literal(code, String).label("academy"),
            literal(month, String).label("month"),
        ).where(RoleGrant.role == Role.ACADEMY_MANAGER, RoleGrant.academy_code == code)
        notifications.notify_many(
            "monthly_report_ready", managers, key=f"monthly-report:{code}:{month}"
        )
