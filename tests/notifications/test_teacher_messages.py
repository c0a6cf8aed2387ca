"""What a teacher is told (issue 13, the teacher's row): credit received, licence ready or
failed, line cancelled and credit back, credit expiring. Each through the real SMTP
server (`mailbox`), once per event, in the list too."""

from __future__ import annotations

import threading
from datetime import date
from email.message import EmailMessage

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.budgets import services as budgets
from app.core import jobs
from app.core.jobs import Job
from app.core.templating import format_cents
from app.extensions import db
from app.licences import services as licences
from app.licences.models import Licence
from app.notifications import services as notifications
from app.notifications.models import Notification, Topic
from app.orders import services as orders
from app.products.models import Channel, PlanKind
from tests import factories
from tests.conftest import Mailbox, requires_postgres
from tests.orders.helpers import buy, on_sale, school_year, teacher_with_credit
from tests.smtp import Inbox


def told(user: User, event: str) -> int:
    """How many lines of `event` the person's list holds."""
    query = select(func.count()).where(Notification.user_id == user.id, Notification.event == event)
    return int(db.session.scalar(query) or 0)


def euros(cents: int) -> str:
    """An amount as a subject line reads it (its no-break spaces are plain there)."""
    return format_cents(cents).replace("\u00a0", " ").replace("\u202f", " ")


def subject(message: EmailMessage) -> str:
    return str(message["Subject"]).replace("\u00a0", " ").replace("\u202f", " ")


def mails(inbox: Inbox, user: User, subject: str) -> list[EmailMessage]:
    return [m for m in inbox.to(user.email) if subject in str(m["Subject"])]


