"""The jobs outbox: work to do after a change, written in the same transaction as it.

A business change that needs something done later (provision a licence, send a mail)
calls :func:`enqueue` before its transaction commits: the job exists if and only if the
change does, so nothing is lost between the database and a queue.

Workers (``flask jobs work``) claim ready jobs by small batches (``JOBS_BATCH_SIZE``, in
one statement) with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL), so any number of
them, on any number of machines, share the table without ever running the same job at
once. Claimed jobs hold a *lease*; a worker that dies leaves its jobs ``running`` with an
expired lease, and :func:`reclaim_expired` puts them back in the queue (counting the lost
attempt). A failed run is retried with exponential backoff and jitter; after
``max_attempts`` the job is ``dead``: listed for admins, who can retry it. Each job runs
on its own: the handler's own changes and the job's ``done`` are committed together, and
a failure concerns its job alone. Jobs whose handlers leave nothing to commit are marked
done together, in one statement at the end of their batch (:func:`run_batch`).

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
from typing import Any, cast

from flask import Flask, current_app, g, has_request_context
from flask_babel import gettext
from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    literal,
    select,
    text,
    update,
)
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


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this worker holds, with what its run needs: returned by the claim itself,
    so that running it loads nothing."""

    id: int
    kind: str
    payload: dict[str, Any]
    request_id: str | None


# The worker's hot path in SQLAlchemy Core, each statement built once with bind parameters
# (building and caching a statement per job cost more than running it): claim a batch in
# one UPDATE, mark jobs done in one UPDATE. The ORM `Job` is loaded only when a run fails.
_JOB = cast(Table, Job.__table__)
_job = _JOB.c


def _claim_statement(by_kind: bool) -> Any:
    ready = (
        select(_job.id)
        .where(_job.status == JobStatus.QUEUED, _job.run_after <= bindparam("claim_now"))
        .order_by(_job.run_after)
        .limit(bindparam("claim_size"))
        .with_for_update(skip_locked=True)
    )
    if by_kind:
        ready = ready.where(_job.kind.in_(bindparam("claim_kinds", expanding=True)))
    # Materialized: run once. As a plain `IN (SELECT … LIMIT n)` PostgreSQL may scan the
    # subquery again for each row to update, and claim more than n jobs.
    batch = ready.cte("ready").prefix_with("MATERIALIZED")
    return (
        update(_JOB)
        .where(_job.id.in_(select(batch.c.id)), _job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            attempts=_job.attempts + 1,
            lease_expires_at=bindparam("claim_lease"),
            worker=bindparam("claim_worker"),
        )
        .returning(_job.id, _job.kind, _job.payload, _job.request_id)
    )


_CLAIM = {False: _claim_statement(False), True: _claim_statement(True)}
# Only the jobs this worker still holds: one whose lease was taken back meanwhile
# (reclaimed, perhaps claimed by another worker) is not marked done by a late run.
_HELD = (
    _job.id.in_(bindparam("held_ids", expanding=True)),
    _job.status == JobStatus.RUNNING,
    _job.worker == bindparam("held_by"),
)
_DONE = (
    update(_JOB)
    .where(*_HELD)
    .values(
        status=JobStatus.DONE,
        finished_at=bindparam("done_at"),
        lease_expires_at=None,
        last_error=None,
    )
    .returning(_job.id)
)
# Claimed jobs not started (the worker stops, or the batch outlasts half its lease): back
# in the queue as they were, the attempt not counted.
_GIVE_BACK = (
    update(_JOB)
    .where(*_HELD)
    .values(status=JobStatus.QUEUED, attempts=_job.attempts - 1, lease_expires_at=None)
)


def claim_batch(
    kinds: Iterable[str] | None = None, worker: str | None = None, size: int = 1
) -> list[Claimed]:
    """Take up to `size` ready jobs, oldest first, in one statement committed at once (so
    other workers skip them); they share one lease."""
    now = utcnow()
    wanted = list(kinds) if kinds else None
    params: dict[str, Any] = {
        "claim_now": now,
        "claim_size": size,
        "claim_lease": now + timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"]),
        "claim_worker": worker or worker_name(),
    }
    if wanted:
        params["claim_kinds"] = wanted
    rows = db.session.connection().execute(_CLAIM[bool(wanted)], params).all()
    db.session.commit()
    return sorted((Claimed(*row) for row in rows), key=lambda job: job.id)


def claim(kinds: Iterable[str] | None = None, worker: str | None = None) -> int | None:
    """Take the next ready job (committed at once, so other workers skip it); its id."""
    claimed = claim_batch(kinds, worker, size=1)
    return claimed[0].id if claimed else None


def _mark_done(ids: list[int], worker: str) -> set[int]:
    """Mark done, in the current transaction, those of `ids` this worker still holds."""
    params = {"held_ids": ids, "held_by": worker, "done_at": utcnow()}
    return set(db.session.connection().execute(_DONE, params).scalars())


def _give_back(ids: list[int], worker: str) -> None:
    db.session.connection().execute(_GIVE_BACK, {"held_ids": ids, "held_by": worker})
    db.session.commit()


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
    """Run one claimed job (see `run_batch`); a job no longer running is left alone."""
    job = db.session.get(Job, job_id)
    if job is None or job.status is not JobStatus.RUNNING:
        return JobStatus.DONE if job is None else job.status
    claimed = Claimed(job.id, job.kind, job.payload, job.request_id)
    worker = job.worker or ""
    statuses: list[JobStatus] = []
    run_batch([claimed], worker, lambda _id, status: statuses.append(status))
    return statuses[0] if statuses else _status(job_id)


