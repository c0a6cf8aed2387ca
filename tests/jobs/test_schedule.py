"""Periodic tasks (app/core/schedule.py): the registry, periods in Paris time across the
clock changes, one job per period however often the scheduler passes, the worker running
the task, and the commands `flask jobs schedule` and `flask jobs work --schedule`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.budgets.services import ensure_school_year, school_year_code
from app.core import jobs, schedule
from app.core.audit import AuditEvent
from app.core.dates import PARIS
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.licences import services as licences
from app.licences.models import Licence, LicenceStatus
from app.products.models import Channel, PlanKind
from app.reporting import services as reporting
from app.reporting.models import NATIONAL, SpendingSummary
from tests import factories
from tests.jobs.conftest import DAILY, NIGHTLY, Clock, count_jobs, job_by_key

pytestmark = pytest.mark.usefixtures("jobs_config")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def scheduled_keys() -> list[str]:
    query = sa.select(Job.key).where(Job.kind == schedule.KIND).order_by(Job.id)
    return [key for key in db.session.scalars(query) if key is not None]


# --- the registry -----------------------------------------------------------------------------


def test_the_features_declare_their_tasks_in_the_registry(app: Flask) -> None:
    tasks = schedule.TASKS

    assert tasks["licences.expire"].cron == "5 0 * * *"
    assert tasks["licences.expire"].run is licences.expire_today
    assert tasks["reporting.refresh"].cron == "0 * * * *"
    assert tasks["reporting.refresh"].run is reporting.refresh_current_year
    with app.test_request_context():
        assert str(tasks["licences.expire"].label) == "Clôture des licences arrivées à échéance"
        assert str(tasks["reporting.refresh"].label) == "Mise à jour des tableaux de bord"


def test_a_task_needs_a_plain_name_a_five_field_cron_and_is_declared_once(
    scheduled_tasks: list[str],
) -> None:
    with pytest.raises(ValueError, match="not a five-field cron"):
        schedule.task("test.bad", "every day", "Mauvaise")
    with pytest.raises(ValueError, match="not a five-field cron"):
        schedule.task("test.seconds", "0 0 6 * * *", "Avec les secondes")
    with pytest.raises(ValueError, match="lowercase letters"):
        schedule.task("Test daily", "0 6 * * *", "Nom avec espace")
    with pytest.raises(ValueError, match="declared twice"):
        schedule.task(DAILY, "0 7 * * *", "Doublon")(lambda: None)
    assert list(schedule.TASKS) == [DAILY, NIGHTLY]  # in the order they were declared


# --- periods, in Paris time -------------------------------------------------------------------


def test_a_daily_period_starts_at_its_hour_in_paris(scheduled_tasks: list[str]) -> None:
    daily = schedule.TASKS[DAILY]

    # 6:00 in Paris is 5:00 UTC in winter.
    assert daily.period(utc(2026, 12, 6, 4, 59)) == paris(2026, 12, 5, 6, 0)
    assert daily.period(utc(2026, 12, 6, 5, 0)) == paris(2026, 12, 6, 6, 0)
    assert daily.period(utc(2026, 12, 6, 5, 0, 59)) == paris(2026, 12, 6, 6, 0)
    assert daily.next_run(utc(2026, 12, 6, 5, 0)) == paris(2026, 12, 7, 6, 0)
    assert daily.key(paris(2026, 12, 6, 6, 0)) == "schedule:test.daily:2026-12-06T06:00"
    # In summer, 4:00 UTC.
    assert daily.period(utc(2026, 7, 1, 4, 0)) == paris(2026, 7, 1, 6, 0)
    assert daily.period(utc(2026, 7, 1, 3, 59)) == paris(2026, 6, 30, 6, 0)


def test_a_daily_period_keeps_its_paris_hour_when_the_clocks_go_forward(
    scheduled_tasks: list[str],
) -> None:
    daily = schedule.TASKS[DAILY]
    before = utc(2026, 3, 28, 12, 0)  # Saturday; the clocks go forward on Sunday at 2:00

    sunday = daily.next_run(before)

    assert sunday == paris(2026, 3, 29, 6, 0)
    assert sunday.astimezone(UTC) == utc(2026, 3, 29, 4, 0)  # 23 hours after Saturday's
    assert daily.period(utc(2026, 3, 29, 3, 59)).astimezone(UTC) == utc(2026, 3, 28, 5, 0)
    assert daily.period(utc(2026, 3, 29, 4, 0)) == paris(2026, 3, 29, 6, 0)


def test_a_task_in_the_hour_that_does_not_exist_runs_once_that_day(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    """Sunday 29 March 2026 has no 2:30 in Paris: the nightly task runs once, at 3:00."""
    nightly = schedule.TASKS[NIGHTLY]

    assert nightly.period(utc(2026, 3, 29, 1, 0)).astimezone(UTC) == utc(2026, 3, 29, 1, 0)
    assert nightly.period(utc(2026, 3, 29, 0, 59)).astimezone(UTC) == utc(2026, 3, 28, 1, 30)
    for moment in (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 22, 0)):
        clock.now = moment
        schedule.enqueue_due()

    assert [key for key in scheduled_keys() if key.startswith(nightly.prefix)] == [
        "schedule:test.nightly:2026-03-29T03:00"
    ]


def test_a_task_in_the_hour_that_comes_twice_runs_once(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    """Sunday 25 October 2026 has 2:30 twice in Paris (summer time, then winter time):
    the nightly task runs once."""
    for moment in (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 1, 30)):
        clock.now = moment  # 2:30 summer time, 2:00 winter time, 2:30 winter time
        schedule.enqueue_due()
    clock.now = utc(2026, 10, 25, 2, 0)
    schedule.enqueue_due()

    nightly = [key for key in scheduled_keys() if key.startswith("schedule:test.nightly:")]
    assert nightly == ["schedule:test.nightly:2026-10-25T02:30"]
    # Nor does the page announce the repeated 2:30 as its next run.
    next_run = schedule.TASKS[NIGHTLY].next_run(utc(2026, 10, 25, 0, 45))
    assert next_run.astimezone(UTC) == utc(2026, 10, 26, 1, 30)


# --- once per period --------------------------------------------------------------------------


def test_each_period_is_enqueued_once_however_often_the_scheduler_passes(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    clock.now = utc(2026, 12, 6, 9, 0)

    first = schedule.enqueue_due()
    again = schedule.enqueue_due()
    clock.now = utc(2026, 12, 6, 23, 0)  # later the same day: still the same periods
    later = schedule.enqueue_due()

    assert [(task.name, period) for task, period in first] == [
        (DAILY, paris(2026, 12, 6, 6, 0)),
        (NIGHTLY, paris(2026, 12, 6, 2, 30)),
    ]
    assert again == []
    assert later == []
    assert scheduled_keys() == [
        "schedule:test.daily:2026-12-06T06:00",
        "schedule:test.nightly:2026-12-06T02:30",
    ]
    job = job_by_key("schedule:test.daily:2026-12-06T06:00")
    assert job.payload == {"task": DAILY, "period": "2026-12-06T06:00"}
    assert job.status is JobStatus.QUEUED

    clock.now = utc(2026, 12, 7, 5, 0)  # the next day at 6:00 in Paris
    assert [task.name for task, _ in schedule.enqueue_due()] == [DAILY, NIGHTLY]
    assert scheduled_keys()[-2:] == [
        "schedule:test.daily:2026-12-07T06:00",
        "schedule:test.nightly:2026-12-07T02:30",
    ]


def test_periods_missed_while_no_scheduler_ran_are_caught_up_once(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    clock.now = utc(2026, 12, 1, 9, 0)
    schedule.enqueue_due()

    clock.now = utc(2026, 12, 5, 9, 0)  # the scheduler was down for four days
    caught_up = schedule.enqueue_due()

    assert [(task.name, period) for task, period in caught_up] == [
        (DAILY, paris(2026, 12, 5, 6, 0)),
        (NIGHTLY, paris(2026, 12, 5, 2, 30)),
    ]
    assert [key for key in scheduled_keys() if key.startswith("schedule:test.daily:")] == [
        "schedule:test.daily:2026-12-01T06:00",
        "schedule:test.daily:2026-12-05T06:00",
    ]


# --- the worker runs the task -----------------------------------------------------------------


def test_the_worker_runs_the_declared_function_once_per_period(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    schedule.enqueue_due()
    assert jobs.work(once=True) == 2
    assert sorted(scheduled_tasks) == [DAILY, NIGHTLY]

    schedule.enqueue_due()  # the same periods again: nothing more to run
    assert jobs.work(once=True) == 0
    assert sorted(scheduled_tasks) == [DAILY, NIGHTLY]
    assert job_by_key("schedule:test.daily:2026-12-06T06:00").status is JobStatus.DONE


def test_a_worker_that_schedules_enqueues_and_runs_the_due_tasks(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    ticker = schedule.Ticker(poll_seconds=30)

    assert jobs.work(once=True, tick=ticker) == 2
    assert sorted(scheduled_tasks) == [DAILY, NIGHTLY]

    clock.now += timedelta(days=1)
    assert jobs.work(once=True, tick=ticker) == 0  # it passes again only after its wait
    ticker.next_check = 0
    assert jobs.work(once=True, tick=ticker) == 2
    assert len(scheduled_tasks) == 4


def test_a_job_of_a_task_no_longer_declared_dies_with_a_reason(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    schedule.enqueue_due()
    del schedule.TASKS[NIGHTLY]

    jobs.work(once=True)

    job = job_by_key("schedule:test.nightly:2026-12-06T02:30")
    assert job.status is JobStatus.DEAD
    assert job.last_error == "Aucune tâche planifiée « test.nightly » dans cette version."
    assert scheduled_tasks == [DAILY]


def test_the_licence_expiry_task_expires_the_licences_of_past_years(
    session: Session, clock: Clock
) -> None:
    ensure_school_year("2024-2025")
    product = factories.product(factories.VendorFactory(), channel=Channel.CODES)
    school = factories.SchoolFactory()
    assert product.listed is not None
    plan = product.listed.plan(PlanKind.TEACHER)
    assert plan is not None
    licence = licences.create_licence(
        version=product.listed,
        plan=plan,
        teacher=factories.teacher(school),
        school=school,
        seats=1,
        school_year_code="2024-2025",
        valid_from=date(2024, 9, 1),
    )
    db.session.commit()

    schedule.enqueue_due()
    jobs.work(once=True, kinds=[schedule.KIND])

    db.session.expire_all()
    assert db.session.get(Licence, licence.id).status is LicenceStatus.EXPIRED  # type: ignore[union-attr]
    assert job_by_key("schedule:licences.expire:2026-12-06T00:05").status is JobStatus.DONE


def test_the_dashboards_task_refreshes_the_current_school_year(
    session: Session, clock: Clock
) -> None:
    schedule.enqueue_due()
    jobs.work(once=True, kinds=[schedule.KIND])

    year = school_year_code(datetime.now(PARIS).date())
    marker = db.session.get(SpendingSummary, (year, NATIONAL, "refresh", ""))
    assert marker is not None
    assert job_by_key("schedule:reporting.refresh:2026-12-06T10:00").status is JobStatus.DONE


# --- run now ----------------------------------------------------------------------------------


def test_run_now_enqueues_an_extra_run_with_its_own_key_and_is_audited(
    session: Session, scheduled_tasks: list[str], clock: Clock
) -> None:
    admin = factories.with_role(Role.ADMIN)
    schedule.enqueue_due()

    key = schedule.run_now(DAILY, admin)

    assert key.startswith("schedule:test.daily:manual:")
    assert job_by_key(key).payload == {"task": DAILY, "period": None, "asked_by": admin.id}
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action.like("scheduled%")))
    assert event is not None
    assert (event.action, event.object_type, event.object_id) == (
        "scheduled_task.run_now",
        "scheduled_task",
        DAILY,
    )
    assert event.actor_id == admin.id
    assert event.details == {"job_key": key}
    assert jobs.work(once=True) == 3
    assert scheduled_tasks.count(DAILY) == 2
    assert schedule.last_run(schedule.TASKS[DAILY]) == job_by_key(key)


# --- the cadence in words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 6 * * *", "tous les jours à 6 h 00"),
        ("5 0 * * *", "tous les jours à 0 h 05"),
        ("0 * * * *", "toutes les heures, à l’heure pile"),
        ("15 * * * *", "toutes les heures, à la minute 15"),
        ("*/10 * * * *", "toutes les 10 minutes"),
        ("* * * * *", "toutes les minutes"),
        ("30 7 * * 1", "tous les lundis à 7 h 30"),
        ("0 8 * * 1-5", "du lundi au vendredi à 8 h 00"),
        ("0 7 1 * *", "le 1er de chaque mois à 7 h 00"),
        ("0 7 15 * *", "le 15 de chaque mois à 7 h 00"),
        ("0 7 1 9 *", "selon l’expression cron « 0 7 1 9 * »"),
    ],
)
def test_the_cadence_is_said_in_words(app: Flask, cron: str, words: str) -> None:
    with app.test_request_context():
        assert schedule.describe_cadence(cron) == words


# --- the commands -----------------------------------------------------------------------------


@pytest.mark.usefixtures("kept_signals")
def test_schedule_once_twice_enqueues_each_period_once(
    session: Session, app: Flask, scheduled_tasks: list[str], clock: Clock
) -> None:
    runner = app.test_cli_runner()

    first = runner.invoke(args=["jobs", "schedule", "--once"])
    second = runner.invoke(args=["jobs", "schedule", "--once"])

    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        "test.daily : période du 2026-12-06 06:00 mise en file.",
        "test.nightly : période du 2026-12-06 02:30 mise en file.",
        "2 périodes mises en file.",
    ]
    assert second.exit_code == 0, second.output
    assert second.output.splitlines() == ["0 périodes mises en file."]
    assert count_jobs(kind=schedule.KIND) == 2
    assert scheduled_tasks == []  # enqueued, not run: the workers run them


def test_schedule_list_shows_the_tasks_and_their_next_run(
    session: Session, app: Flask, scheduled_tasks: list[str], clock: Clock
) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "schedule", "--list"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "test.daily (0 6 * * *) : prochaine le 2026-12-07 06:00",
        "test.nightly (30 2 * * *) : prochaine le 2026-12-07 02:30",
    ]
    assert count_jobs() == 0


@pytest.mark.usefixtures("kept_signals")
def test_work_with_schedule_enqueues_and_runs_the_due_tasks(
    session: Session, app: Flask, scheduled_tasks: list[str], clock: Clock
) -> None:
    runner = app.test_cli_runner()

    result = runner.invoke(args=["jobs", "work", "--schedule", "--once"])
    again = runner.invoke(args=["jobs", "work", "--schedule", "--once"])
    without = runner.invoke(args=["jobs", "work", "--once"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 tâches traitées."
    assert sorted(scheduled_tasks) == [DAILY, NIGHTLY]
    assert again.output.splitlines() == ["0 tâches traitées."]
    assert without.output.splitlines() == ["0 tâches traitées."]
    assert count_jobs(kind=schedule.KIND, status=JobStatus.DONE) == 2


def test_the_scheduler_loop_stops_when_asked(
    session: Session,
    scheduled_tasks: list[str],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stop_after_first(_task: schedule.Task, _period: datetime) -> None:
        monkeypatch.setattr(jobs._Stop, "requested", True)  # as SIGTERM does

    count = schedule.run_scheduler(poll_seconds=60, on_enqueued=stop_after_first)

    assert count == 2  # returned at once, without waiting its 60 seconds
    assert count_jobs(kind=schedule.KIND) == 2


def test_in_development_the_jobs_run_after_requests_schedule_the_tasks(
    app: Flask,
    client: FlaskClient,
    scheduled_tasks: list[str],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)

    assert client.get("/connexion").status_code == 200

    assert sorted(scheduled_tasks) == [DAILY, NIGHTLY]
    assert count_jobs(kind=schedule.KIND, status=JobStatus.DONE) == 2


def test_in_development_a_job_calling_this_server_does_not_start_a_second_run(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's stand-in vendors and GAR are served by the app itself: a job calling
    them makes a request whose own end must not run jobs again (on SQLite it waited for
    the first run's write lock, and the stand-in answered 500)."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)
    monkeypatch.setattr(jobs, "INLINE_EVERY_SECONDS", 0)  # every request's end would run
    runs = {"now": 0, "most": 0}
    real_work = jobs.work

    def counted_work(**options: object) -> int:
        runs["now"] += 1
        runs["most"] = max(runs["most"], runs["now"])
        try:
            return real_work(**options)  # type: ignore[arg-type]
        finally:
            runs["now"] -= 1

    answers: list[int] = []

    def calls_this_server(_payload: dict[str, object]) -> None:
        answers.append(app.test_client().get("/connexion").status_code)

    monkeypatch.setattr(jobs, "work", counted_work)
    monkeypatch.setitem(
        jobs.HANDLERS, "calls_this_server", jobs.Handler("calls_this_server", calls_this_server)
    )
    jobs.enqueue("calls_this_server", {})
    db.session.flush()

    assert client.get("/connexion").status_code == 200

    assert answers == [200]
    assert runs["most"] == 1
    assert count_jobs(kind="calls_this_server", status=JobStatus.DONE) == 1
