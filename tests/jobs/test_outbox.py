"""The jobs outbox in one session: enqueue with the change, retries with backoff, dead
jobs, leases reclaimed, the worker loop and `flask jobs work`."""

from __future__ import annotations

import logging
from datetime import timedelta

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
from tests.jobs.conftest import FAILING, LATER, OK, OTHER, Calls, count_jobs, job_by_key

pytestmark = pytest.mark.usefixtures("jobs_config")


def claim_and_run(kinds: list[str] | None = None) -> tuple[int, JobStatus]:
    job_id = jobs.claim(kinds)
    assert job_id is not None, "no job ready"
    return job_id, jobs.run(job_id)


def make_ready(job_id: int) -> None:
    """Skip the backoff wait: the job is ready now."""
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_after=utcnow()))
    db.session.commit()


def expire_lease(job_id: int) -> None:
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(lease_expires_at=past))
    db.session.commit()


# --- enqueue ----------------------------------------------------------------------------------


def test_a_job_exists_only_if_its_transaction_commits(session: Session, handlers: Calls) -> None:
    factories.VendorFactory(legal_name="Éditions Annulées SAS")
    jobs.enqueue(OK, {"n": 1}, key="test:rolled-back")
    assert count_jobs(key="test:rolled-back") == 1

    db.session.rollback()

    assert count_jobs() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 0
    assert jobs.claim() is None
    assert handlers.runs == []


def test_a_committed_job_is_queued_with_its_settings(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 1}, key="test:committed")
    db.session.commit()

    job = job_by_key("test:committed")
    assert job.status is JobStatus.QUEUED
    assert (job.kind, job.payload, job.attempts, job.max_attempts) == (OK, {"n": 1}, 0, 3)
    assert job.run_after <= utcnow()


def test_the_same_key_twice_gives_one_job(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 1}, key="test:same")
    jobs.enqueue(OK, {"n": 2}, key="test:same")
    db.session.commit()

    assert count_jobs(key="test:same") == 1
    assert job_by_key("test:same").payload == {"n": 1}


def test_jobs_without_a_key_are_all_kept(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 1})
    jobs.enqueue(OK, {"n": 1})

    assert count_jobs(kind=OK) == 2


def test_an_unknown_kind_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown job kind"):
        jobs.enqueue("test_nobody_handles_this", {})


def test_a_delayed_job_waits_for_its_time(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 1}, key="test:later", delay=timedelta(minutes=5))

    assert jobs.claim() is None
    make_ready(job_by_key("test:later").id)
    assert claim_and_run() == (job_by_key("test:later").id, JobStatus.DONE)


# --- running, retrying, dying -------------------------------------------------------------------


def test_a_done_job_records_its_run(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 7}, key="test:ok")

    job_id, status = claim_and_run()

    assert status is JobStatus.DONE
    job = db.session.get(Job, job_id)
    assert job is not None
    assert (job.status, job.attempts, job.last_error, job.lease_expires_at) == (
        JobStatus.DONE,
        1,
        None,
        None,
    )
    assert job.finished_at is not None
    assert handlers.of(OK) == [{"n": 7}]
    assert jobs.claim() is None  # a done job is not run again


def test_a_claimed_job_holds_a_lease(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 1}, key="test:lease")
    before = utcnow()

    job_id = jobs.claim(worker="machine:42")

    job = db.session.get(Job, job_id)
    assert job is not None
    assert (job.status, job.attempts, job.worker) == (JobStatus.RUNNING, 1, "machine:42")
    assert job.lease_expires_at is not None
    assert (
        before + timedelta(seconds=300) <= job.lease_expires_at <= utcnow() + timedelta(seconds=300)
    )
    assert jobs.claim() is None  # nobody else gets it