def text_of(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def year_end() -> date:
    return budgets.ensure_school_year(school_year()).ends_on


# --- credit received ------------------------------------------------------------------------


def test_a_credit_is_told_once_to_its_teacher_and_nobody_else(
    session: Session, mailbox: Mailbox
) -> None:
    school = factories.SchoolFactory(academy_code="01")
    teacher = factories.teacher(school)
    other = factories.teacher(school)
    budgets.fund_academy(None, "01", school_year(), 500_00, "fund:credit")
    manager = factories.academy_manager("01")
    allocation = budgets.allocate_one(
        manager, "01", school_year(), teacher.email, school.uai, "120,00", "one:credit"
    )
    for _ in budgets.apply_allocation(manager, allocation):  # applied again: nothing more
        pass

    inbox = mailbox.deliver()

    [message] = inbox.to(teacher.email)
    assert subject(message) == f"Vous avez reçu {euros(120_00)} de crédit"
    text = text_of(message)
    assert f"Crédit disponible : {format_cents(120_00)}" in text
    assert "/catalogue" in text
    assert "revient à l’académie" in text
    assert "List-Unsubscribe" not in message  # money: cannot be turned off
    assert told(teacher, "credit_received") == 1
    assert inbox.to(other.email) == []
    assert inbox.to(manager.email) == []
    assert told(other, "credit_received") == 0


def test_a_rule_applied_in_chunks_tells_each_teacher_once(
    session: Session, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budgets, "ALLOCATION_CHUNK", 2)  # three chunks for five teachers
    school = factories.SchoolFactory(academy_code="01")
    teachers = [factories.teacher(school) for _ in range(5)]
    budgets.fund_academy(None, "01", school_year(), 1_000_00, "fund:rule")
    preview = budgets.preview_rule(None, "01", school_year(), budgets.Rule(30_00), "rule:1")
    for _ in budgets.apply_allocation(None, preview.allocation):
        pass
    # The same rule again (a new allocation, as after a crash): nobody is credited twice.
    again = budgets.preview_rule(None, "01", school_year(), budgets.Rule(30_00), "rule:2")
    for _ in budgets.apply_allocation(None, again.allocation):
        pass

    inbox = mailbox.deliver()

    for teacher in teachers:
        [message] = inbox.to(teacher.email)
        assert subject(message) == f"Vous avez reçu {euros(30_00)} de crédit"
        assert told(teacher, "credit_received") == 1


def test_a_teacher_without_a_password_gets_the_activation_mail_alone(
    session: Session, mailbox: Mailbox
) -> None:
    school = factories.SchoolFactory(academy_code="01")
    budgets.fund_academy(None, "01", school_year(), 500_00, "fund:new")
    manager = factories.academy_manager("01")
    address = f"nouvelle.venue@{school.academy.email_domain}"
    budgets.allocate_one(manager, "01", school_year(), address, school.uai, "50,00", "one:new")

    inbox = mailbox.deliver()

    [message] = inbox.to(address)
    assert message["Subject"] == "Activez votre compte Compte Ressources"
    assert "un crédit vous attend" in text_of(message)


# --- licence ready or failed ------------------------------------------------------------------


def _licence(channel: Channel, title: str) -> tuple[User, Licence]:
    school = factories.SchoolFactory(academy_code="01")
    teacher = teacher_with_credit(school, 100_00)
    product = on_sale(title=title, channel=channel)
    order = buy(teacher, product)
    licence = order.lines[0].licence
    assert licence is not None
    return teacher, licence


def test_a_code_licence_ready_says_where_to_reveal_the_code_never_the_code(
    session: Session, mailbox: Mailbox
) -> None:
    teacher, licence = _licence(Channel.CODES, "Atlas des océans")
    licences.upload_codes(None, licence.product, PlanKind.SCHOOL, ["SECRET-CODE-42"])
    jobs.work(once=True, kinds=[licences.PROVISION])
    jobs.work(once=True, kinds=[licences.PROVISION])  # provisioned again: told once

    inbox = mailbox.deliver()

    [message] = mails(inbox, teacher, "est prête")
    assert message["Subject"] == "La ressource « Atlas des océans » est prête"
    text = text_of(message)
    assert f"/mes-ressources#licence-{licence.id}" in text
    assert "Révéler le code" in text
    assert "SECRET-CODE-42" not in message.as_string()
    assert told(teacher, "licence_ready") == 1


def test_a_licence_ready_links_to_our_opening_address(session: Session, mailbox: Mailbox) -> None:
    teacher, licence = _licence(Channel.WEBHOOK, "Chimie en 3D")
    for _ in range(2):  # the vendor confirms twice
        licences.confirm(None, licence, access_url="https://editeur.example/a/1", external_id=None)

    inbox = mailbox.deliver()

    [message] = mails(inbox, teacher, "est prête")
    text = text_of(message)
    assert f"/mes-ressources/{licence.id}/ouvrir" in text
    assert "editeur.example" not in text  # through our redirect, which records the opening
    assert "met fin à la possibilité d’annuler" in text
    assert told(teacher, "licence_ready") == 1


def test_a_failed_licence_is_told_with_its_reason_and_what_comes_next(
    session: Session, mailbox: Mailbox
) -> None:
    teacher, licence = _licence(Channel.WEBHOOK, "Chimie en 3D")
    reason = "L’établissement n’est pas abonné chez l’éditeur"
    licences.fail(licence, reason, None)
    licences.fail(licence, reason, None)  # failed again: told once

    inbox = mailbox.deliver()

    [message] = mails(inbox, teacher, "n’a pas pu vous être livrée")
    assert message["Subject"] == "La ressource « Chimie en 3D » n’a pas pu vous être livrée"
    text = text_of(message)
    assert reason in text
    assert "Réessayer" in text
    assert "votre crédit vous sera rendu" in text
    assert f"/mes-ressources#licence-{licence.id}" in text
    assert told(teacher, "licence_failed") == 1


# --- line cancelled -------------------------------------------------------------------------


def test_a_cancelled_line_tells_the_credit_back_once(session: Session, mailbox: Mailbox) -> None:
    school = factories.SchoolFactory(academy_code="01")
    teacher = teacher_with_credit(school, 100_00)
    order = buy(teacher, on_sale(title="Atlas des océans"))
    line = order.lines[0]
    orders.cancel_line(teacher, line.id)
    orders.cancel_line(teacher, line.id)  # a second click

    inbox = mailbox.deliver()

    [message] = mails(inbox, teacher, "Annulation")
    assert subject(message) == (
        f"Annulation de « Atlas des océans » : {euros(line.price_cents)} rendus sur votre crédit"
    )
    text = text_of(message)
    assert f"Crédit disponible : {format_cents(100_00)}" in text
    assert f"/mes-commandes/{order.id}" in text
    assert told(teacher, "line_cancelled") == 1


# --- credit expiring ------------------------------------------------------------------------


def _holders() -> tuple[User, User, User]:
    """A teacher with credit left, one who spent it all, one who turned reminders off."""
    school = factories.SchoolFactory(academy_code="01")
    keen = teacher_with_credit(school, 80_00)
    spent = teacher_with_credit(school, 40_00)
    buy(spent, on_sale())  # 40 € school plan: nothing left
    tired = teacher_with_credit(school, 10_00)
    notifications.choose(tired.id, Topic.REMINDERS, False)
    return keen, spent, tired


def test_credit_expiring_is_told_30_then_7_days_before_the_end_once_each(
    session: Session, mailbox: Mailbox
) -> None:
    keen, spent, tired = _holders()
    end = year_end()
    assert end == date(end.year, 8, 31)
    mailbox.deliver()  # the messages of the setup
    mailbox.inbox.clear()

    for day in (date(end.year, 7, 31), date(end.year, 8, 2)):
        assert budgets.remind_expiring_credit(day) == 0  # not a reminder day
    assert budgets.remind_expiring_credit(date(end.year, 8, 1)) == 2
    assert budgets.remind_expiring_credit(date(end.year, 8, 1)) == 0  # the task run again
    inbox = mailbox.deliver()

    [message] = inbox.to(keen.email)
    assert subject(message) == (
        f"Il vous reste {euros(80_00)} de crédit à utiliser avant le 31 août {end.year}"
    )
    text = text_of(message)
    assert "plus que 30 jours" in text
    assert "reviendra à votre académie" in text
    assert "/catalogue" in text
    assert "/desabonnement/" in message["List-Unsubscribe"]
    assert inbox.to(spent.email) == []
    assert told(spent, "credit_expiring") == 0
    assert inbox.to(tired.email) == []  # turned off: not mailed, still in the list
    assert told(tired, "credit_expiring") == 1

    mailbox.inbox.clear()
    budgets.remind_expiring_credit(date(end.year, 8, 24))
    inbox = mailbox.deliver()
    [message] = inbox.to(keen.email)
    assert "plus que 7 jours" in text_of(message)
    assert told(keen, "credit_expiring") == 2


def test_the_task_is_declared_daily(app: Flask) -> None:
    from app.core import schedule

    task = schedule.TASKS["budgets.credit-reminder"]
    assert task.cron == "0 8 * * *"
    assert task.run is budgets.remind_expiring_credit_today


@requires_postgres
def test_two_sessions_running_the_reminder_at_once_queue_each_teacher_once(
    committed: Flask,
) -> None:
    teachers = 12
    with committed.app_context():
        year = budgets.ensure_school_year(school_year())
        budgets.fund_academy(None, "01", year.code, 10_000_00, "fund:race")
        school = factories.SchoolFactory(academy_code="01")
        for _ in range(teachers):
            factories.teacher(school)
        manager = factories.academy_manager("01")
        preview = budgets.preview_rule(manager, "01", year.code, budgets.Rule(20_00), "rule:race")
        for _ in budgets.apply_allocation(manager, preview.allocation):
            pass
        db.session.commit()
        day = date(year.ends_on.year, 8, 1)

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    queued: list[int] = []

    def run() -> None:
        with committed.app_context():
            try:
                barrier.wait(timeout=10)
                queued.append(budgets.remind_expiring_credit(day))
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                db.session.rollback()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(queued) == [0, teachers]
    with committed.app_context():
        per_person = db.session.execute(
            select(Notification.user_id, func.count())
            .where(Notification.event == "credit_expiring")
            .group_by(Notification.user_id)
        ).all()
        assert len(per_person) == teachers
        assert {count for _user, count in per_person} == {1}
        reminders = select(func.count()).where(Job.key.like("mail:credit_expiring:%"))
        assert db.session.scalar(reminders) == teachers


def test_unique_keys_hold_the_year_and_the_step(session: Session) -> None:
    school = factories.SchoolFactory(academy_code="01")
    teacher_with_credit(school, 10_00)
    end = year_end()
    budgets.remind_expiring_credit(date(end.year, 8, 1))
    keys = db.session.scalars(
        select(Notification.key).where(Notification.event == "credit_expiring")
    ).all()
    assert keys == [f"credit-expiring:{school_year()}:30"]
