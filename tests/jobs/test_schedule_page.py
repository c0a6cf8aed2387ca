"""The admins' page of periodic tasks (`/admin/taches-planifiees`) and « Lancer maintenant »."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core import jobs, schedule
from app.core.audit import AuditEvent
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.jobs.conftest import DAILY, NIGHTLY, Clock, count_jobs, job_by_key

pytestmark = pytest.mark.usefixtures("jobs_config", "scheduled_tasks")

PAGE = "/admin/taches-planifiees"


def admin_logged_in(auth: AuthActions) -> User:
    admin = factories.with_role(Role.ADMIN)
    auth.login(admin.email)
    return admin


def rows(text: str) -> list[str]:
    """The table's rows as text, tags stripped and spaces squeezed."""
    found = re.findall(r"<tr>(.*?)</tr>", text, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


def test_admins_see_each_task_its_cadence_last_and_next_run(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    admin_logged_in(auth)
    clock.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)  # 10:00 in Paris
    schedule.enqueue_due()
    jobs.work(once=True)  # both run
    clock.now = datetime(2026, 12, 7, 1, 31, tzinfo=UTC)  # 2:31 in Paris, the next day
    schedule.enqueue_due()  # the nightly one is queued, not yet run

    page = client.get(PAGE)

    assert page.status_code == 200
    text = page_text(page)
    assert "<h1>Tâches planifiées</h1>" in text
    daily, nightly = rows(text)[1:]
    assert daily.startswith("Tâche quotidienne d’essai tous les jours à 6 h 00 Terminée le")
    assert daily.endswith("07/12/2026 06:00 Lancer maintenant")
    assert nightly.startswith("Tâche nocturne d’essai tous les jours à 2 h 30 En attente depuis le")
    assert nightly.endswith("08/12/2026 02:30 Lancer maintenant")
    assert "0 6 * * *" not in text  # no cron code shown
    assert "test.daily" not in text.replace(f'action="{PAGE}/test.daily/lancer"', "")
    assert f'action="{PAGE}/{DAILY}/lancer"' in text
    assert "Aucun planificateur ne semble actif" not in text


def test_a_task_never_run_and_a_failed_run_are_said_in_words(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock, app: Flask
) -> None:
    admin_logged_in(auth)
    app.config["JOBS_MAX_ATTEMPTS"] = 1  # jobs_config restores it

    def broken() -> None:
        raise RuntimeError("boom")

    schedule.TASKS[NIGHTLY] = schedule.Task(NIGHTLY, "30 2 * * *", "Tâche nocturne d’essai", broken)
    key = "schedule:test.nightly:2026-12-06T02:30"
    jobs.enqueue(schedule.KIND, {"task": NIGHTLY, "period": "2026-12-06T02:30"}, key=key)
    jobs.work(once=True)

    daily, nightly = rows(page_text(client.get(PAGE)))[1:]

    assert "Jamais lancée" in daily
    assert "En échec le" in nightly
    assert "Voir les tâches en échec" in nightly
    dead = page_text(client.get("/admin/taches"))
    assert "Tâche planifiée « Tâche nocturne d’essai » du 06/12/2026 02:30" in dead
    assert f'href="{PAGE}"' in dead  # the failed-jobs page links here


def test_the_page_warns_when_no_scheduler_enqueued_the_current_period(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    admin_logged_in(auth)
    clock.now = datetime(2026, 12, 6, 5, 10, tzinfo=UTC)  # 6:10 in Paris: 6:00 is late

    warned = page_text(client.get(PAGE))
    schedule.enqueue_due()
    quiet = page_text(client.get(PAGE))

    assert "Aucun planificateur ne semble actif" in warned
    assert (
        "Ces tâches n’ont pas été mises en file à leur dernière échéance : "
        "« Tâche quotidienne d’essai », « Tâche nocturne d’essai »." in warned
    )
    assert "<code>flask jobs schedule</code>" in warned
    assert "<code>flask jobs work --schedule</code>" in warned
    assert "Aucun planificateur ne semble actif" not in quiet


def test_admins_run_a_task_now_and_it_is_audited(
    session: Session, client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    admin = admin_logged_in(auth)

    response = client.post(f"{PAGE}/{DAILY}/lancer")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(PAGE)
    query = sa.select(jobs.Job).where(jobs.Job.kind == schedule.KIND)
    (job,) = db.session.scalars(query)
    assert job.key is not None
    assert job.key.startswith("schedule:test.daily:manual:")
    assert job.payload == {"task": DAILY, "period": None, "asked_by": admin.id}
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "scheduled_task.run_now")
    )
    assert event is not None
    assert (event.actor_id, event.object_id) == (admin.id, DAILY)

    after = page_text(client.get(PAGE))
    assert (
        "« Tâche quotidienne d’essai » est mise en file : elle s’exécute dans un instant." in after
    )
    assert "(lancée à la main)" in rows(after)[1]
    jobs.work(once=True)
    assert job_by_key(job.key).status is jobs.JobStatus.DONE

    assert client.post(f"{PAGE}/test.unknown/lancer").status_code == 404


def test_run_now_needs_the_form_s_csrf_token(
    app: Flask, session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    admin_logged_in(auth)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = page_text(client.get(PAGE))
        refused = client.post(f"{PAGE}/{DAILY}/lancer")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        accepted = client.post(f"{PAGE}/{DAILY}/lancer", data={"csrf_token": token.group(1)})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False

    assert refused.status_code == 400
    assert accepted.status_code == 302
    assert count_jobs(kind=schedule.KIND) == 1


def test_the_admin_navigation_links_to_the_page(
    session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    admin_logged_in(auth)

    text = page_text(client.get("/admin/taches"))

    assert f'<a class="fr-nav__link" href="{PAGE}"' in text


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: factories.teacher(), id="teacher"),
        pytest.param(lambda: factories.vendor_member(), id="vendor"),
        pytest.param(lambda: factories.with_role(Role.REVIEWER), id="reviewer"),
        pytest.param(lambda: factories.academy_manager(), id="academy-manager"),
    ],
)
def test_only_admins_see_the_page_or_run_a_task(
    session: Session, client: FlaskClient, auth: AuthActions, make_user: Callable[[], User]
) -> None:
    auth.login(make_user().email)

    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/{DAILY}/lancer").status_code == 403
    assert count_jobs() == 0


def test_anonymous_visitors_are_sent_to_the_login_page(
    session: Session, client: FlaskClient
) -> None:
    page = client.get(PAGE)
    run = client.post(f"{PAGE}/{DAILY}/lancer")

    assert page.status_code == 302
    assert "/connexion" in page.headers["Location"]
    assert run.status_code == 302
    assert "/connexion" in run.headers["Location"]
    assert count_jobs() == 0
