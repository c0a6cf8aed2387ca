"""The jobs outbox: work to do after a change, written in the same transaction as it.

A business change that needs something done later (provision a licence, send a mail)
calls :func:`enqueue` before its transaction commits: the job exists if and only if the
change does, so nothing is lost between the database and a queue.

Workers (``flask jobs work``) claim ready jobs with ``SELECT … FOR UPDATE SKIP LOCKED``
(PostgreSQL), so any number of them, on any number of machines, share the table without
ever running the same job at once. A claimed job holds a *lease*; a worker that dies
leaves its job ``running`` with an expired lease, and :func:`reclaim_expired` puts it
back in the queue (counting the lost attempt). A failed run is retried with exponential
backoff and jitter; after ``max_attempts`` the job is ``dead``: listed for admins, who can
retry it. The handler's own changes and the job's ``done`` are committed together.

Handlers must be idempotent: a job may run again after a crash at the wrong moment.
In development (``JOBS_INLINE``) ready jobs also run right after the request that queued
them, so the embedded set-up needs no worker.
"""

from __future__ import annotations

import enum
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, has_request_context
from flask_babel import gettext
from sqlalchemy import JSON, Index, Integer, String, Text, literal, select, text, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from app.core import logs
from app.core.db import AnySelect, BigId, UTCDateTime, enum_column, insert_or_ignore, utcnow
from app.extensions import Model, db


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class Job(Model):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Enqueuing twice with the same key gives one job (e.g. "provision:licence:42").
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    worker: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The request (app/core/logs.py) that enqueued it, on the worker's log lines for it.
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "ix_job_ready",
            "run_after",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        Index(
            "ix_job_leases",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        # Finished jobs, oldest first, for the retention (app/core/retention.py) and for
        # the e-mails sent lately (app/core/metrics.py).
        Index(
            "ix_job_done",
            "finished_at",
            postgresql_where=text("status = 'done'"),
            sqlite_where=text("status = 'done'"),
        ),
        Index(
            "ix_job_dead",
            "id",
            postgresql_where=text("status = 'dead'"),
            sqlite_where=text("status = 'dead'"),
        ),
        # The runs of the periodic tasks (app/core/schedule.py), latest first, without
        # reading the rest of the table.
        Index(
            "ix_job_scheduled",
            "id",
            postgresql_where=text("kind = 'schedule'"),
            sqlite_where=text("kind = 'schedule'"),
        ),
    )


class RetryLater(Exception):  # noqa: N818 - reads as what the handler asks for
    """Raised by a handler when the work cannot be done now but may later (a peer is
    down, a timeout): the job is retried with backoff, then dies after max attempts."""


class GiveUp(Exception):  # noqa: N818 - reads as what the handler asks for
    """Raised by a handler when trying again cannot help (a mail server refused the
    address for good): the job is dead at once, with this reason on the failed-jobs page."""


@dataclass(frozen=True)
class Handler:
    kind: str
    run: Callable[[dict[str, Any]], None]
    # Called in the transaction that marks the job dead (e.g. the licence becomes failed).
    on_dead: Callable[[dict[str, Any], str], None] | None = None
    # What a job of this kind is about, in French, for the failed-jobs page.
    describe: Callable[[dict[str, Any]], str] | None = None


HANDLERS: dict[str, Handler] = {}
job_logger = logging.getLogger("app.job")
# Called when a worker has nothing more to run (its queue is empty, or it stops): where a
# handler keeps something open between jobs (the SMTP connection), it closes it here.
IDLE_HOOKS: list[Callable[[], None]] = []


def on_idle(hook: Callable[[], None]) -> Callable[[], None]:
    """Register a function the worker calls when it runs out of ready jobs."""
    IDLE_HOOKS.append(hook)
    return hook


def _idle() -> None:
    for hook in IDLE_HOOKS:
        hook()


