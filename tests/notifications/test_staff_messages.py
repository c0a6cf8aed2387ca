"""What the service tells its staff: the reviewers' daily digest of the queue, the academy
managers' pool alert and monthly report, the admins' dead jobs and reconciliation
mismatches. Each: sent for its event to its people only, once however often it is told,
the optional ones not mailed to who turned them off; the pool threshold's form."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage
from uuid import uuid4

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Role, RoleGrant, User
from app.budgets import services as budgets
from app.budgets.models import Allocation, PoolThreshold
from app.core import dates, jobs
from app.core import notices as core_notices
from app.core.db import utcnow
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import Notification, Topic
from app.payouts import notices as payout_notices
from app.payouts.models import Payout, PayoutStatus
from app.reporting import notices as reporting_notices
from app.vendors.models import Vendor
from app.vetting import notices as vetting_notices
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.helpers import page_text
from tests.payouts.conftest import Market, market  # noqa: F401 - the payouts' fixture
from tests.payouts.helpers import buy, paris, settle


def _lines(event: str, *where: object) -> int:
    query = select(func.count()).select_from(Notification).where(Notification.event == event)
    return int(db.session.scalar(query.where(*where)) or 0)


def _spaced(text: str) -> str:
    """French amounts are written with (narrow) no-break spaces: plain spaces to compare."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _text(message: EmailMessage) -> str:
    return _spaced(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _digests_on(user: User) -> User:
    notifications.choose(user.id, Topic.DIGESTS, True)
    return user


# --- reviewers: the daily digest of the queue ------------------------------------------------


@pytest.fixture
def queue(session: Session) -> dict[str, object]:
    """Two versions waiting, the older for 3 days, of two vendors; one reviewer a member of
    the first vendor."""
    tangram = factories.VendorFactory(legal_name="Éditions Tangram SAS")
    lumen = factories.VendorFactory(legal_name="Lumen Éducation SAS")
    old = factories.product(tangram, state="in_review", title="Atlas des océans")
    new = factories.product(lumen, state="in_review", title="Chimie au collège")
    old.latest.submitted_at = utcnow() - timedelta(days=3)
    db.session.flush()
    return {"tangram": tangram, "lumen": lumen, "old": old, "new": new}


def test_the_review_digest_lists_the_queue_oldest_first_to_who_asked(
    queue: dict[str, object], mailbox: Mailbox
) -> None:
    keen = _digests_on(factories.with_role(Role.REVIEWER, name="Romain Relecteur"))
    quiet = factories.with_role(Role.REVIEWER)  # digests are off unless chosen
    bystander = _digests_on(factories.UserFactory())  # not a reviewer

    vetting_notices.send_review_digests()
    inbox = mailbox.deliver()

    [message] = inbox.to(keen.email)
    assert message["Subject"] == "Commission : 2 versions attendent votre examen"
    text = _text(message)
    assert text.index("Atlas des océans") < text.index("Chimie au collège")
    assert "en attente depuis 3 jours" in text
    assert "Éditions Tangram SAS" in text
    assert "/commission" in text
    assert "dont vous êtes membre" not in text
    assert "List-Unsubscribe" in message  # a digest can be turned off
    assert inbox.to(quiet.email) == []
    assert inbox.to(bystander.email) == []
    assert len(inbox.messages) == 1
    assert _lines("review_digest", Notification.user_id == keen.id) == 1
    assert _lines("review_digest") == 1  # nobody else has it in their list


def test_the_digest_leaves_out_the_reviewer_s_own_vendor(
    queue: dict[str, object], mailbox: Mailbox
) -> None:
    member = _digests_on(factories.vendor_member(queue["tangram"], name="Rita Relectrice"))  # type: ignore[arg-type]
    member.grants.append(RoleGrant(role=Role.REVIEWER))
    db.session.flush()

    vetting_notices.send_review_digests()
    [message] = mailbox.deliver().to(member.email)

    assert message["Subject"] == "Commission : 1 version attend votre examen"
    assert "Chimie au collège" in _text(message)
    assert "Atlas des océans" not in _text(message)
    assert "éditeurs dont vous êtes membre ne sont pas comptés" in _text(message)


def test_the_digest_runs_twice_a_day_sends_once_and_nothing_on_an_empty_queue(
    session: Session, mailbox: Mailbox
) -> None:
    keen = _digests_on(factories.with_role(Role.REVIEWER))
    vetting_notices.send_review_digests()  # the queue is empty
    assert _lines("review_digest") == 0

    factories.product(state="in_review")
    vetting_notices.send_review_digests()
    vetting_notices.send_review_digests()  # run again the same day

    assert len(mailbox.deliver().to(keen.email)) == 1
    assert _lines("review_digest", Notification.user_id == keen.id) == 1


# --- academy managers: the pool under their threshold ----------------------------------------


@pytest.fixture
def pool(session: Session) -> dict[str, object]:
    """Academy 01 funded with 1 000 € this school year, a threshold of 500 €, two managers,
    a school and a manager of another academy."""
    year = budgets.school_year_code(dates.today())
    budgets.fund_academy(None, "01", year, 1000_00, "fund:pool")
    first = factories.academy_manager("01", name="Alain Rectorat")
    second = factories.academy_manager("01")
    budgets.set_pool_threshold(first, "01", year, "500")
    return {
        "year": year,
        "managers": [first, second],
        "lyon": factories.academy_manager("10"),
        "school": factories.SchoolFactory(academy_code="01"),
    }


def _allocate(pool: dict[str, object], euros: str) -> Allocation:
    school = pool["school"]
    email = f"t{uuid4().hex[:8]}@ac-paris.fr"
    manager = pool["managers"][0]  # type: ignore[index]
    return budgets.allocate_one(
        manager,
        "01",
        pool["year"],
        email,
        school.uai,
        euros,
        uuid4().hex,  # type: ignore[arg-type, attr-defined]
    )


def test_crossing_the_threshold_tells_every_manager_of_the_academy_once(
    pool: dict[str, object], mailbox: Mailbox
) -> None:
    first, second = pool["managers"]  # type: ignore[misc]
    _allocate(pool, "300")  # 700 € left: above
    assert _lines("pool_low") == 0

    crossing = _allocate(pool, "300")  # 400 € left: below
    _allocate(pool, "50")  # still below: not a new crossing
    for _ in budgets.apply_allocation(first, crossing):  # a replay
        pass
    inbox = mailbox.deliver()

    for manager in (first, second):
        [message] = inbox.to(manager.email)
        assert message["Subject"] == (
            f"L’enveloppe {pool['year']} de l’académie est passée sous votre seuil d’alerte"
        )
        text = _text(message)
        assert "ne contient plus que 400,00 €" in text
        assert "seuil d’alerte de 500,00 €" in text
        assert "/academies/01" in text
    assert inbox.to(pool["lyon"].email) == []  # type: ignore[attr-defined]
    assert _lines("pool_low") == 2


def test_the_alert_is_rearmed_when_the_pool_goes_back_above(
    pool: dict[str, object], mailbox: Mailbox
) -> None:
    first = pool["managers"][0]  # type: ignore[index]
    _allocate(pool, "600")  # 400 €: below
    budgets.fund_academy(None, "01", pool["year"], 1000_00, "fund:again")  # type: ignore[arg-type]
    _allocate(pool, "1000")  # 1 400 € → 400 €: below again

    assert len(mailbox.deliver().to(first.email)) == 2


def test_a_funding_reversed_under_the_threshold_tells_the_managers(
    pool: dict[str, object], mailbox: Mailbox
) -> None:
    admin = factories.with_role(Role.ADMIN)
    entry = budgets.fund_academy(None, "01", pool["year"], 200_00, "fund:mistake")  # type: ignore[arg-type]
    _allocate(pool, "650")  # 1 200 € → 550 €: above

    budgets.reverse_funding(admin, "01", entry.id, "Dotation en double")  # 350 €

    assert len(mailbox.deliver().to(pool["managers"][0].email)) == 1  # type: ignore[index]


def test_the_pool_alert_is_a_reminder_a_manager_may_turn_off(
    pool: dict[str, object], mailbox: Mailbox
) -> None:
    first, second = pool["managers"]  # type: ignore[misc]
    notifications.choose(second.id, Topic.REMINDERS, False)

    _allocate(pool, "600")
    inbox = mailbox.deliver()

    assert len(inbox.to(first.email)) == 1
    assert inbox.to(second.email) == []
    assert _lines("pool_low", Notification.user_id == second.id) == 1  # still in the list


def test_the_threshold_is_set_on_the_budget_page_and_checked(
    pool: dict[str, object], client: FlaskClient, auth: AuthActions
) -> None:
    manager = pool["managers"][1]  # type: ignore[index]
    db.session.commit()
    auth.login(manager.email)

    page = _spaced(page_text(client.get("/academies/01")))
    assert "Seuil d’alerte de l’enveloppe" in page
    assert "500,00 €" in page

    for typed, reason in (("abc", "n'est pas un montant en euros"), ("0", "un montant entre")):
        refused = client.post("/academies/01/seuil-alerte", data={"threshold": typed})
        assert refused.status_code == 422
        text = _spaced(page_text(refused))
        assert "Seuil d'alerte de l'enveloppe" in text
        assert reason in text

    done = client.post("/academies/01/seuil-alerte", data={"threshold": "1 250,50"})
    assert done.status_code == 302
    threshold = db.session.get(PoolThreshold, ("01", pool["year"]))
    assert threshold is not None
    assert threshold.threshold_cents == 1250_50
    assert "1 250,50 €" in _spaced(page_text(client.get("/academies/01")))

    client.post("/academies/01/seuil-alerte", data={"threshold": ""})
    assert budgets.pool_threshold("01", pool["year"]) is None  # type: ignore[arg-type]


def test_only_the_academy_s_managers_set_its_threshold(
    pool: dict[str, object], client: FlaskClient, auth: AuthActions
) -> None:
    db.session.commit()
    auth.login(pool["lyon"].email)  # type: ignore[attr-defined]

    refused = client.post("/academies/01/seuil-alerte", data={"threshold": "10"})

    assert refused.status_code == 403
    assert budgets.pool_threshold("01", pool["year"]).threshold_cents == 500_00  # type: ignore[arg-type, union-attr]


# --- academy managers: the monthly report ------------------------------------------------------


def test_the_monthly_report_is_told_to_each_academy_s_managers_once(
    session: Session, mailbox: Mailbox
) -> None:
    paris_manager = factories.academy_manager("01")
    both = factories.academy_manager("01")
    both.grants.append(RoleGrant(role=Role.ACADEMY_MANAGER, academy_code="10"))  # type: ignore[attr-defined]
    notifications.choose(both.id, Topic.REMINDERS, False)  # essential: still sent
    teacher = factories.teacher()
    db.session.flush()
    month = reporting_notices.previous_month(dates.today())

    reporting_notices.tell_monthly_reports()
    reporting_notices.tell_monthly_reports()  # run again
    inbox = mailbox.deliver()

    [message] = inbox.to(paris_manager.email)
    assert message["Subject"].startswith("Le rapport de ")
    assert "Académie de Paris" in message["Subject"]
    assert f"/academies/01/rapport.pdf?mois={month:%Y-%m}" in _text(message)
    assert "List-Unsubscribe" not in message
    assert len(inbox.to(both.email)) == 2  # one per academy
    assert inbox.to(teacher.email) == []
    assert _lines("monthly_report_ready") == 3


def test_the_month_is_named_in_the_reader_s_language(session: Session, mailbox: Mailbox) -> None:
    manager = factories.academy_manager("01", locale="en")
    month = reporting_notices.previous_month(dates.today())

    reporting_notices.tell_monthly_reports()
    [message] = mailbox.deliver().to(manager.email)

    assert f"{month:%B %Y}" in message["Subject"]  # "November 2026"


def test_the_previous_month_of_january_is_december() -> None:
    assert reporting_notices.previous_month(date(2027, 1, 1)) == date(2026, 12, 1)


# --- admins: dead jobs ------------------------------------------------------------------------


def _dead(at: datetime) -> jobs.Job:
    jobs.enqueue("noop", {}, key=f"noop:{uuid4().hex}")
    job = db.session.scalars(select(jobs.Job).order_by(jobs.Job.id.desc())).first()
    assert job is not None
    job.status, job.finished_at = jobs.JobStatus.DEAD, at
    db.session.flush()
    return job


def test_the_jobs_that_died_in_the_last_hour_are_told_to_admins_once(
    session: Session, mailbox: Mailbox
) -> None:
    first, second = factories.with_role(Role.ADMIN), factories.with_role(Role.ADMIN)
    reviewer = factories.with_role(Role.REVIEWER)
    start, end = core_notices.last_hour(utcnow())
    _dead(start + timedelta(minutes=10))
    _dead(end - timedelta(seconds=1))
    _dead(start - timedelta(minutes=1))  # the hour before: its own digest
    if end + timedelta(seconds=1) < utcnow():
        _dead(end + timedelta(seconds=1))  # this hour: the next digest

    core_notices.tell_dead_jobs()
    core_notices.tell_dead_jobs()  # run again in the same hour
    inbox = mailbox.deliver()

    for admin in (first, second):
        [message] = inbox.to(admin.email)
        assert message["Subject"].startswith("2 tâches en échec entre ")
        text = _text(message)
        assert text.count("- Tâche de vérification (sans effet)") == 2
        assert "/admin/taches" in text
        assert "noop" not in text
    assert inbox.to(reviewer.email) == []
    assert _lines("dead_jobs") == 2


def test_no_job_died_no_digest(session: Session, mailbox: Mailbox) -> None:
    factories.with_role(Role.ADMIN)

    core_notices.tell_dead_jobs()

    assert _lines("dead_jobs") == 0
    assert mailbox.deliver().messages == []


# --- admins: the reconciliation --------------------------------------------------------------


@pytest.fixture
def paid_today(market: Market) -> Payout:  # noqa: F811 - the payouts' fixture
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    [payout] = settle(date(2026, 9, 30), now=paris(2026, 10, 5)).payouts
    return payout


def _tomorrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The daily task reconciles the day before: today's payouts, seen from tomorrow."""
    today = dates.today()
    monkeypatch.setattr(payout_notices.dates, "today", lambda: today + timedelta(days=1))


def test_a_mismatch_is_told_to_admins_once_a_day(
    paid_today: Payout, monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox
) -> None:
    admin = factories.with_role(Role.ADMIN)
    vendor_member = factories.vendor_member(db.session.get(Vendor, paid_today.vendor_id))
    paid_today.status = PayoutStatus.FAILED
    db.session.flush()
    today = dates.today()
    _tomorrow(monkeypatch)

    payout_notices.reconcile_yesterday()
    payout_notices.reconcile_yesterday()
    inbox = mailbox.deliver()

    [message] = inbox.to(admin.email)
    assert message["Subject"].startswith("Rapprochement des versements du ")
    text = _text(message)
    assert f"Versement {paid_today.number} à Éditions de la Mer SAS" in text
    assert "le virement n’a pas été effectué" in text
    assert f"/admin/versements/rapprochement?du={today}&au={today}" in text
    assert inbox.to(vendor_member.email) == []
    assert _lines("reconciliation_mismatch") == 1


def test_books_that_agree_tell_nobody(
    paid_today: Payout, monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox
) -> None:
    factories.with_role(Role.ADMIN)
    _tomorrow(monkeypatch)

    payout_notices.reconcile_yesterday()

    assert _lines("reconciliation_mismatch") == 0


def test_every_staff_task_is_on_the_schedule() -> None:
    from app.core import schedule

    assert {
        "vetting.digest",
        "reporting.monthly-report",
        "jobs.dead-digest",
        "payouts.reconcile",
    } <= set(schedule.TASKS)
    assert schedule.describe_cadence(schedule.TASKS["reporting.monthly-report"].cron) == (
        "le 1er de chaque mois à 7 h 00"
    )
