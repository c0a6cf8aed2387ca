"""Dashboards read a summary rebuilt by a job: opening one whose figures are missing or
older than REPORTING_MAX_AGE_SECONDS queues one `reporting.refresh` job per period, the
job fills the summary, and the page says as of when its figures are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core import jobs
from app.core.db import utcnow
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.reporting import services
from app.reporting.models import SpendingSummary
from tests import factories
from tests.conftest import AuthActions
from tests.reporting import expected
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import PARIS_TIME, YEAR, fund, visible_text

DASHBOARD = f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}"
COMPUTING = "Les chiffres de l’année 2026-2027 sont en cours de calcul"


class Clock:
    """The clock the refresh periods are counted with, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(services, "clock", fake)
    return fake


@pytest.fixture
def manager(session: Session, client: FlaskClient, auth: AuthActions) -> User:
    """A Paris manager, logged in; the academy funded (so a refresh has figures to write)."""
    fund(PARIS, 100_00)
    user = factories.academy_manager(PARIS)
    db.session.commit()
    auth.login(user.email)
    return user


def refresh_jobs() -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.kind == services.REFRESH)))


def run_refresh_job() -> None:
    job_id = jobs.claim([services.REFRESH])
    assert job_id is not None
    assert jobs.run(job_id) is JobStatus.DONE


def age_the_summary(app: Flask, extra: timedelta = timedelta(seconds=1)) -> None:
    max_age = timedelta(seconds=app.config["REPORTING_MAX_AGE_SECONDS"])
    db.session.execute(update(SpendingSummary).values(refreshed_at=utcnow() - max_age - extra))
    db.session.commit()


def test_missing_figures_queue_one_refresh_however_often_the_page_is_opened(
    manager: User, client: FlaskClient, clock: Clock
) -> None:
    first = client.get(DASHBOARD)
    client.get(DASHBOARD)

    assert COMPUTING in visible_text(first)
    (job,) = refresh_jobs()
    assert (job.payload, job.status) == ({"school_year": YEAR}, JobStatus.QUEUED)


def test_the_job_fills_the_summary_and_the_page_gives_the_date_of_its_figures(
    world: World, paris_manager: FlaskClient, clock: Clock
) -> None:
    paris_manager.get(DASHBOARD)
    assert db.session.scalar(select(func.count()).select_from(SpendingSummary)) == 0

    run_refresh_job()

    dash = services.dashboard(YEAR, PARIS)
    assert dash.ledger == expected.ledger(YEAR, PARIS)
    assert dash.refreshed_at is not None
    page = visible_text(paris_manager.get(DASHBOARD))
    when = dash.refreshed_at.astimezone(PARIS_TIME).strftime("%d/%m/%Y %H:%M")
    assert f"Chiffres de l’année 2026-2027 arrêtés le {when}" in page
    assert COMPUTING not in page
    assert len(refresh_jobs()) == 1  # fresh figures: nothing more queued


def test_fresh_figures_queue_nothing(manager: User, client: FlaskClient, clock: Clock) -> None:
    services.refresh(YEAR)
    db.session.commit()

    client.get(DASHBOARD)

    assert refresh_jobs() == []


def test_old_figures_queue_one_refresh(
    app: Flask, manager: User, client: FlaskClient, clock: Clock
) -> None:
    services.refresh(YEAR)
    age_the_summary(app)

    page = visible_text(client.get(DASHBOARD))
    client.get(DASHBOARD)

    assert len(refresh_jobs()) == 1
    assert "arrêtés le" in page  # the old figures are shown meanwhile, with their date
    run_refresh_job()
    refreshed = services.dashboard(YEAR, PARIS).refreshed_at
    assert refreshed is not None
    assert utcnow() - refreshed < timedelta(minutes=1)


def test_each_period_queues_its_own_refresh(
    app: Flask, manager: User, client: FlaskClient, clock: Clock
) -> None:
    client.get(DASHBOARD)
    clock.now += app.config["REPORTING_MAX_AGE_SECONDS"]  # the next period, still no figures
    client.get(DASHBOARD)

    assert len(refresh_jobs()) == 2
    assert len({job.key for job in refresh_jobs()}) == 2


def test_the_national_dashboard_queues_a_refresh_too(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    fund(PARIS, 100_00)
    auth.login(factories.with_role(Role.ADMIN).email)

    client.get(f"/admin/tableau-de-bord?annee={YEAR}")
    client.get(f"/admin/tableau-de-bord?annee={YEAR}")

    assert len(refresh_jobs()) == 1


def test_a_year_with_nothing_yet_is_dated_after_its_refresh(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    auth.login(factories.academy_manager(PARIS).email)
    client.get(DASHBOARD)
    run_refresh_job()

    page = visible_text(client.get(DASHBOARD))

    assert COMPUTING not in page
    assert "arrêtés le" in page