def handler(
    kind: str,
    on_dead: Callable[[dict[str, Any], str], None] | None = None,
    describe: Callable[[dict[str, Any]], str] | None = None,
) -> Callable[[Callable[[dict[str, Any]], None]], Callable[[dict[str, Any]], None]]:
    """Register the function that runs the jobs of `kind`."""

    def register(run: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        HANDLERS[kind] = Handler(kind, run, on_dead, describe)
        return run

    return register


def describe(job: Job) -> str:
    """What `job` is about, in words for the failed-jobs page."""
    registered = HANDLERS.get(job.kind)
    if registered is None or registered.describe is None:
        return str(gettext("Tâche « %(kind)s »", kind=job.kind))
    return registered.describe(job.payload)


@handler("noop", describe=lambda payload: gettext("Tâche de vérification (sans effet)"))
def _noop(payload: dict[str, Any]) -> None:
    """Does nothing: for checking that workers run, and for the benchmark."""


# --- writing jobs ---------------------------------------------------------------------------


def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    delay: timedelta | None = None,
) -> bool:
    """Add a job to the current transaction. With a `key` already used, nothing is added
    (and False is returned)."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind: {kind}")
    values = {
        "kind": kind,
        "payload": payload,
        "key": key,
        "status": JobStatus.QUEUED,
        "attempts": 0,
        "max_attempts": current_app.config["JOBS_MAX_ATTEMPTS"],
        "run_after": utcnow() + (delay or timedelta()),
        "created_at": utcnow(),
        "request_id": logs.current_request_id(),
    }
    result = db.session.execute(_job_insert(), values)
    if has_request_context():
        g.jobs_enqueued = True
    return bool(result.rowcount)  # type: ignore[attr-defined]


_JOB_INSERTS: dict[str, Any] = {}


def _job_insert() -> Any:
    """The INSERT … ON CONFLICT DO NOTHING of one job, built once per database kind: Core on
    the table, its values given at execution (a hot path: every checkout queues three)."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in _JOB_INSERTS:
        statement = insert_or_ignore(db.session, Job.__table__).on_conflict_do_nothing()
        _JOB_INSERTS[dialect] = statement.execution_options(preserve_rowcount=True)
    return _JOB_INSERTS[dialect]


def enqueue_many(kind: str, payloads_and_keys: AnySelect) -> int:
    """Add one job of `kind` per row of a SELECT of two columns, the payload (JSON) and
    the key, in one INSERT … SELECT (no row goes through Python); keys already used are
    skipped. Returns how many jobs were added."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind: {kind}")
    rows = payloads_and_keys.subquery()
    payload, key = rows.columns
    now = utcnow()
    values = select(
        literal(kind),
        payload,
        key,
        literal(JobStatus.QUEUED.value),
        literal(0),
        literal(current_app.config["JOBS_MAX_ATTEMPTS"]),
        literal(now, Job.run_after.type),
        literal(now, Job.created_at.type),
        literal(logs.current_request_id(), Job.request_id.type),
    ).select_from(rows)
    # SQLite needs a WHERE before ON CONFLICT in an INSERT … SELECT (parsing ambiguity).
    values = values.where(literal(1) == 1)
    columns = ["kind", "payload", "key", "status", "attempts", "max_attempts", "run_after"]
    insert: Any = (
        insert_or_ignore(db.session, Job)
        .from_select([*columns, "created_at", "request_id"], values)
        .on_conflict_do_nothing()
    )
    result = db.session.execute(insert.execution_options(preserve_rowcount=True))
    if has_request_context():
        g.jobs_enqueued = True
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def retry(job: Job) -> None:
    """Put a dead job back in the queue, its attempts counted from zero."""
    if job.status is not JobStatus.DEAD:
        return
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.run_after = utcnow()
    job.finished_at = None


def dead_jobs(limit: int = 200) -> list[Job]:
    query = select(Job).where(Job.status == JobStatus.DEAD).order_by(Job.id.desc()).limit(limit)
    return list(db.session.scalars(query))


# --- running jobs ---------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base × 2^(attempts-1), capped, ×[0.5, 1.5)."""
    base = float(current_app.config["JOBS_BACKOFF_SECONDS"])
    cap = float(current_app.config["JOBS_BACKOFF_MAX_SECONDS"])
    delay = min(base * 2 ** max(attempts - 1, 0), cap)
    return timedelta(seconds=delay * random.uniform(0.5, 1.5))  # noqa: S311 - jitter


