"""Retention: each category loses what is older than its period and keeps the rest; in
batches, again and again without harm; closed accounts lose their name and address, and
the ledger still verifies."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts import services as accounts
from app.accounts.models import ApiToken, ExternalIdentity, User
from app.budgets.services import ensure_school_year
from app.core import jobs, retention, schedule
from app.core.audit import AuditEvent, history
from app.core.db import utcnow
from app.core.jobs import Job, JobStatus
from app.ledger import services as ledger
from app.notifications.models import MailChoice, Notification, Topic
from tests import factories
from tests.ledger.helpers import allocate, fund

DAY = timedelta(days=1)


def a_job(kind: str, status: JobStatus, finished: timedelta | None, **values: Any) -> Job:
    now = utcnow()
    return Job(
        kind=kind,
        payload={"to": "quelquun@example.org"},
        status=status,
        max_attempts=1,
        created_at=now - (finished or timedelta()),
        finished_at=now - finished if finished is not None else None,
        **values,
    )


def ids(session: Session, model: Any) -> set[int]:
    return set(session.scalars(select(model.id)))


def test_the_periods_are_written_once_with_french_words(app: Flask) -> None:
    categories = [period.category for period in retention.PERIODS]
    assert len(categories) == len(set(categories))
    with app.test_request_context():
        for period in retention.PERIODS:
            assert period.kept > timedelta()
            assert str(period.description)  # in French, for the privacy page


def test_sent_mails_go_after_30_days(session: Session) -> None:
    old = a_job("mail", JobStatus.DONE, 31 * DAY)
    recent = a_job("mail", JobStatus.DONE, 29 * DAY)
    other_kind = a_job("noop", JobStatus.DONE, 31 * DAY)  # finished jobs: 90 days
    failed = a_job("mail", JobStatus.DEAD, 31 * DAY)  # dead: kept for the admins
    waiting = a_job("mail", JobStatus.QUEUED, None, run_after=utcnow() - 40 * DAY)
    session.add_all([old, recent, other_kind, failed, waiting])
    session.flush()

    assert retention.purge_batch("sent_mails") == 1

    assert ids(session, Job) == {recent.id, other_kind.id, failed.id, waiting.id}


def test_finished_jobs_go_after_90_days_but_the_scheduled_runs(session: Session) -> None:
    old = a_job("noop", JobStatus.DONE, 91 * DAY)
    recent = a_job("noop", JobStatus.DONE, 89 * DAY)
    scheduled = a_job(schedule.KIND, JobStatus.DONE, 91 * DAY)
    dead = a_job("noop", JobStatus.DEAD, 200 * DAY)
    session.add_all([old, recent, scheduled, dead])
    session.flush()

    assert retention.purge_batch("finished_jobs") == 1

    assert ids(session, Job) == {recent.id, scheduled.id, dead.id}


def test_scheduled_runs_go_after_400_days(session: Session) -> None:
    """Longer than any cadence: a task whose latest run is gone would run again."""
    old = a_job(schedule.KIND, JobStatus.DONE, 401 * DAY)
    recent = a_job(schedule.KIND, JobStatus.DONE, 399 * DAY)
    session.add_all([old, recent])
    session.flush()

    assert retention.purge_batch("scheduled_runs") == 1

    assert ids(session, Job) == {recent.id}


def test_read_notifications_go_180_days_after_reading(session: Session) -> None:
    user = factories.teacher()
    now = utcnow()

    def notice(key: str, read: datetime | None) -> Notification:
        return Notification(
            user_id=user.id, event="test", key=key, created_at=now - 400 * DAY, read_at=read
        )

    old = notice("old", now - 181 * DAY)
    recent = notice("recent", now - 179 * DAY)
    unread = notice("unread", None)
    session.add_all([old, recent, unread])
    session.flush()

    assert retention.purge_batch("read_notifications") == 1

    assert ids(session, Notification) == {recent.id, unread.id}


def test_revoked_api_tokens_go_a_year_after_revocation(session: Session) -> None:
    vendor = factories.VendorFactory()
    now = utcnow()

    def token(name: str, revoked: datetime | None) -> ApiToken:
        return ApiToken(
            vendor_id=vendor.id,
            name=name,
            token_sha256=name.ljust(64, "0"),
            prefix="cr_test",
            created_at=now - 800 * DAY,
            revoked_at=revoked,
        )

    old, recent, active = token("a", now - 366 * DAY), token("b", now - 364 * DAY), token("c", None)
    session.add_all([old, recent, active])
    session.flush()

    assert retention.purge_batch("revoked_api_tokens") == 1

    assert ids(session, ApiToken) == {recent.id, active.id}


def test_closed_accounts_become_anonymous_after_a_year_and_the_ledger_still_verifies(
    session: Session,
) -> None:
    ensure_school_year("2026-2027")
    pool = ledger.academy_pool("01", "2026-2027")
    fund(pool, 10_000)
    long_closed = factories.teacher(email="partie@ac-paris.fr", name="Jeanne Partie")
    lately_closed = factories.teacher(email="recente@ac-paris.fr", name="Lucie Récente")
    still_open = factories.teacher(email="presente@ac-paris.fr", name="Paul Présent")
    credit = ledger.teacher_credit(long_closed.id, "01", "2026-2027")
    allocate(pool, credit, 3_000)
    session.add_all(
        [
            ExternalIdentity(provider="proconnect", subject="sub-1", user_id=long_closed.id),
            MailChoice(user_id=long_closed.id, topic=Topic.REMINDERS, wanted=False),
            Notification(user_id=long_closed.id, event="test", key="k", read_at=None),
        ]
    )
    for user in (long_closed, lately_closed):
        accounts.close_account(None, user)
    long_closed.closed_at = utcnow() - 366 * DAY
    lately_closed.closed_at = utcnow() - 364 * DAY
    session.flush()
    before = ledger.verify()

    assert retention.purge_batch("closed_accounts") == 1
    assert retention.purge_batch("closed_accounts") == 0  # again: nothing more to do

    session.expire_all()
    assert long_closed.email == f"compte-ferme-{long_closed.id}@anonyme.invalid"
    assert long_closed.name == "Compte fermé"
    assert long_closed.password_hash is None
    assert long_closed.active is False
    for model in (ExternalIdentity, MailChoice, Notification):
        count = select(func.count()).select_from(model).where(model.user_id == long_closed.id)
        assert session.scalar(count) == 0
    assert (lately_closed.email, lately_closed.name) == ("recente@ac-paris.fr", "Lucie Récente")
    assert (still_open.email, still_open.name) == ("presente@ac-paris.fr", "Paul Présent")
    # The money stays where it was, on the account of the same id.
    assert credit.user_id == long_closed.id
    assert credit.balance_cents == 3_000
    after = ledger.verify()
    assert after.ok
    assert (after.entries, after.postings, after.accounts) == (
        before.entries,
        before.postings,
        before.accounts,
    )


def test_closing_an_account_ends_its_sessions_and_is_recorded(session: Session) -> None:
    user = factories.teacher()
    version = user.session_version

    accounts.close_account(None, user)
    accounts.close_account(None, user)  # again: nothing changes

    assert user.active is False
    assert user.closed_at is not None
    assert user.session_version == version + 1
    assert [event.action for event in history("user", user.id)].count("user.closed") == 1
    assert session.get(User, user.id) is user


def test_batches_and_runs_again_without_harm(session: Session) -> None:
    session.add_all([a_job("noop", JobStatus.DONE, 100 * DAY) for _ in range(5)])
    session.flush()

    assert [retention.purge_batch("finished_jobs", limit=2) for _ in range(4)] == [2, 2, 1, 0]


def test_the_nightly_task_queues_the_next_batches_as_jobs(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    session.add_all([a_job("noop", JobStatus.DONE, 100 * DAY) for _ in range(5)])
    session.add(a_job("mail", JobStatus.DONE, 40 * DAY))
    session.flush()
    assert schedule.TASKS["retention.purge"].run is retention.purge_due

    retention.purge_due()  # the first batch of each category: 2 of the 5, the mail

    queued = session.scalars(select(Job).where(Job.kind == retention.JOB_KIND)).all()
    assert [(job.payload["category"], job.payload["batch"]) for job in queued] == [
        ("finished_jobs", 2)
    ]
    assert jobs.work(once=True, kinds=[retention.JOB_KIND]) == 2  # batches 2 and 3

    runs = session.scalars(select(Job).where(Job.kind == retention.JOB_KIND)).all()
    assert sorted(job.payload["batch"] for job in runs) == [2, 3]
    assert all(job.status is JobStatus.DONE for job in runs)
    assert set(session.scalars(select(Job.kind))) == {retention.JOB_KIND}


def test_the_command_purges_everything_due_and_prints_the_counts(
    app: Flask, session: Session
) -> None:
    session.add_all([a_job("noop", JobStatus.DONE, 100 * DAY) for _ in range(3)])
    session.add(a_job("mail", JobStatus.DONE, 40 * DAY))
    session.flush()

    result = app.test_cli_runner().invoke(args=["retention", "purge", "--batch", "2"])

    assert result.exit_code == 0, result.output
    assert "finished_jobs : 3" in result.output
    assert "sent_mails : 1" in result.output
    assert "closed_accounts : 0" in result.output
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_the_audit_log_goes_ten_years_after_each_action(session: Session) -> None:
    now = utcnow()
    user = factories.teacher()
    old = AuditEvent(
        actor_id=user.id, action="user.logged_in", object_type="user", object_id=str(user.id)
    )
    old.created_at = now - (3650 + 1) * DAY
    recent = AuditEvent(
        actor_id=user.id, action="user.logged_in", object_type="user", object_id=str(user.id)
    )
    recent.created_at = now - 3649 * DAY
    session.add_all([old, recent])
    session.flush()

    assert retention.purge_batch("audit_events") == 1

    assert ids(session, AuditEvent) >= {recent.id}
    assert old.id not in ids(session, AuditEvent)
