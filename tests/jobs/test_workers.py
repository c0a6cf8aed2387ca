"""Real workers in parallel (PostgreSQL): separate processes running `flask jobs work`
on the same table, one of them killed with SIGKILL in the middle of a job; workers and
a scheduler that lose the database for a while and go on."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url

from app.core import jobs
from app.core.jobs import Job, JobStatus
from app.extensions import db
from config import BASE_DIR
from tests.conftest import DATABASE_URL, requires_postgres
from tests.jobs import worker
from tests.tcp_proxy import TcpProxy

pytestmark = [requires_postgres, pytest.mark.committed]

JOBS = 1_000
TIMEOUT = 60


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    output: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def lines(self) -> list[str]:
        return self.output.read_text(encoding="utf-8").splitlines()

    def reported(self) -> dict[int, str]:
        """What `flask jobs work` printed: job id → status."""
        found = (re.fullmatch(r"job (\d+): (\w+)", line) for line in self.lines())
        return {int(m[1]): m[2] for m in found if m}


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start worker processes; any still running at the end is killed (by its pid)."""
    started: list[Worker] = []
    (tmp_path / "runs").mkdir()

    def start(name: str, *args: str, command: str = "work", **settings: str) -> Worker:
        env = {
            **os.environ,
            "TEST_DATABASE_URL": DATABASE_URL,
            "WORKER_LOG_DIR": str(tmp_path / "runs"),
            **settings,
        }
        output = tmp_path / f"{name}.out"
        with output.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "tests.jobs.worker:create_worker_app"]
                + ["jobs", command, *args],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(Worker(name, process, output))
        return started[-1]

    saved = dict(jobs.HANDLERS)
    worker.register()  # the test process enqueues these kinds
    try:
        yield start
    finally:
        jobs.HANDLERS.clear()
        jobs.HANDLERS.update(saved)
        for running in started:
            if running.process.poll() is None:
                running.process.kill()
                running.process.wait(timeout=10)


def runs(tmp_path: Path) -> dict[int, list[tuple[float, str, int]]]:
    """Every handler run each worker process logged: pid → [(time, event, n)]."""
    logged: dict[int, list[tuple[float, str, int]]] = {}
    for path in (tmp_path / "runs").glob("*.log"):
        lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
        complete = [parts for parts in lines if len(parts) == 3]  # one may be half-written
        logged[int(path.stem)] = [(float(t), event, int(n)) for t, event, n in complete]
    return logged


