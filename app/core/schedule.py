"""Periodic tasks: what the service does on its own, and when.

Each feature declares its periodic tasks next to the services they call, with the
:func:`task` decorator::

    from flask_babel import lazy_gettext as _l

    from app.core import dates, schedule

    @schedule.task("licences.expire", "5 0 * * *", _l("Échéance des licences"))
    def expire_today() -> None:
        expire_ended(dates.today())

- the *name* (letters, digits, dots, hyphens) is in the job keys: never rename a task;
- the *cadence* is a cron expression (five fields, parsed by ``croniter``) read in
  **Paris time**: ``"0 6 * * *"`` is 6:00 in Paris, summer and winter alike;
- the *label* is French words for the admins' page (``lazy_gettext``);
- the *function* takes no argument and does its work through services (flush, never
  commit): it runs as a job of the outbox, whose commit also commits its changes. It
  must be idempotent and must not assume it runs on time: it may run late (the
  scheduler was down), again (a job retried after a crash), or by hand (« Lancer
  maintenant »). So it computes its own "today" and derives the key of anything it
  enqueues from the event (``mail:label-expiring:<label id>:60``), never from the run.
  A task over many people (reminders, digests) fans out: it queues one job per message
  set-based with :func:`app.core.jobs.enqueue_many` and returns.

The module holding the task must be imported when the application is created (a
feature's ``services.py`` is, through its routes). If the page of periodic tasks shows
the cadence as a cron expression, teach :func:`describe_cadence` its shape.

How it runs: a scheduler (``flask jobs schedule``, or workers started with
``flask jobs work --schedule``) computes for each task its current *period*, the latest
time its cadence fired, and enqueues one job ``schedule`` with the key
``schedule:<task>:<period start, Paris wall-clock time>``. The key is unique in the jobs
table, so any number of schedulers and workers running at once enqueue a period once.
Only the current period is ever computed: periods missed while no scheduler ran are
caught up once, by the latest, not one by one. The key holds the wall-clock time, so
in the hour repeated when clocks go back in October a task of that hour runs once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from croniter import croniter
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import literal_column, select

from app.core import audit, jobs
from app.core.dates import PARIS
from app.core.db import utcnow
from app.core.errors import NotFound
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User

KIND = "schedule"
PERIOD_FORMAT = "%Y-%m-%dT%H:%M"  # Paris wall-clock time, to the minute (cron's resolution)
# How long after its time a period may wait for a scheduler before the page warns.
LATE_AFTER = timedelta(minutes=5)
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*")


@dataclass(frozen=True)
class Task:
    name: str
    cron: str
    label: Any  # lazy French words: str() them in a request
    run: Callable[[], None]

    def period(self, now: datetime) -> datetime:
        """The start of the period `now` falls in: the latest time the cadence fired at
        or before `now`, in Paris time."""
        # Cron fires on whole minutes: step back from the minute after `now` (counted in
        # UTC: in Paris time, a minute added in the repeated hour would land an hour off).
        after = now.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        return _aware(croniter(self.cron, after.astimezone(PARIS)).get_prev(datetime))

    def next_run(self, now: datetime) -> datetime:
        """The first time after `now` that starts a new period, in Paris time (a time
        repeated when the clocks go back is the period already run)."""
        current = self.key(self.period(now))
        times = croniter(self.cron, now.astimezone(PARIS))
        for _attempt in range(3):
            upcoming = _aware(times.get_next(datetime))
            if self.key(upcoming) != current:
                break
        return upcoming

    def key(self, period: datetime) -> str:
        return f"{self.prefix}{period.astimezone(PARIS).strftime(PERIOD_FORMAT)}"

    @property
    def prefix(self) -> str:
        return f"{KIND}:{self.name}:"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=PARIS)


# The registry, in the order the tasks were declared.
TASKS: dict[str, Task] = {}


def task(name: str, cron: str, label: Any) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Declare the decorated function a periodic task `name`, run at the cadence `cron`
    (Paris time), shown to admins as `label`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"task name {name!r}: lowercase letters, digits, dots and hyphens")
    if not croniter.is_valid(cron) or len(cron.split()) != 5:
        raise ValueError(f"task {name}: {cron!r} is not a five-field cron expression")

    def register(run: Callable[[], None]) -> Callable[[], None]:
        if name in TASKS and TASKS[name].run is not run:
            raise ValueError(f"task {name} is declared twice")
        TASKS[name] = Task(name, cron, label, run)
        return run

    return register


def get_task(name: str) -> Task:
    found = TASKS.get(name)
    if found is None:
        raise NotFound(_("Tâche planifiée introuvable."))
    return found


# --- the jobs that run the tasks ---------------------------------------------------------


def _describe(payload: dict[str, Any]) -> str:
    found = TASKS.get(str(payload.get("task")))
    label = str(found.label) if found is not None else str(payload.get("task"))
    if not payload.get("period"):
        return str(_("Tâche planifiée « %(label)s », lancée à la main", label=label))
    start = datetime.strptime(payload["period"], PERIOD_FORMAT).replace(tzinfo=PARIS)
    period = format_datetime(start, "short")
    return str(_("Tâche planifiée « %(label)s » du %(period)s", label=label, period=period))


@jobs.handler(KIND, describe=_describe)
def _run(payload: dict[str, Any]) -> None:
    found = TASKS.get(str(payload["task"]))
    if found is None:
        raise jobs.GiveUp(f"Aucune tâche planifiée « {payload['task']} » dans cette version.")
    found.run()


def enqueue_due(now: datetime | None = None) -> list[tuple[Task, datetime]]:
    """Enqueue the current period of every task, unless it already is (by this or any
    other scheduler). Returns the periods enqueued by this call; the caller commits."""
    now = now or utcnow()
    enqueued = []
    for declared in TASKS.values():
        period = declared.period(now)
        payload = {"task": declared.name, "period": period.strftime(PERIOD_FORMAT)}
        if jobs.enqueue(KIND, payload, key=declared.key(period)):
            enqueued.append((declared, period))
    return enqueued


def run_now(name: str, actor: User) -> str:
    """Enqueue a run of task `name` now, apart from its periods (its own key); audited.
    Returns the job's key."""
    found = get_task(name)
    moment = utcnow()
    # One run per second and task: a double click enqueues one job.
    key = f"{found.prefix}manual:{moment.strftime('%Y-%m-%dT%H:%M:%S')}"
    jobs.enqueue(KIND, {"task": found.name, "period": None, "asked_by": actor.id}, key=key)
    audit.record(actor, "scheduled_task.run_now", "scheduled_task", found.name, job_key=key)
    return key