def run_batch(
    batch: list[Claimed],
    worker: str,
    report: Callable[[int, JobStatus], None] | None = None,
) -> None:
    """Run claimed jobs one after the other, each on its own, and `report` each outcome.

    A handler's changes and its job's `done` commit together, in one transaction per job;
    a failure rolls back that job's changes only, and is recorded for it alone (retry with
    backoff, or dead). A handler that leaves nothing to commit (it did not use the session,
    or committed its own work) has its `done` written with the other such jobs of the
    batch, in one UPDATE at the end. Until then, as when its worker dies, the job is still
    `running` under its lease: run again after the lease, its attempt counted, as any job
    whose worker dies before its `done` is committed (handlers are idempotent).
    The jobs not started when the worker is asked to stop, or when half the lease has gone
    by, go back to the queue as they were.
    """
    started = time.monotonic()
    half_lease = float(current_app.config["JOBS_LEASE_SECONDS"]) / 2
    unsaved: list[tuple[Claimed, float]] = []  # run, its `done` not written yet
    for index, job in enumerate(batch):
        if index and (_Stop.requested or time.monotonic() - started > half_lease):
            _give_back([left.id for left in batch[index:]], worker)
            break
        with logs.log_context(job_id=job.id, job_kind=job.kind, request_id=job.request_id):
            began = time.perf_counter()
            status = _run(job, worker)
            if status is None:
                unsaved.append((job, time.perf_counter() - began))
            else:
                _report(job, status, time.perf_counter() - began, report)
    if unsaved:
        done = _mark_done([job.id for job, _ in unsaved], worker)
        db.session.commit()
        for job, seconds in unsaved:
            status = JobStatus.DONE if job.id in done else _status(job.id)
            _report(job, status, seconds, report)


def _run(job: Claimed, worker: str) -> JobStatus | None:
    """Run `job`'s handler; None when it is done but has nothing of its own to commit."""
    registered = HANDLERS.get(job.kind)
    try:
        if registered is None:
            raise LookupError(f"aucun traitement pour les tâches « {job.kind} »")
        registered.run(dict(job.payload))
        session = db.session()
        if not session.in_transaction() and not session.dirty:
            return None
        if job.id not in _mark_done([job.id], worker):
            db.session.rollback()  # no longer this worker's: its changes are not kept
            return _status(job.id)
        db.session.commit()
        return JobStatus.DONE
    except Exception as error:  # noqa: BLE001 - any failure of a handler is recorded
        db.session.rollback()
        failed = db.session.get(Job, job.id)
        assert failed is not None  # noqa: S101 - it was there before the rollback
        if failed.status is not JobStatus.RUNNING or failed.worker != worker:
            db.session.commit()
            return failed.status  # taken back meanwhile: its failure is not this run's to record
        expected = isinstance(error, RetryLater | GiveUp)
        message = str(error) if expected else f"{type(error).__name__}: {error}"
        if not expected:
            current_app.logger.exception("Job %s (%s) failed", job.id, job.kind)
        _failed(failed, message, give_up=isinstance(error, GiveUp))
        db.session.commit()
        return failed.status


def _status(job_id: int) -> JobStatus:
    """The status of a job this worker no longer holds (another worker's now, or gone)."""
    found = db.session.scalar(select(Job.status).where(Job.id == job_id))
    db.session.commit()
    return found or JobStatus.DONE


def _report(
    job: Claimed,
    status: JobStatus,
    seconds: float,
    report: Callable[[int, JobStatus], None] | None,
) -> None:
    fields = {"job_id": job.id, "job_kind": job.kind, "request_id": job.request_id}
    extra = {**fields, "job_status": status.value, "duration_ms": round(seconds * 1000, 1)}
    job_logger.info("Job %s (%s): %s", job.id, job.kind, status.value, extra=extra)
    if report is not None:
        report(job.id, status)


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
    batch_size = max(int(current_app.config["JOBS_BATCH_SIZE"]), 1)
    done = 0
    last_reclaim = 0.0
    reclaim_every = float(current_app.config["JOBS_RECLAIM_EVERY_SECONDS"])
    outage = 0  # failed attempts in a row to reach the database

    def ran(job_id: int, status: JobStatus) -> None:
        nonlocal done
        done += 1
        if on_job is not None:
            on_job(job_id, status)

    try:
        while not _Stop.requested and (max_jobs is None or done < max_jobs):
            batch: list[Claimed] = []
            try:
                if time.monotonic() - last_reclaim > reclaim_every:
                    reclaim_expired()
                    last_reclaim = time.monotonic()
                if tick is not None:
                    tick()
                size = batch_size if max_jobs is None else min(batch_size, max_jobs - done)
                batch = claim_batch(kinds, worker, size)
                if batch:
                    run_batch(batch, worker, ran)
            except DATABASE_GONE as error:
                if once:
                    raise
                outage += 1
                wait_for_database(error, outage)
                continue
            if outage:
                current_app.logger.warning("Database reachable again: worker %s resumes", worker)
                outage = 0
            if not batch:
                _idle()
                if once:
                    break
                time.sleep(poll_seconds)
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
