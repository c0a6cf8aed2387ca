"""Schedulers running the same period at once (PostgreSQL, real commits): threads with
their own sessions, then real processes running `flask jobs schedule --once` and
`flask jobs work --schedule --once` together; each period is enqueued, and run, once.
And the scheduler's loop stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.core import schedule
from app.core.jobs import Job, JobStatus
from app.extensions import db
from config import BASE_DIR
from tests.conftest import DATABASE_URL, requires_postgres
from tests.jobs.conftest import Clock
from tests.jobs.test_workers import TIMEOUT, Worker, wait_for

pytestmark = [requires_postgres, pytest.mark.committed]

NOW = "2026-12-06T09:00:00+00:00"  # 10:00 in Paris
NOW_MOMENT = datetime.fromisoformat(NOW)


def scheduled_jobs(app: Flask) -> list[tuple[str, JobStatus, int]]:
    """(key, status, attempts) of every job of the periodic tasks, committed."""
    with app.app_context():
        query = sa.select(Job.key, Job.status, Job.attempts).where(Job.kind == schedule.KIND)
        return sorted(
            (str(key), status, attempts) for key, status, attempts in db.session.execute(query)
        )


def expected_keys() -> list[str]:
    return sorted(task.key(task.period(NOW_MOMENT)) for task in schedule.TASKS.values())


def test_schedulers_in_parallel_sessions_enqueue_each_period_once(
    committed: Flask, clock: Clock
) -> None:
    clock.now = NOW_MOMENT
    count = 4
    barrier = threading.Barrier(count, timeout=30)
    enqueued: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one_scheduler() -> None:
        with committed.app_context():
            try:
                barrier.wait()
                mine = schedule.enqueue_due()
                time.sleep(0.2)  # the others insert the same keys while this one holds them
                db.session.commit()
            except BaseException as error:  # reported by the test
                db.session.rollback()
                with lock:
                    errors.append(error)
            else:
                with lock:
                    enqueued.extend(task.key(period) for task, period in mine)

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(lambda _: one_scheduler(), range(count)))

    assert errors == []
    assert sorted(enqueued) == expected_keys()  # each reported by one scheduler
    assert [key for key, _, _ in scheduled_jobs(committed)] == expected_keys()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start `flask jobs …` processes of the test app, the scheduler's clock at NOW; any
    still running at the end is killed (by its pid)."""
    started: list[Worker] = []
    (tmp_path / "runs").mkdir()

    def start(name: str, *args: str, **settings: str) -> Worker:
        env = {
            **os.environ,
            "TEST_DATABASE_URL": DATABASE_URL,
            "WORKER_LOG_DIR": str(tmp_path / "runs"),
            "WORKER_NOW": NOW,
            **settings,
        }
        output = tmp_path / f"{name}.out"
        with output.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "tests.jobs.worker:create_worker_app"]
                + ["jobs", *args],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(Worker(name, process, output))
        return started[-1]

    try:
        yield start
    finally:
        for running in started:
            if running.process.poll() is None:
                running.process.kill()
                running.process.wait(timeout=10)


def start_together(
    start: Callable[..., Worker], tmp_path: Path, *args: str
) -> tuple[Worker, Worker]:
    go = tmp_path / "go"
    pair = tuple(
        start(
            name, *args, WORKER_READY_FILE=str(tmp_path / f"{name}.ready"), WORKER_GO_FILE=str(go)
        )
        for name in ("a", "b")
    )
    wait_for(lambda: all((tmp_path / f"{p.name}.ready").exists() for p in pair), "both ready")
    go.touch()  # both pass at once
    for each in pair:
        assert each.process.wait(timeout=TIMEOUT) == 0, each.output.read_text()
    return pair  # type: ignore[return-value]


def test_two_scheduler_processes_at_once_enqueue_each_period_once(
    committed: Flask, processes: Callable[..., Worker], tmp_path: Path
) -> None:
    a, b = start_together(processes, tmp_path, "schedule", "--once")

    reported = [line for each in (a, b) for line in each.lines() if line.endswith(" mise en file.")]
    assert len(reported) == len(schedule.TASKS)  # each period reported by one of them
    totals = sorted(int(each.lines()[-1].split()[0]) for each in (a, b))
    assert sum(totals) == len(schedule.TASKS)
    assert scheduled_jobs(committed) == [(key, JobStatus.QUEUED, 0) for key in expected_keys()]


def test_two_workers_that_schedule_run_each_period_once(
    committed: Flask, processes: Callable[..., Worker], tmp_path: Path
) -> None:
    a, b = start_together(processes, tmp_path, "work", "--schedule", "--once", "--poll", "0.05")

    ran = [line for each in (a, b) for line in each.lines() if line.startswith("job ")]
    assert len(ran) == len(schedule.TASKS)
    assert all(line.endswith(": done") for line in ran)
    assert scheduled_jobs(committed) == [(key, JobStatus.DONE, 1) for key in expected_keys()]


def test_the_scheduler_stops_cleanly_on_sigterm(
    committed: Flask, processes: Callable[..., Worker]
) -> None:
    scheduler = processes("scheduler", "schedule", "--poll", "60")
    wait_for(
        lambda: len(scheduled_jobs(committed)) == len(schedule.TASKS), "the first pass", timeout=30
    )

    scheduler.process.send_signal(signal.SIGTERM)  # while it waits for the next period

    assert scheduler.process.wait(timeout=10) == 0, scheduler.output.read_text()
    assert scheduler.lines()[-1] == f"{len(schedule.TASKS)} périodes mises en file."
