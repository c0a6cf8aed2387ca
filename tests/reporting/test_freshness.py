"""Dashboards read a summary: a year never summed is summed in the request (a page never
shows zeros that are not true); opening one whose figures are older than
REPORTING_MAX_AGE_SECONDS queues one `reporting.refresh` job per period, the page shows
the old figures with their date and says « calcul en cours » until the job has run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask, current_app
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
from tests.helpers import pdf_text
from tests.reporting import expected
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import PARIS_TIME, YEAR, euros, fund, visible_text

DASHBOARD = f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}"
COMPUTING = "calcul en cours"


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


def test_missing_figures_are_summed_at_once_and_nothing_is_queued(
    world: World, paris_manager: FlaskClient, clock: Clock
) -> None:
    assert db.session.scalar(select(func.count()).select_from(SpendingSummary)) == 0

    page = visible_text(paris_manager.get(DASHBOARD))

    dash = services.dashboard(YEAR, PARIS)
    assert dash.ledger == expected.ledger(YEAR, PARIS)
    assert dash.refreshed_at is not None
    when = dash.refreshed_at.astimezone(PARIS_TIME).strftime("%d/%m/%Y %H:%M")
    assert f"Chiffres de l’année 2026-2027 arrêtés le {when}" in page
    # What the routes and the hourly task do, in the configuration's figure.
    assert (
        "ils sont recalculés chaque heure, et à l’ouverture d’un tableau de bord quand ils "
        "ont plus de 10 minutes."
    ) in page
    assert COMPUTING not in page
    assert "3 sur 4 (75,0 %)" in page  # the buyers: true figures, not zeros
    assert refresh_jobs() == []


def test_the_monthly_report_of_a_year_never_summed_has_its_figures(
    world: World, paris_manager: FlaskClient, clock: Clock
) -> None:
    text = pdf_text(paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-10").get_data())

    assert f"Reçu de l’État {euros(expected.ledger(YEAR, PARIS)['received'])}" in text


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
    assert COMPUTING in page  # and the page says new ones are coming
    run_refresh_job()
    refreshed = services.dashboard(YEAR, PARIS).refreshed_at
    assert refreshed is not None
    assert utcnow() - refreshed < timedelta(minutes=1)
    assert COMPUTING not in visible_text(client.get(DASHBOARD))


def test_each_period_queues_its_own_refresh(
    app: Flask, manager: User, client: FlaskClient, clock: Clock
) -> None:
    services.refresh(YEAR)
    age_the_summary(app)
    client.get(DASHBOARD)
    clock.now += app.config["REPORTING_MAX_AGE_SECONDS"]  # the next period, still old figures
    client.get(DASHBOARD)

    assert len(refresh_jobs()) == 2
    assert len({job.key for job in refresh_jobs()}) == 2


def test_the_national_dashboard_queues_a_refresh_too(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    fund(PARIS, 100_00)
    services.refresh(YEAR)
    age_the_summary(current_app)
    auth.login(factories.with_role(Role.ADMIN).email)

    client.get(f"/admin/tableau-de-bord?annee={YEAR}")
    client.get(f"/admin/tableau-de-bord?annee={YEAR}")

    assert len(refresh_jobs()) == 1


def test_a_year_with_nothing_yet_is_dated_after_its_refresh(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    auth.login(factories.academy_manager(PARIS).email)

    page = visible_text(client.get(DASHBOARD))

    assert COMPUTING not in page
    assert "arrêtés le" in page
    assert refresh_jobs() == []