def test_a_failing_job_is_retried_with_backoff_then_dies(
    session: Session, handlers: Calls, caplog: pytest.LogCaptureFixture
) -> None:
    jobs.enqueue(FAILING, {"n": 1}, key="test:failing")
    job_id = job_by_key("test:failing").id

    # Attempt 1: queued again, 10 s × [0.5, 1.5) later.
    before = utcnow()
    assert claim_and_run() == (job_id, JobStatus.QUEUED)
    job = job_by_key("test:failing")
    assert (job.attempts, job.last_error, job.lease_expires_at) == (1, "RuntimeError: boom", None)
    assert before + timedelta(seconds=5) <= job.run_after < utcnow() + timedelta(seconds=15)
    assert jobs.claim() is None  # not before its time

    # Attempt 2: the delay doubles (20 s × [0.5, 1.5)).
    make_ready(job_id)
    before = utcnow()
    assert claim_and_run() == (job_id, JobStatus.QUEUED)
    job = job_by_key("test:failing")
    assert job.attempts == 2
    assert before + timedelta(seconds=10) <= job.run_after < utcnow() + timedelta(seconds=30)
    assert handlers.dead == []

    # Attempt 3 of 3: dead, and the handler is told once.
    make_ready(job_id)
    assert claim_and_run() == (job_id, JobStatus.DEAD)
    job = job_by_key("test:failing")
    assert (job.status, job.attempts, job.last_error) == (JobStatus.DEAD, 3, "RuntimeError: boom")
    assert job.finished_at is not None
    assert handlers.dead == [({"n": 1}, "RuntimeError: boom")]
    assert len(handlers.of(FAILING)) == 3
    assert [j.id for j in jobs.dead_jobs()] == [job_id]
    assert jobs.claim() is None  # a dead job waits for an admin

    # Each unexpected failure was logged with its traceback.
    failures = [
        r for r in caplog.records if r.getMessage() == f"Job {job_id} (test_failing) failed"
    ]
    assert len(failures) == 3
    assert all(r.exc_info and r.exc_info[0] is RuntimeError for r in failures)


def test_retry_later_is_retried_without_an_exception_in_the_logs(
    session: Session, handlers: Calls, caplog: pytest.LogCaptureFixture, app: Flask
) -> None:
    app.config["JOBS_BACKOFF_SECONDS"] = 0  # jobs_config restores it
    jobs.enqueue(LATER, {"n": 1}, key="test:later")

    assert jobs.work(once=True) == 3

    job = job_by_key("test:later")
    assert (job.status, job.attempts) == (JobStatus.DEAD, 3)
    assert job.last_error == "Le serveur de l'éditeur ne répond pas."  # its message, no type
    assert handlers.dead == [({"n": 1}, "Le serveur de l'éditeur ne répond pas.")]
    assert [r for r in caplog.records if r.exc_info] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_backoff_grows_exponentially_with_jitter_up_to_its_cap(app: Flask) -> None:
    with app.app_context():
        for attempts, base in [(0, 10), (1, 10), (2, 20), (3, 40), (4, 80)]:
            delays = {jobs.backoff(attempts).total_seconds() for _ in range(50)}
            assert all(base * 0.5 <= d < base * 1.5 for d in delays), (attempts, delays)
            assert len(delays) > 1  # jittered
        assert all(1800 <= jobs.backoff(30).total_seconds() < 5400 for _ in range(50))


def test_a_job_without_handler_fails_and_is_recorded(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 1}, key="test:orphan")
    del jobs.HANDLERS[OK]  # e.g. a worker of an older release

    _, status = claim_and_run()

    assert status is JobStatus.QUEUED
    assert "aucun traitement pour les tâches « test_ok »" in (
        job_by_key("test:orphan").last_error or ""
    )


def test_a_failed_run_leaves_no_change_of_the_handler(
    session: Session, handlers: Calls, app: Flask
) -> None:
    @jobs.handler("test_half_done")
    def half_done(payload: dict[str, object]) -> None:
        factories.VendorFactory(legal_name="Éditions À Moitié SAS")
        raise RuntimeError("after the change")

    jobs.enqueue("test_half_done", {}, key="test:half")

    assert claim_and_run()[1] is JobStatus.QUEUED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 0


# --- leases -----------------------------------------------------------------------------------


def test_an_expired_lease_puts_the_job_back_in_the_queue(session: Session, handlers: Calls) -> None:
    jobs.enqueue(OK, {"n": 1}, key="test:lost")
    jobs.enqueue(OK, {"n": 2}, key="test:alive")
    lost, alive = jobs.claim(), jobs.claim()
    assert lost is not None
    assert alive is not None
    expire_lease(lost)
    before = utcnow()

    assert jobs.reclaim_expired() == 1

    job = job_by_key("test:lost")
    assert job.status is JobStatus.QUEUED
    assert job.attempts == 1  # the lost attempt counts
    assert job.lease_expires_at is None
    assert job.last_error == "Le traitement a été interrompu (délai dépassé) : il sera relancé."
    assert job.run_after >= before + timedelta(seconds=5)
    assert job_by_key("test:alive").status is JobStatus.RUNNING  # its lease still runs
    assert jobs.reclaim_expired() == 0

    # The worker that lost it no longer runs it; the next claim does.
    assert jobs.run(lost) is JobStatus.QUEUED
    assert handlers.runs == []
    make_ready(lost)
    assert claim_and_run() == (lost, JobStatus.DONE)
    assert job_by_key("test:lost").attempts == 2