def claim(kinds: Iterable[str] | None = None, worker: str | None = None) -> int | None:
    """Take the next ready job (committed at once, so other workers skip it); its id."""
    now = utcnow()
    ready = (
        select(Job.id)
        .where(Job.status == JobStatus.QUEUED, Job.run_after <= now)
        .order_by(Job.run_after)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if kinds:
        ready = ready.where(Job.kind.in_(list(kinds)))
    lease = timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"])
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == ready.scalar_subquery(), Job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            lease_expires_at=now + lease,
            worker=worker or worker_name(),
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    return claimed


def reclaim_expired() -> int:
    """Jobs whose worker died (lease expired): back in the queue, or dead when that was
    their last attempt. Returns how many were reclaimed."""
    now = utcnow()
    expired = list(
        db.session.scalars(
            select(Job)
            .where(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now)
            .with_for_update(skip_locked=True)
        )
    )
    for job in expired:
        _failed(job, "Le traitement a été interrompu (délai dépassé) : il sera relancé.")
    db.session.commit()
    return len(expired)


def _failed(job: Job, error: str, *, give_up: bool = False) -> None:
    job.last_error = error[:4000]
    job.lease_expires_at = None
    if give_up or job.attempts >= job.max_attempts:
        job.status = JobStatus.DEAD
        job.finished_at = utcnow()
        registered = HANDLERS.get(job.kind)
        if registered is not None and registered.on_dead is not None:
            registered.on_dead(job.payload, job.last_error)
    else:
        job.status = JobStatus.QUEUED
        job.run_after = utcnow() + backoff(job.attempts)


def run(job_id: int) -> JobStatus:
    """Run one claimed job: its handler's changes and its `done` commit together; on
    failure they are rolled back and the failure is recorded in a new transaction. Its
    log lines carry its id, kind and the id of the request that enqueued it."""
    job = db.session.get(Job, job_id)
    if job is None or job.status is not JobStatus.RUNNING:
        return JobStatus.DONE if job is None else job.status
    fields = {"job_id": job.id, "job_kind": job.kind, "request_id": job.request_id}
    started = time.perf_counter()
    with logs.log_context(**fields):
        status = _run(job)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        extra = {**fields, "job_status": status.value, "duration_ms": duration_ms}
        job_logger.info("Job %s (%s): %s", job_id, fields["job_kind"], status.value, extra=extra)
    return status


def _run(job: Job) -> JobStatus:
    job_id = job.id
    registered = HANDLERS.get(job.kind)
    try:
        if registered is None:
            raise LookupError(f"aucun traitement pour les tâches « {job.kind} »")
        registered.run(dict(job.payload))
        job.status = JobStatus.DONE
        job.finished_at = utcnow()
        job.lease_expires_at = None
        job.last_error = None
        db.session.commit()
        return JobStatus.DONE
    except Exception as error:  # noqa: BLE001 - any failure of a handler is recorded
        db.session.rollback()
        failed = db.session.get(Job, job_id)
        assert failed is not None  # noqa: S101 - it was there before the rollback
        expected = isinstance(error, RetryLater | GiveUp)
        message = str(error) if expected else f"{type(error).__name__}: {error}"
        if not expected:
            current_app.logger.exception("Job %s (%s) failed", job_id, failed.kind)
        _failed(failed, message, give_up=isinstance(error, GiveUp))
        db.session.commit()
        return failed.status


# What a lost database looks like (refused, reset, terminated, closed connection).
DATABASE_GONE = (OperationalError, InterfaceError)


class _Stop:
    """Set by SIGTERM/SIGINT: the worker finishes its current job, then stops."""

    requested = False


def work(
    *,
    kinds: Iterable[str] | None = None,
    once: bool = False,
    max_jobs: int | None = None,
    poll_seconds: float = 1.0,
    on_job: Callable[[int, JobStatus], None] | None = None,
    tick: Callable[[], None] | None = None,
) -> int:
    """Claim and run jobs until stopped; with `once`, until none is ready. Returns the
    number of jobs run. `tick`, when given, is called before each claim (a worker that
    also schedules the periodic tasks: app/core/schedule.py).

    A worker that runs until stopped outlives the database: when it cannot be reached
    (restart, fail-over, network), the worker logs it, waits with backoff and goes on
    where it was; a job interrupted then is taken again when its lease expires. With
    `once` (a command's single pass, the inline runs of development) the error is raised.
    """
    kinds = list(kinds) if kinds else None
    worker = worker_name()
    done = 0
    last_reclaim = 0.0
    reclaim_every = float(current_app.config["JOBS_RECLAIM_EVERY_SECONDS"])
    outage = 0  # failed attempts in a row to reach the database
    try:
        while not _Stop.requested and (max_jobs is None or done < max_jobs):
            try:
                if time.monotonic() - last_reclaim > reclaim_every:
                    reclaim_expired()
                    last_reclaim = time.monotonic()
                if tick is not None:
                    tick()
                job_id = claim(kinds, worker)
                status = run(job_id) if job_id is not None else None
            except DATABASE_GONE as error:
                if once:
                    raise
                outage += 1
                wait_for_database(error, outage)
                continue
            if outage:
                current_app.logger.warning("Database reachable again: worker %s resumes", worker)
                outage = 0
            if job_id is None or status is None:
                _idle()
                if once:
                    break
                time.sleep(poll_seconds)
                continue
            done += 1
            if on_job is not None:
                on_job(job_id, status)
    finally:
        _idle()
    return done


def wait_for_database(error: Exception, outage: int) -> None:
    """Drop the session (its connection is gone), log, and wait 1, 2, 4… seconds, up to
    JOBS_RECONNECT_MAX_SECONDS; SIGTERM still stops the worker meanwhile."""
    db.session.remove()
    wait = min(2.0 ** (outage - 1), float(current_app.config["JOBS_RECONNECT_MAX_SECONDS"]))
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    current_app.logger.warning(
        "Database unreachable (attempt %d): %s; next attempt in %.0f s", outage, reason, wait
    )
    deadline = time.monotonic() + wait
    while not _Stop.requested and time.monotonic() < deadline:
        time.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))


