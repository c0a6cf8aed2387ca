"""Workers claim jobs by batches: one statement claims a batch, one marks done the jobs
whose handlers left nothing to commit, whatever the batch's size; each job still fails,
retries and dies on its own; a crash before `done` still means a retry after the lease."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.core import jobs
from app.core.db import utcnow
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.vendors.models import Vendor
from tests import factories
from tests.helpers import count_statements
from tests.jobs.conftest import FAILING, OK, Calls, count_jobs, job_by_key

pytestmark = pytest.mark.usefixtures("jobs_config")

WORKER = "machine:7"
INTERRUPTED = "Le traitement a été interrompu (délai dépassé) : il sera relancé."


def enqueue_ok(count: int, prefix: str = "batch") -> list[int]:
    for n in range(count):
        jobs.enqueue(OK, {"n": n}, key=f"test:{prefix}:{n}")
    db.session.commit()
    return [job_by_key(f"test:{prefix}:{n}").id for n in range(count)]


def statuses(ids: list[int]) -> list[tuple[JobStatus, int]]:
    rows = db.session.execute(
        sa.select(Job.id, Job.status, Job.attempts).where(Job.id.in_(ids)).order_by(Job.id)
    ).all()
    return [(status, attempts) for _, status, attempts in rows]


def make_ready(job_id: int) -> None:
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_after=utcnow()))
    db.session.commit()


def expire_leases() -> None:
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(
        sa.update(Job).where(Job.status == JobStatus.RUNNING).values(lease_expires_at=past)
    )
    db.session.commit()


class Crash(BaseException):
    """The worker dies here (no handler, no clean-up catches it)."""


# --- claiming -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 10])
def test_a_batch_is_claimed_in_one_statement_whatever_its_size(
    session: Session, handlers: Calls, size: int
) -> None:
    ids = enqueue_ok(12)

    with count_statements() as sent:
        batch = jobs.claim_batch(worker=WORKER, size=size)

    assert len(sent) == 1, str(sent)
    assert [job.id for job in batch] == ids[:size]  # the oldest first, no more than asked
    assert [(job.kind, job.payload) for job in batch] == [(OK, {"n": n}) for n in range(size)]
    assert statuses(ids) == [(JobStatus.RUNNING, 1)] * size + [(JobStatus.QUEUED, 0)] * (12 - size)
    leases = {job_by_key(f"test:batch:{n}").lease_expires_at for n in range(size)}
    assert len(leases) == 1  # one lease for the batch
    assert {job_by_key(f"test:batch:{n}").worker for n in range(size)} == {WORKER}
    assert [job.id for job in jobs.claim_batch(size=100)] == ids[size:]  # not taken twice


def test_a_batch_takes_only_the_kinds_asked_and_the_ready_jobs(
    session: Session, handlers: Calls
) -> None:
    ids = enqueue_ok(2)
    jobs.enqueue(FAILING, {"n": 9}, key="test:batch:other-kind")
    jobs.enqueue(OK, {"n": 8}, key="test:batch:later", delay=timedelta(minutes=5))

    batch = jobs.claim_batch([OK], WORKER, size=10)

    assert [job.id for job in batch] == ids
    assert job_by_key("test:batch:other-kind").status is JobStatus.QUEUED
    assert job_by_key("test:batch:later").status is JobStatus.QUEUED


# --- completing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 4, 10])
def test_a_batch_whose_handlers_leave_nothing_to_commit_is_done_in_one_statement(
    session: Session, handlers: Calls, size: int
) -> None:
    ids = enqueue_ok(size)
    batch = jobs.claim_batch(worker=WORKER, size=size)
    reported: list[tuple[int, JobStatus]] = []

    with count_statements() as sent:
        jobs.run_batch(batch, WORKER, lambda job_id, status: reported.append((job_id, status)))

    assert len(sent) == 1, str(sent)
    assert reported == [(job_id, JobStatus.DONE) for job_id in ids]
    assert statuses(ids) == [(JobStatus.DONE, 1)] * size
    assert handlers.of(OK) == [{"n": n} for n in range(size)]
    done = job_by_key("test:batch:0")
    assert (done.last_error, done.lease_expires_at) == (None, None)
    assert done.finished_at is not None


@pytest.mark.parametrize("size", [3, 10])
def test_a_worker_s_pass_costs_the_same_statements_for_any_number_of_jobs(
    session: Session, handlers: Calls, app: Flask, size: int
) -> None:
    app.config["JOBS_BATCH_SIZE"] = size
    enqueue_ok(size)

    with count_statements() as sent:
        assert jobs.work(once=True) == size

    # The lease check, the claim, the batch's `done`, the claim that finds nothing.
    assert len(sent) == 4, str(sent)
    assert count_jobs(status=JobStatus.DONE) == size


def test_a_handler_s_changes_and_its_done_commit_together_job_by_job(
    session: Session, handlers: Calls
) -> None:
    @jobs.handler("test_writes")
    def writes(payload: dict[str, Any]) -> None:
        factories.VendorFactory(legal_name=f"Éditions {payload['n']} SAS")

    for n in range(3):
        jobs.enqueue("test_writes", {"n": n}, key=f"test:writes:{n}")
    db.session.commit()
    batch = jobs.claim_batch(worker=WORKER, size=3)
    vendor_statements: list[int] = []
    for job in batch:
        with count_statements() as sent:
            jobs.run_batch([job], WORKER)
        vendor_statements.append(sum("vendor" in statement for statement in sent))
        # The handler's statements, then one UPDATE of its own job, nothing else.
        assert sum("UPDATE job" in statement for statement in sent) == 1, str(sent)
        assert len(sent) == vendor_statements[-1] + 1, str(sent)

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 3
    assert count_jobs(kind="test_writes", status=JobStatus.DONE) == 3


# --- failures, one job at a time ------------------------------------------------------------------


def test_one_failing_job_of_a_batch_is_retried_alone(session: Session, handlers: Calls) -> None:
    first = enqueue_ok(1, "before")[0]
    jobs.enqueue(FAILING, {"n": 1}, key="test:batch:failing")
    db.session.commit()
    failing = job_by_key("test:batch:failing").id
    last = enqueue_ok(1, "after")[0]
    before = utcnow()

    batch = jobs.claim_batch(worker=WORKER, size=10)
    reported: list[tuple[int, JobStatus]] = []
    jobs.run_batch(batch, WORKER, lambda job_id, status: reported.append((job_id, status)))

    assert [job.id for job in batch] == [first, failing, last]
    assert sorted(reported) == [
        (first, JobStatus.DONE),
        (failing, JobStatus.QUEUED),
        (last, JobStatus.DONE),
    ]
    assert statuses([first, last]) == [(JobStatus.DONE, 1)] * 2
    job = job_by_key("test:batch:failing")
    assert (job.status, job.attempts, job.last_error) == (JobStatus.QUEUED, 1, "RuntimeError: boom")
    assert job.lease_expires_at is None
    assert before + timedelta(seconds=5) <= job.run_after < utcnow() + timedelta(seconds=15)

    # Only the failing job runs again, once ready; the others are not run twice.
    assert jobs.work(once=True) == 0
    make_ready(failing)
    handlers.broken = False
    assert jobs.work(once=True) == 1
    assert statuses([first, failing, last]) == [
        (JobStatus.DONE, 1),
        (JobStatus.DONE, 2),
        (JobStatus.DONE, 1),
    ]
    assert [p["n"] for p in handlers.of(OK)] == [0, 0]
    assert len(handlers.of(FAILING)) == 2


def test_a_failing_handler_s_changes_are_rolled_back_not_its_neighbours(
    session: Session, handlers: Calls
) -> None:
    @jobs.handler("test_writes_then_maybe_fails")
    def writes(payload: dict[str, Any]) -> None:
        factories.VendorFactory(legal_name=f"Éditions {payload['n']} SAS")
        if payload["n"] == 1:
            raise RuntimeError("after the change")

    for n in range(3):
        jobs.enqueue("test_writes_then_maybe_fails", {"n": n}, key=f"test:half:{n}")
    db.session.commit()

    jobs.run_batch(jobs.claim_batch(worker=WORKER, size=3), WORKER)

    names = db.session.scalars(sa.select(Vendor.legal_name).order_by(Vendor.legal_name)).all()
    assert names == ["Éditions 0 SAS", "Éditions 2 SAS"]
    assert [job_by_key(f"test:half:{n}").status for n in range(3)] == [
        JobStatus.DONE,
        JobStatus.QUEUED,
        JobStatus.DONE,
    ]


# --- crashes, stops, leases ---------------------------------------------------------------------


def test_a_handler_that_committed_its_work_is_run_again_when_its_done_is_lost(
    session: Session, handlers: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At least once: the worker dies after the handler committed its own work, before
    the job's `done`; the job is reclaimed after its lease, the attempt counted, and run
    again (handlers are idempotent)."""
    made: list[int] = []

    @jobs.handler("test_commits")
    def commits(payload: dict[str, Any]) -> None:
        if not db.session.scalar(
            sa.select(Vendor.id).where(Vendor.legal_name == "Éditions Une SAS")
        ):
            made.append(factories.VendorFactory(legal_name="Éditions Une SAS").id)
        db.session.commit()

    jobs.enqueue("test_commits", {}, key="test:commits")
    db.session.commit()

    def crash(*_args: object) -> set[int]:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(jobs, "_mark_done", crash)
        with pytest.raises(Crash):
            jobs.work(once=True)

    job = job_by_key("test:commits")
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)  # as left by a dead worker
    assert len(made) == 1  # its own work is committed
    assert jobs.work(once=True) == 0  # not before its lease ends

    expire_leases()
    assert jobs.reclaim_expired() == 1
    job = job_by_key("test:commits")
    assert (job.status, job.attempts, job.last_error) == (JobStatus.QUEUED, 1, INTERRUPTED)
    make_ready(job.id)
    assert jobs.work(once=True) == 1

    job = job_by_key("test:commits")
    assert (job.status, job.attempts, job.last_error) == (JobStatus.DONE, 2, None)
    assert len(made) == 1  # idempotent: the second run found the work done
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 1