# --- what the admins see ------------------------------------------------------------------


@dataclass(frozen=True)
class TaskState:
    task: Task
    cadence: str
    last: jobs.Job | None  # the latest run, scheduled or by hand
    next_run: datetime
    late: bool  # its current period should have been enqueued by now, and is not


def last_run(declared: Task) -> jobs.Job | None:
    query = (
        select(jobs.Job)
        # A literal, so that PostgreSQL uses the partial index ix_job_scheduled.
        .where(jobs.Job.kind == literal_column(f"'{KIND}'"))
        .where(jobs.Job.key.startswith(declared.prefix, autoescape=True))
        .order_by(jobs.Job.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def states(now: datetime | None = None) -> list[TaskState]:
    now = now or utcnow()
    found = []
    for declared in TASKS.values():
        period = declared.period(now)
        missing = db.session.scalar(select(jobs.Job.id).where(jobs.Job.key == declared.key(period)))
        found.append(
            TaskState(
                task=declared,
                cadence=describe_cadence(declared.cron),
                last=last_run(declared),
                next_run=declared.next_run(now),
                late=missing is None and now - period > LATE_AFTER,
            )
        )
    return found


_DAYS = {
    0: _l("les dimanches"),
    1: _l("les lundis"),
    2: _l("les mardis"),
    3: _l("les mercredis"),
    4: _l("les jeudis"),
    5: _l("les vendredis"),
    6: _l("les samedis"),
    7: _l("les dimanches"),
}


def describe_cadence(cron: str) -> str:
    """The cadence in words (« tous les jours à 6 h 00 ») for the shapes the tasks use;
    any other shows its expression."""
    return str(_cadence_words(cron, *cron.split()))


def _cadence_words(cron: str, minute: str, hour: str, day: str, month: str, weekday: str) -> Any:
    at_time = minute.isdigit() and hour.isdigit()
    clock = {"hour": int(hour), "minute": f"{int(minute):02d}"} if at_time else {}
    if (hour, day, month, weekday) == ("*", "*", "*", "*"):
        if minute == "*":
            return _("toutes les minutes")
        if minute.startswith("*/") and minute[2:].isdigit():
            return _("toutes les %(n)s minutes", n=int(minute[2:]))
        if minute == "0":
            return _("toutes les heures, à l’heure pile")
        if minute.isdigit():
            return _("toutes les heures, à la minute %(minute)s", minute=int(minute))
    if at_time and (day, month) == ("*", "*"):
        if weekday == "*":
            return _("tous les jours à %(hour)s h %(minute)s", **clock)
        if weekday == "1-5":
            return _("du lundi au vendredi à %(hour)s h %(minute)s", **clock)
        if weekday.isdigit() and int(weekday) in _DAYS:
            days = str(_DAYS[int(weekday)])
            return _("tous %(days)s à %(hour)s h %(minute)s", days=days, **clock)
    if at_time and day.isdigit() and (month, weekday) == ("*", "*"):
        nth = _("1er") if day == "1" else day
        return _("le %(day)s de chaque mois à %(hour)s h %(minute)s", day=nth, **clock)
    return _("selon l’expression cron « %(cron)s »", cron=cron)


# --- the scheduler ------------------------------------------------------------------------


def seconds_to_next_run(now: datetime) -> float:
    """How long until some task's cadence fires next (a day when there is no task)."""
    upcoming = [declared.next_run(now) for declared in TASKS.values()]
    if not upcoming:
        return 86_400.0
    return max((min(upcoming) - now).total_seconds(), 0.0)


def run_scheduler(
    *,
    once: bool = False,
    poll_seconds: float = 30.0,
    on_enqueued: Callable[[Task, datetime], None] | None = None,
) -> int:
    """Enqueue the due periods, then wait for the next (at most `poll_seconds`), until
    SIGTERM/SIGINT; with `once`, a single pass. Returns how many periods were enqueued.
    When the database cannot be reached, waits for it with backoff (as the workers)."""
    count = 0
    outage = 0  # failed attempts in a row to reach the database
    while True:
        try:
            enqueued = enqueue_due()
            db.session.commit()
        except jobs.DATABASE_GONE as error:
            if once:
                raise
            outage += 1
            jobs.wait_for_database(error, outage)  # as the workers do
            if jobs.stop_requested():
                return count
            continue
        outage = 0
        count += len(enqueued)
        for declared, period in enqueued:
            if on_enqueued is not None:
                on_enqueued(declared, period)
        if once:
            return count
        wait = min(poll_seconds, seconds_to_next_run(utcnow()) + 0.1)
        deadline = time.monotonic() + wait
        while not jobs.stop_requested() and time.monotonic() < deadline:
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        if jobs.stop_requested():
            return count


class Ticker:
    """For `flask jobs work --schedule`: called before each claim, it enqueues the due
    periods when a task's time has come, and at least every `poll_seconds`."""

    def __init__(self, poll_seconds: float = 30.0) -> None:
        self.poll_seconds = poll_seconds
        self.next_check = 0.0  # time.monotonic() of the next pass; 0: at once

    def __call__(self) -> None:
        if time.monotonic() < self.next_check:
            return
        enqueued = enqueue_due()
        db.session.commit()
        for declared, period in enqueued:
            current_app.logger.info("Scheduled %s for %s", declared.name, period.isoformat())
        wait = min(self.poll_seconds, seconds_to_next_run(utcnow()) + 0.1)
        self.next_check = time.monotonic() + wait
