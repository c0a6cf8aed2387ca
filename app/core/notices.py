"""What the admins are told about the jobs outbox (see app/notifications): the jobs that
died, at most one digest an hour, and the hourly task that sends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import LazyString, format_date, format_time
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import mail, notifications
from app.accounts.models import Role, RoleGrant, User
from app.core import jobs, schedule
from app.core.dates import PARIS
from app.core.db import utcnow
from app.extensions import db

DIGEST_LINES = 50  # jobs described one by one; the count says how many died in all
HOUR_FORMAT = "%Y-%m-%dT%HZ"  # in UTC: the hour repeated when clocks go back is two hours


def admins() -> list[int]:
    query = select(RoleGrant.user_id).where(RoleGrant.role == Role.ADMIN).distinct()
    return list(db.session.scalars(query))


def last_hour(now: datetime) -> tuple[datetime, datetime]:
    """The last whole hour before `now`: [start, end), in UTC."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end


@notifications.event("dead_jobs", label=_l("Tâches en échec"))
def dead_jobs(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    if not user.has_role(Role.ADMIN):
        return None
    found = db.session.scalars(select(jobs.Job).where(jobs.Job.id.in_(payload["jobs"])))
    described = [jobs.describe(job) for job in sorted(found, key=lambda job: job.id)]
    start = datetime.strptime(payload["hour"], HOUR_FORMAT).replace(tzinfo=UTC)
    context = {
        "count": payload["count"],
        "descriptions": described,
        # Formatted when the message is written, in the reader’s language.
        "day": LazyString(format_date, start.astimezone(PARIS), "long"),
        "start": LazyString(format_time, start, "HH:mm"),
        "end": LazyString(format_time, start + timedelta(hours=1), "HH:mm"),
    }
    return notifications.Notice(context, link=mail.public_url("jobs.dead"))


@schedule.task("jobs.dead-digest", "2 * * * *", _l("Récapitulatif des tâches en échec"))
def tell_dead_jobs() -> None:
    """Every hour: when jobs died during the last whole hour, tell every admin how many and
    what they were about, in one message per hour (the key holds the hour)."""
    start, end = last_hour(utcnow())
    died = select(jobs.Job.id).where(
        jobs.Job.status == jobs.JobStatus.DEAD,
        jobs.Job.finished_at >= start,
        jobs.Job.finished_at < end,
    )
    ids = list(db.session.scalars(died.order_by(jobs.Job.id)))
    if not ids:
        return
    hour = start.strftime(HOUR_FORMAT)
    payload = {"hour": hour, "count": len(ids), "jobs": ids[:DIGEST_LINES]}
    notifications.notify("dead_jobs", payload, users=admins(), key=f"dead-jobs:{hour}")
