"""Notifications: one line in the person's list and one e-mail per event and person, never
twice; optional topics turned off on the profile or by one click from the message; the bell."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import notifications
from app.accounts.models import User
from app.core.jobs import Job
from app.extensions import db
from app.notifications import services
from app.notifications.models import MailChoice, Notification, Topic
from app.orders.models import Order
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.orders.helpers import buy, on_sale, teacher_with_credit


def _count(model: type, *where: object) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _forget_credit_messages() -> None:
    """The credit given to set a test up is told too (tests/notifications/
    test_teacher_messages.py): these tests look at the order's message alone."""
    db.session.execute(delete(Notification).where(Notification.event == "credit_received"))
    db.session.execute(delete(Job).where(Job.key.like("mail:credit_received:%")))


@pytest.fixture
def order(session: Session) -> Order:
    school = factories.SchoolFactory(academy_code="01")
    teacher = teacher_with_credit(school, 100_00)
    teacher.name = "Camille Durand"
    _forget_credit_messages()
    return buy(teacher, on_sale(title="Atlas des océans"))


def test_an_order_is_told_in_the_list_and_by_mail_once(order: Order, mailbox: Mailbox) -> None:
    teacher = order.teacher
    [line] = db.session.scalars(select(Notification).where(Notification.user_id == teacher.id))

    inbox = mailbox.deliver()

    assert line.event == "order_confirmed"
    assert line.read_at is None
    [message] = inbox.to(teacher.email)
    assert message["Subject"] == f"Commande {order.number} confirmée"
    text = message.get_body(("plain",)).get_content()
    assert "Atlas des océans" in text
    assert "Crédit restant" in text
    assert f"/mes-commandes/{order.id}" in text
    assert "List-Unsubscribe" not in message  # an order cannot be turned off


def test_the_same_event_told_again_adds_nothing(order: Order, mailbox: Mailbox) -> None:
    teacher = order.teacher
    for _ in range(3):  # a replayed request, a task run twice
        notifications.notify(
            "order_confirmed",
            {"order": order.id},
            users=[teacher.id],
            key=f"order-confirmed:{order.id}",
        )

    assert _count(Notification, Notification.user_id == teacher.id) == 1
    assert _count(Job, Job.kind == "mail") == 1
    assert len(mailbox.deliver().to(teacher.email)) == 1


def test_notify_many_tells_each_person_of_a_select_once(session: Session, mailbox: Mailbox) -> None:
    people = [factories.UserFactory() for _ in range(3)]
    order_holder = teacher_with_credit(factories.SchoolFactory(academy_code="01"), 50_00)
    order = buy(order_holder, on_sale())
    ids = [p.id for p in people]
    chosen = select(User.id.label("user"), func.cast(order.id, db.Integer).label("order")).where(
        User.id.in_(ids)
    )

    first = services.notify_many("order_confirmed", chosen, key="bulk:1")
    again = services.notify_many("order_confirmed", chosen, key="bulk:1")

    assert (first, again) == (3, 0)
    assert _count(Notification, Notification.key == "bulk:1") == 3
    # The builder is asked per person: it tells nobody about an order that is not theirs.
    inbox = mailbox.deliver()
    assert [m for p in people for m in inbox.to(p.email)] == []


def test_the_bell_counts_the_unread_and_the_list_marks_them_read(
    order: Order, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(order.teacher.email)

    page = client.get("/mon-compte", follow_redirects=True).get_data(as_text=True)
    assert "1 notification non lue" in page
    listing = client.get("/notifications").get_data(as_text=True)
    assert f"Commande {order.number} confirmée" in listing
    [line] = db.session.scalars(select(Notification))
    opened = client.get(f"/notifications/{line.id}")

    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/mes-commandes/{order.id}"
    assert line.read_at is not None
    page = client.get("/notifications").get_data(as_text=True)
    assert "notification non lue" not in page
    assert "Non lue" not in page


def test_mark_all_read_and_nobody_else_opens_yours(
    order: Order, client: FlaskClient, auth: AuthActions
) -> None:
    [line] = db.session.scalars(select(Notification))
    stranger = factories.UserFactory()
    auth.login(stranger.email)
    assert client.get(f"/notifications/{line.id}").status_code == 404
    auth.logout()

    auth.login(order.teacher.email)
    client.post("/notifications/tout-lu")

    assert services.unread_count(order.teacher.id) == 0


def test_choices_on_the_profile_default_to_reminders_on_and_digests_off(
    session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    user = factories.UserFactory()
    assert services.choices(user.id) == {Topic.REMINDERS: True, Topic.DIGESTS: False}
    auth.login(user.email)
    profile = client.get("/mon-profil/").get_data(as_text=True)
    assert "Récapitulatifs quotidiens" in profile
    assert "Rappels" in profile

    client.post("/mon-profil/courriels", data={"digests": "oui"})

    assert services.choices(user.id) == {Topic.REMINDERS: False, Topic.DIGESTS: True}


def test_an_unsubscribe_link_turns_its_topic_off_in_one_post_without_login(
    session: Session, client: FlaskClient
) -> None:
    user = factories.UserFactory()
    token = services.unsubscribe_token(user.id, Topic.REMINDERS)

    page = client.get(f"/desabonnement/{token}")  # a link scanner's GET changes nothing
    assert page.status_code == 200
    assert services.wants(user.id, Topic.REMINDERS)
    done = client.post(f"/desabonnement/{token}", data={"List-Unsubscribe": "One-Click"})

    assert done.status_code == 200
    assert "vous ne recevrez plus de courriels « Rappels »" in done.get_data(as_text=True)
    assert db.session.get(MailChoice, (user.id, Topic.REMINDERS)).wanted is False
    forged = client.post(f"/desabonnement/{token[:-2]}xx")
    assert forged.status_code == 404


def test_the_reader_s_language_is_the_one_they_chose(
    order: Order, client: FlaskClient, auth: AuthActions, mailbox: Mailbox
) -> None:
    auth.login(order.teacher.email)
    client.get("/langue/en")

    assert db.session.scalar(select(User.locale).where(User.id == order.teacher_id)) == "en"
    [message] = mailbox.deliver().to(order.teacher.email)
    assert message["Subject"] == f"Order {order.number} confirmed"
    assert message["Content-Language"] == "en"


def test_an_optional_message_is_not_mailed_to_who_turned_it_off(
    app: Flask, session: Session, mailbox: Mailbox
) -> None:
    event = services.Event(
        "order_confirmed", "Rappel", Topic.REMINDERS, services.EVENTS["order_confirmed"].build
    )
    saved = services.EVENTS["order_confirmed"]
    services.EVENTS["order_confirmed"] = event  # the same letter, as if it were a reminder
    try:
        school = factories.SchoolFactory(academy_code="01")
        keen, tired = teacher_with_credit(school, 50_00), teacher_with_credit(school, 50_00)
        services.choose(tired.id, Topic.REMINDERS, False)
        _forget_credit_messages()
        buy(keen, on_sale())
        buy(tired, on_sale())
        inbox = mailbox.deliver()
    finally:
        services.EVENTS["order_confirmed"] = saved

    [sent] = inbox.messages
    assert keen.email in str(sent["To"])
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(.+)>", sent["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    assert "/desabonnement/" in link
    assert link in sent.get_body(("plain",)).get_content()
    assert _count(Notification, Notification.user_id == tired.id) == 1  # still in the list
