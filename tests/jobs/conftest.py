"""Fixtures of the jobs tests: test-only handlers, small retry settings, signal handlers kept,
test-only periodic tasks and the scheduler's clock."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.core import jobs, schedule
from app.extensions import db

OK = "test_ok"
OTHER = "test_other"
FAILING = "test_failing"
LATER = "test_later"


@dataclass
class Calls:
    """What the test handlers saw: every run, every `on_dead`; `broken` makes FAILING fail."""

    runs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    dead: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    broken: bool = True

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [payload for ran, payload in self.runs if ran == kind]


@pytest.fixture
def handlers() -> Iterator[Calls]:
    """Register the test-only handlers; `jobs.HANDLERS` is put back as it was after."""
    saved = dict(jobs.HANDLERS)
    calls = Calls()

    def on_dead(payload: dict[str, Any], error: str) -> None:
        calls.dead.append((payload, error))

    @jobs.handler(OK)
    def ok(payload: dict[str, Any]) -> None:
        calls.runs.append((OK, payload))

    @jobs.handler(OTHER)
    def other(payload: dict[str, Any]) -> None:
        calls.runs.append((OTHER, payload))

    @jobs.handler(FAILING, on_dead=on_dead)
    def failing(payload: dict[str, Any]) -> None:
        calls.runs.append((FAILING, payload))
        if calls.broken:
            raise RuntimeError("boom")

    @jobs.handler(LATER, on_dead=on_dead)
    def later(payload: dict[str, Any]) -> None:
        calls.runs.append((LATER, payload))
        raise jobs.RetryLater("Le serveur de l'éditeur ne répond pas.")

    try:
        yield calls
    finally:
        jobs.HANDLERS.clear()
        jobs.HANDLERS.update(saved)


@pytest.fixture
def jobs_config(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Three attempts, a 10 s backoff base; the app's settings are restored after."""
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "JOBS_BACKOFF_SECONDS", 10)
    monkeypatch.setitem(app.config, "JOBS_BACKOFF_MAX_SECONDS", 3600)
    monkeypatch.setitem(app.config, "JOBS_LEASE_SECONDS", 300)
    return app


@pytest.fixture
def kept_signals() -> Iterator[None]:
    """`flask jobs work` installs SIGTERM/SIGINT handlers: give pytest its own back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, previous)
        jobs._Stop.requested = False


def job_by_key(key: str) -> jobs.Job:
    found = db.session.scalar(sa.select(jobs.Job).where(jobs.Job.key == key))
    assert found is not None, key
    return found


def count_jobs(**filters: Any) -> int:
    query = sa.select(sa.func.count()).select_from(jobs.Job).filter_by(**filters)
    return db.session.scalar(query) or 0


# --- periodic tasks (app/core/schedule.py) ----------------------------------------------------

DAILY = "test.daily"  # "0 6 * * *": every day at 6:00, Paris time
NIGHTLY = "test.nightly"  # "30 2 * * *": every day at 2:30, in the hour the clocks change


@pytest.fixture
def scheduled_tasks() -> Iterator[list[str]]:
    """Only two test tasks are declared, each run appending its name to the list yielded;
    the features' own tasks are put back after."""
    saved = dict(schedule.TASKS)
    schedule.TASKS.clear()
    ran: list[str] = []
    schedule.task(DAILY, "0 6 * * *", "Tâche quotidienne d’essai")(lambda: ran.append(DAILY))
    schedule.task(NIGHTLY, "30 2 * * *", "Tâche nocturne d’essai")(lambda: ran.append(NIGHTLY))
    try:
        yield ran
    finally:
        schedule.TASKS.clear()
        schedule.TASKS.update(saved)


@dataclass
class Clock:
    """What the scheduler takes for now (a UTC moment), set by the test."""

    now: datetime


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(schedule, "utcnow", lambda: fixed.now)
    return fixed
