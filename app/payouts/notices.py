"""What the service tells about payouts (see app/notifications): to a vendor's staff, a
payout sent with its statement; to the admins, a reconciliation that finds the ledger, the
transfers and the statements disagreeing, and the daily task that runs it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import LazyString, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import mail, notifications
from app.accounts.models import Role, User
from app.core import dates, schedule
from app.core.notices import admins
from app.extensions import db
from app.payouts import services
from app.payouts.models import Payout
from app.vendors import services as vendors


@notifications.event("reconciliation_mismatch", label=_l("Écart au rapprochement des versements"))
def reconciliation_mismatch(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    if not user.has_role(Role.ADMIN):
        return None
    day = date.fromisoformat(payload["day"])
    ids = [line["payout"] for line in payload["lines"]]
    payouts = {p.id: p for p in db.session.scalars(select(Payout).where(Payout.id.in_(ids)))}
    lines = [
        {**line, "payout": payouts[line["payout"]]}
        for line in payload["lines"]
        if line["payout"] in payouts
    ]
    context = {
        "day": LazyString(format_date, day, "long"),  # in the reader’s language
        "lines": lines,
        "ledger_total": payload["ledger_total"],
        "payouts_total": payload["payouts_total"],
    }
    link = mail.public_url("payouts.reconciliation", du=day.isoformat(), au=day.isoformat())
    return notifications.Notice(context, link=link)


@schedule.task("payouts.reconcile", "30 6 * * *", _l("Rapprochement quotidien des versements"))
def reconcile_yesterday() -> None:
    """Each morning, reconcile the payouts of the day before (ledger, transfers,
    statements); when anything differs, tell every admin what, once for that day."""
    day = dates.today() - timedelta(days=1)
    report = services.reconcile(day, day)
    if report.ok:
        return
    payload = {
        "day": day.isoformat(),
        "lines": [
            {
                "payout": line.payout.id,
                "ledger": line.ledger_cents,
                "transferred": line.transferred_cents,
                "statement": line.statement_cents,
            }
            for line in report.lines
            if line.differences
        ],
        "ledger_total": report.ledger_total_cents,
        "payouts_total": report.payouts_total_cents,
    }
    key = f"reconciliation-mismatch:{day.isoformat()}"
    notifications.notify("reconciliation_mismatch", payload, users=admins(), key=key)


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