def test_the_jobs_not_started_go_back_when_the_worker_is_asked_to_stop(
    session: Session, handlers: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = enqueue_ok(4)
    batch = jobs.claim_batch(worker=WORKER, size=4)

    def ok_then_stop(payload: dict[str, Any]) -> None:
        handlers.runs.append((OK, payload))
        monkeypatch.setattr(jobs._Stop, "requested", True)

    monkeypatch.setitem(jobs.HANDLERS, OK, jobs.Handler(OK, ok_then_stop))
    reported: list[int] = []
    jobs.run_batch(batch, WORKER, lambda job_id, _status: reported.append(job_id))

    assert reported == ids[:1]  # it finishes its current job, then stops
    assert statuses(ids) == [(JobStatus.DONE, 1)] + [(JobStatus.QUEUED, 0)] * 3
    assert job_by_key("test:batch:1").lease_expires_at is None
    monkeypatch.setattr(jobs._Stop, "requested", False)
    assert [job.id for job in jobs.claim_batch(size=10)] == ids[1:]  # ready at once


def test_past_half_its_lease_a_batch_gives_back_the_jobs_not_started(
    session: Session, handlers: Calls, app: Flask
) -> None:
    ids = enqueue_ok(3)
    batch = jobs.claim_batch(worker=WORKER, size=3)
    app.config["JOBS_LEASE_SECONDS"] = 0  # jobs_config restores it

    jobs.run_batch(batch, WORKER)

    assert statuses(ids) == [(JobStatus.DONE, 1), (JobStatus.QUEUED, 0), (JobStatus.QUEUED, 0)]
    assert handlers.of(OK) == [{"n": 0}]


def test_a_job_whose_lease_was_taken_back_is_not_marked_done_by_its_late_run(
    session: Session, handlers: Calls
) -> None:
    ids = enqueue_ok(2)
    batch = jobs.claim_batch(worker=WORKER, size=2)
    expire_leases()
    assert jobs.reclaim_expired() == 2
    make_ready(ids[0])
    taken = jobs.claim_batch(worker="machine:8", size=1)
    assert [job.id for job in taken] == ids[:1]
    reported: list[tuple[int, JobStatus]] = []

    jobs.run_batch(batch, WORKER, lambda job_id, status: reported.append((job_id, status)))

    assert reported == [(ids[0], JobStatus.RUNNING), (ids[1], JobStatus.QUEUED)]
    first, second = job_by_key("test:batch:0"), job_by_key("test:batch:1")
    assert (first.status, first.worker, first.attempts) == (JobStatus.RUNNING, "machine:8", 2)
    assert (second.status, second.attempts, second.last_error) == (
        JobStatus.QUEUED,
        1,
        INTERRUPTED,
    )


def test_a_late_failure_of_a_job_taken_back_is_not_recorded(
    session: Session, handlers: Calls
) -> None:
    jobs.enqueue(FAILING, {"n": 1}, key="test:batch:late-failure")
    db.session.commit()
    batch = jobs.claim_batch(worker=WORKER, size=1)
    expire_leases()
    assert jobs.reclaim_expired() == 1
    make_ready(batch[0].id)
    assert [job.id for job in jobs.claim_batch(worker="machine:8", size=1)] == [batch[0].id]

    reported: list[JobStatus] = []
    jobs.run_batch(batch, WORKER, lambda _id, status: reported.append(status))

    assert reported == [JobStatus.RUNNING]  # another worker's run now
    job = job_by_key("test:batch:late-failure")
    assert (job.status, job.worker, job.attempts) == (JobStatus.RUNNING, "machine:8", 2)
    assert job.last_error == INTERRUPTED  # not this late run's error
    assert job.lease_expires_at is not None
