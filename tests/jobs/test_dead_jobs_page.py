"""The admins' page of dead jobs (`/admin/taches`) and its « Relancer » button."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core import jobs
from app.core.db import utcnow
from app.core.jobs import JobStatus
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.jobs.conftest import FAILING, Calls, job_by_key

pytestmark = pytest.mark.usefixtures("jobs_config")


def dead_job(app: Flask) -> int:
    """A job that failed its only attempt."""
    app.config["JOBS_MAX_ATTEMPTS"] = 1  # jobs_config restores it
    jobs.enqueue(FAILING, {"licence_id": 4242}, key="test:dead")
    assert jobs.work(once=True) == 1
    job = job_by_key("test:dead")
    assert job.status is JobStatus.DEAD
    return job.id


def test_admins_see_dead_jobs_and_put_them_back_in_the_queue(
    app: Flask, session: Session, client: FlaskClient, auth: AuthActions, handlers: Calls
) -> None:
    job_id = dead_job(app)
    admin = factories.with_role(Role.ADMIN)
    auth.login(admin.email)

    page = client.get("/admin/taches")

    assert page.status_code == 200
    text = page_text(page)
    assert "Tâches en échec" in text
    assert f"Tâche « {FAILING} »" in text  # a kind that does not describe its jobs
    assert "RuntimeError: boom" in text
    assert "licence_id" not in text  # no raw payload shown to people
    assert f'action="/admin/taches/{job_id}/relancer"' in text
    assert "Relancer" in text

    response = client.post(f"/admin/taches/{job_id}/relancer")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/taches")
    job = job_by_key("test:dead")
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.QUEUED, 0, None)
    assert job.run_after <= utcnow()
    after = page_text(client.get("/admin/taches"))
    assert f"La tâche {job_id} est relancée." in after
    assert "Aucune tâche en échec." in after

    handlers.broken = False  # the cause is fixed
    assert jobs.work(once=True) == 1
    db.session.expire_all()
    assert job_by_key("test:dead").status is JobStatus.DONE


def test_retrying_a_job_that_is_not_dead_changes_nothing(
    app: Flask, session: Session, client: FlaskClient, auth: AuthActions, handlers: Calls
) -> None:
    jobs.enqueue(FAILING, {}, key="test:queued")
    job_id = job_by_key("test:queued").id
    auth.login(factories.with_role(Role.ADMIN).email)

    assert client.post(f"/admin/taches/{job_id}/relancer").status_code == 302
    assert client.post("/admin/taches/999999/relancer").status_code == 404
    assert job_by_key("test:queued").status is JobStatus.QUEUED


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: factories.teacher(), id="teacher"),
        pytest.param(lambda: factories.vendor_member(), id="vendor"),
        pytest.param(lambda: factories.with_role(Role.REVIEWER), id="reviewer"),
    ],
)
def test_only_admins_see_or_retry_dead_jobs(
    app: Flask,
    session: Session,
    client: FlaskClient,
    auth: AuthActions,
    handlers: Calls,
    make_user: Callable[[], User],
) -> None:
    job_id = dead_job(app)
    user = make_user()
    auth.login(user.email)

    assert client.get("/admin/taches").status_code == 403
    assert client.post(f"/admin/taches/{job_id}/relancer").status_code == 403
    assert job_by_key("test:dead").status is JobStatus.DEAD


def test_anonymous_visitors_are_sent_to_the_login_page(
    app: Flask, session: Session, client: FlaskClient, handlers: Calls
) -> None:
    job_id = dead_job(app)

    page = client.get("/admin/taches")
    retry = client.post(f"/admin/taches/{job_id}/relancer")

    assert page.status_code == 302
    assert "/connexion" in page.headers["Location"]
    assert retry.status_code == 302
    assert "/connexion" in retry.headers["Location"]
    assert job_by_key("test:dead").status is JobStatus.DEAD