def wait_for(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def job_row(app: Flask, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None
        db.session.expunge(job)
        return job


def test_two_workers_run_each_of_1000_jobs_exactly_once(
    committed: Flask, workers: Callable[..., Worker], tmp_path: Path
) -> None:
    with committed.app_context():
        for n in range(JOBS):
            jobs.enqueue(worker.RECORD, {"n": n}, key=f"test:record:{n}")
        db.session.commit()
        all_ids = set(db.session.scalars(sa.select(Job.id)))

    go = tmp_path / "go"
    pair = [
        workers(
            name,
            "--once",
            "--poll",
            "0.05",
            WORKER_READY_FILE=str(tmp_path / f"{name}.ready"),
            WORKER_GO_FILE=str(go),
        )
        for name in ("a", "b")
    ]
    wait_for(lambda: all((tmp_path / f"{w.name}.ready").exists() for w in pair), "workers")
    go.touch()  # both start claiming at once
    for each in pair:
        assert each.process.wait(timeout=TIMEOUT) == 0, each.output.read_text()

    a, b = (each.reported() for each in pair)
    assert a.keys().isdisjoint(b.keys())  # no job reported by both
    assert a.keys() | b.keys() == all_ids
    assert set(a.values()) | set(b.values()) == {"done"}
    assert a, "both workers took part"
    assert b, "both workers took part"
    done = "tâche traitée" if len(a) == 1 else "tâches traitées"
    assert pair[0].lines()[-1] == f"{len(a)} {done}."

    logged = runs(tmp_path)
    assert set(logged) == {w.pid for w in pair}
    started = Counter(n for events in logged.values() for _, event, n in events if event == "start")
    assert started == Counter(range(JOBS))  # every handler ran exactly once

    with committed.app_context():
        states = db.session.execute(
            sa.select(Job.status, Job.attempts, sa.func.count()).group_by(Job.status, Job.attempts)
        ).all()
        assert states == [(JobStatus.DONE, 1, JOBS)]


def test_a_killed_worker_s_job_is_reclaimed_after_its_lease_and_done_once(
    committed: Flask, workers: Callable[..., Worker], tmp_path: Path
) -> None:
    with committed.app_context():
        jobs.enqueue(worker.SLOW, {"n": 1}, key="test:slow")
        db.session.commit()
        job_id = db.session.scalar(sa.select(Job.id).where(Job.key == "test:slow"))
    assert job_id is not None

    first = workers("first", "--poll", "0.05", WORKER_SLEEP_SECONDS="60", WORKER_LEASE_SECONDS="2")
    wait_for(lambda: runs(tmp_path).get(first.pid), "the first worker to start the job")
    running = job_row(committed, job_id)
    assert running.status is JobStatus.RUNNING
    assert running.worker is not None
    assert running.worker.endswith(f":{first.pid}")
    assert running.lease_expires_at is not None
    lease_end: datetime = running.lease_expires_at

    os.kill(first.pid, signal.SIGKILL)  # mid-job: no clean-up, no commit
    assert first.process.wait(timeout=10) == -signal.SIGKILL
    assert job_row(committed, job_id).status is JobStatus.RUNNING  # left behind

    second = workers(
        "second",
        "--poll",
        "0.05",
        WORKER_SLEEP_SECONDS="0",
        WORKER_RECLAIM_EVERY_SECONDS="0.1",
    )
    wait_for(lambda: job_row(committed, job_id).status is JobStatus.DONE, "the job to be done")
    second.process.send_signal(signal.SIGTERM)  # a clean stop
    assert second.process.wait(timeout=10) == 0, second.output.read_text()

    done = job_row(committed, job_id)
    assert done.attempts == 2  # the killed attempt counts
    assert done.worker is not None
    assert done.worker.endswith(f":{second.pid}")
    assert done.last_error is None
    assert done.lease_expires_at is None

    logged = runs(tmp_path)
    assert [event for _, event, _ in logged[first.pid]] == ["start"]
    assert [event for _, event, _ in logged[second.pid]] == ["start", "end"]
    restarted_at = logged[second.pid][0][0]
    assert restarted_at >= lease_end.timestamp()  # not taken back before its lease ended
    assert second.reported() == {job_id: "done"}
    assert second.lines()[-1] == "1 tâche traitée."


def test_a_worker_and_a_scheduler_wait_for_a_lost_database_then_go_on(
    committed: Flask, workers: Callable[..., Worker], tmp_path: Path
) -> None:
    """Their connections go through a relay: first PostgreSQL ends them
    (pg_terminate_backend), then the relay stops for a few seconds, as the database
    would in a restart, and starts again. Neither process exits; jobs queued after each
    blow are done."""
    database = make_url(DATABASE_URL)
    proxy = TcpProxy((database.host or "127.0.0.1", database.port or 5432))
    proxy.start()
    through = database.set(
        host="127.0.0.1", port=proxy.port, query={"application_name": "outage-test"}
    ).render_as_string(hide_password=False)

    def done(n: int) -> None:
        with committed.app_context():
            jobs.enqueue(worker.RECORD, {"n": n}, key=f"test:outage:{n}")
            db.session.commit()
            job_id = db.session.scalar(sa.select(Job.id).where(Job.key == f"test:outage:{n}"))
        wait_for(lambda: job_row(committed, job_id).status is JobStatus.DONE, f"job {n}")

    try:
        work = workers(
            "work", "--poll", "0.05", "--kinds", worker.RECORD, TEST_DATABASE_URL=through
        )
        scheduler = workers(
            "schedule", "--poll", "0.2", command="schedule", TEST_DATABASE_URL=through
        )
        done(1)

        with committed.app_context():
            ended = db.session.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'outage-test'"
                )
            )
            db.session.commit()
        assert ended  # at least the worker's connection
        done(2)

        proxy.stop()
        for each in (work, scheduler):
            wait_for(lambda each=each: "Database unreachable" in each.output.read_text(), each.name)
        time.sleep(3)  # a few more attempts, with backoff
        assert work.process.poll() is None, work.output.read_text()
        assert scheduler.process.poll() is None, scheduler.output.read_text()
        proxy.start()
        done(3)

        for each in (work, scheduler):
            each.process.send_signal(signal.SIGTERM)
            assert each.process.wait(timeout=TIMEOUT) == 0, each.output.read_text()
    finally:
        proxy.stop()
    output = work.output.read_text()
    assert "Database unreachable (attempt 2)" in output  # it tried again, and again
    assert "Database reachable again" in output
    assert sorted(n for _, event, n in sum(runs(tmp_path).values(), []) if event == "end") == [
        1,
        2,
        3,
    ]