def stop_requested() -> bool:
    """Whether SIGTERM/SIGINT asked this process to stop (for loops other than `work`)."""
    return _Stop.requested


def install_signal_handlers() -> None:
    def stop(_signum: int, _frame: object) -> None:
        _Stop.requested = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def init_app(app: Flask) -> None:
    """In development, run ready jobs once a request is over: at once when the request
    queued some, otherwise every few seconds (retries, jobs queued by a command). The
    periodic tasks are scheduled there too, so the embedded set-up needs no scheduler."""
    last_run = [0.0]
    tickers: list[Callable[[], None]] = []
    # One inline run at a time: a job may call this very server (the demo's stand-in
    # vendors and GAR), and that request must not start a second run that waits for the
    # first one's SQLite write lock.
    running = threading.Lock()

    @app.teardown_request
    def run_inline(_error: BaseException | None) -> None:
        if not app.config["JOBS_INLINE"]:
            return
        queued_now = g.pop("jobs_enqueued", False)
        if not (queued_now or time.monotonic() - last_run[0] > INLINE_EVERY_SECONDS):
            return
        if not running.acquire(blocking=False):
            return  # the run under way takes the new jobs too
        try:
            last_run[0] = time.monotonic()
            db.session.remove()
            if not tickers:
                from app.core.schedule import Ticker  # it imports this module

                tickers.append(Ticker())
            work(once=True, max_jobs=app.config["JOBS_INLINE_MAX"], tick=tickers[0])
        finally:
            running.release()


INLINE_EVERY_SECONDS = 5