def test_an_expired_lease_on_the_last_attempt_kills_the_job(
    session: Session, handlers: Calls, app: Flask
) -> None:
    app.config["JOBS_MAX_ATTEMPTS"] = 1
    jobs.enqueue(FAILING, {"n": 9}, key="test:last")
    job_id = jobs.claim()
    assert job_id is not None
    expire_lease(job_id)

    assert jobs.reclaim_expired() == 1

    job = job_by_key("test:last")
    assert (job.status, job.attempts) == (JobStatus.DEAD, 1)
    assert job.finished_at is not None
    message = "Le traitement a été interrompu (délai dépassé) : il sera relancé."
    assert handlers.dead == [({"n": 9}, message)]
    assert handlers.runs == []


# --- the worker loop --------------------------------------------------------------------------


def test_work_once_drains_the_ready_jobs_and_stops(session: Session, handlers: Calls) -> None:
    for n in range(5):
        jobs.enqueue(OK, {"n": n}, key=f"test:drain:{n}")
    jobs.enqueue(OK, {"n": 99}, key="test:drain:later", delay=timedelta(hours=1))
    seen: list[tuple[int, JobStatus]] = []

    assert jobs.work(once=True, on_job=lambda job_id, status: seen.append((job_id, status))) == 5

    assert sorted(p["n"] for p in handlers.of(OK)) == [0, 1, 2, 3, 4]
    assert [status for _, status in seen] == [JobStatus.DONE] * 5
    assert len({job_id for job_id, _ in seen}) == 5
    assert count_jobs(status=JobStatus.DONE) == 5
    assert job_by_key("test:drain:later").status is JobStatus.QUEUED
    assert jobs.work(once=True) == 0


def test_work_stops_after_max_jobs(session: Session, handlers: Calls) -> None:
    for n in range(4):
        jobs.enqueue(OK, {"n": n}, key=f"test:max:{n}")

    assert jobs.work(once=True, max_jobs=3) == 3
    assert count_jobs(status=JobStatus.QUEUED) == 1


def test_work_runs_only_the_kinds_asked(session: Session, handlers: Calls) -> None:
    for n in range(2):
        jobs.enqueue(OK, {"n": n}, key=f"test:kind-ok:{n}")
        jobs.enqueue(OTHER, {"n": n}, key=f"test:kind-other:{n}")

    assert jobs.work(once=True, kinds=[OTHER]) == 2

    assert [kind for kind, _ in handlers.runs] == [OTHER, OTHER]
    assert count_jobs(kind=OK, status=JobStatus.QUEUED) == 2


def test_work_reclaims_expired_leases_before_claiming(
    session: Session, handlers: Calls, app: Flask
) -> None:
    app.config["JOBS_BACKOFF_SECONDS"] = 0
    jobs.enqueue(OK, {"n": 1}, key="test:orphaned")
    job_id = jobs.claim()
    assert job_id is not None
    expire_lease(job_id)

    assert jobs.work(once=True) == 1

    assert job_by_key("test:orphaned").status is JobStatus.DONE
    assert job_by_key("test:orphaned").attempts == 2


def test_a_stop_request_ends_the_loop(
    session: Session, handlers: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs.enqueue(OK, {"n": 1}, key="test:stopped")
    monkeypatch.setattr(jobs._Stop, "requested", True)

    assert jobs.work() == 0  # returns at once, though not `once`
    assert handlers.runs == []


@pytest.mark.usefixtures("kept_signals")
def test_the_cli_works_on_the_kinds_given(session: Session, handlers: Calls, app: Flask) -> None:
    for n in range(2):
        jobs.enqueue(OK, {"n": n}, key=f"test:cli-ok:{n}")
        jobs.enqueue(OTHER, {"n": n}, key=f"test:cli-other:{n}")
    jobs.enqueue(FAILING, {"n": 0}, key="test:cli-failing")
    ids = {key: job_by_key(key).id for key in ("test:cli-ok:0", "test:cli-ok:1")}

    result = app.test_cli_runner().invoke(
        args=["jobs", "work", "--once", "--kinds", f" {OK} , {FAILING}"]
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"job {ids['test:cli-ok:0']}: done" in lines
    assert f"job {ids['test:cli-ok:1']}: done" in lines
    assert f"job {job_by_key('test:cli-failing').id}: queued" in lines
    assert lines[-1] == "3 tâches traitées."
    assert count_jobs(kind=OTHER, status=JobStatus.QUEUED) == 2
    assert handlers.of(OTHER) == []
