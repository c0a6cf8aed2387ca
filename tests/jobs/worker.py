"""A worker process for the tests: the test app, plus handlers that log each run to a file.

`test_workers.py` starts real workers with the real command::

    python -m flask --app tests.jobs.worker:create_worker_app jobs work …

set up by environment variables: ``TEST_DATABASE_URL``; ``WORKER_LOG_DIR`` (each process
appends ``<time> start|end <n>`` lines to ``<pid>.log`` there); ``WORKER_SLEEP_SECONDS``
(how long a SLOW job takes); ``WORKER_LEASE_SECONDS``; ``WORKER_RECLAIM_EVERY_SECONDS``;
``WORKER_READY_FILE`` and ``WORKER_GO_FILE`` (the worker says it is ready, then waits
for the go, so that several workers start at once); ``WORKER_NOW`` (an ISO moment the
scheduler of periodic tasks takes for now, so that processes agree on the period).

The workers commit with ``synchronous_commit=off``: a commit returns before the WAL
reaches the disk. Locks, isolation and what other sessions see are unchanged (only a
server crash could lose the last commits), and the 1,000 jobs take seconds, not tens.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from app import create_app
from app.core import jobs, schedule

RECORD = "test_record"  # logs its run
SLOW = "test_slow"  # logs its start, sleeps WORKER_SLEEP_SECONDS, logs its end


def log(event: str, payload: dict[str, Any]) -> None:
    path = Path(os.environ["WORKER_LOG_DIR"]) / f"{os.getpid()}.log"
    with path.open("a", encoding="utf-8") as file:
        file.write(f"{time.time():.6f} {event} {payload['n']}\n")


def record(payload: dict[str, Any]) -> None:
    log("start", payload)
    log("end", payload)


def slow(payload: dict[str, Any]) -> None:
    log("start", payload)
    time.sleep(float(os.environ.get("WORKER_SLEEP_SECONDS", "0")))
    log("end", payload)


def register() -> None:
    jobs.handler(RECORD)(record)
    jobs.handler(SLOW)(slow)


def create_worker_app() -> Flask:
    env = os.environ
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=env["TEST_DATABASE_URL"],
        JOBS_LEASE_SECONDS=float(env.get("WORKER_LEASE_SECONDS", "300")),
        JOBS_RECLAIM_EVERY_SECONDS=float(env.get("WORKER_RECLAIM_EVERY_SECONDS", "30")),
        JOBS_BACKOFF_SECONDS=0,
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": True,
            "connect_args": {"options": "-c synchronous_commit=off"},
        },
    )
    register()
    if env.get("WORKER_NOW"):
        fixed = datetime.fromisoformat(env["WORKER_NOW"])
        schedule.utcnow = lambda: fixed  # type: ignore[assignment]
    if env.get("WORKER_GO_FILE"):
        Path(env["WORKER_READY_FILE"]).touch()
        go = Path(env["WORKER_GO_FILE"])
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    return app
