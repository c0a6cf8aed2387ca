"""« Mot de passe oublié » : the same answer for everyone, a link valid one hour that works
once, and stops working when the password changes another way; limited per address and IP."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import User
from app.core.jobs import Job
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.helpers import page_text
from tests.smtp import link

NEW = "trois petits chats blancs"


def reset_link(client: FlaskClient, mailbox: Mailbox, user: User) -> str:
    client.post("/mot-de-passe-oublie", data={"email": user.email})
    (message,) = mailbox.deliver().to(user.email)
    mailbox.inbox.clear()
    return link(message, "/mot-de-passe/")


def test_the_answer_is_the_same_whether_the_address_exists_or_not(
    client: FlaskClient, mailbox: Mailbox
) -> None:
    user = factories.teacher(email="connue@ac-lyon.fr")
    answers = {}
    for email in (user.email, "inconnue@ac-lyon.fr", "pas-une-adresse"):
        response = client.post("/mot-de-passe-oublie", data={"email": email}, follow_redirects=True)
        answers[email] = (response.status_code, page_text(response).count("Si un compte"))
    assert set(answers.values()) == {(200, 1)}
    assert [str(m["To"]) for m in mailbox.deliver().messages] == [f"{user.name} <{user.email}>"]


def test_a_reset_link_sets_a_new_password_once(
    client: FlaskClient, auth: AuthActions, mailbox: Mailbox
) -> None:
    user = factories.teacher()
    path = reset_link(client, mailbox, user)
    assert "Choisir un nouveau mot de passe" in page_text(client.get(path))
    weak = client.post(path, data={"password": "azerty", "confirmation": "azerty"})
    assert weak.status_code == 422
    assert "au moins 12 caractères" in page_text(weak)
    done = client.post(path, data={"password": NEW, "confirmation": NEW})
    assert done.status_code == 302  # signed in
    auth.logout()
    assert auth.login(user.email).status_code == 200  # the old password is gone
    assert auth.login(user.email, NEW).status_code == 302
    auth.logout()
    again = client.post(path, data={"password": "un autre essai de pirate", "confirmation": "x"})
    assert again.status_code == 410
    assert "sert une seule fois" in page_text(again)


def test_a_reset_link_stops_working_after_any_later_password_change(
    client: FlaskClient, auth: AuthActions, mailbox: Mailbox
) -> None:
    user = factories.teacher()
    path = reset_link(client, mailbox, user)
    services.change_password(user, factories.PASSWORD, "changé ailleurs entre-temps")
    db.session.commit()
    assert client.get(path).status_code == 410


def test_a_reset_link_expires_after_one_hour(
    client: FlaskClient, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = factories.teacher()
    path = reset_link(client, mailbox, user)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3601)
    assert client.get(path).status_code == 410
    monkeypatch.setattr(time, "time", lambda: now + 3500)
    assert client.get(path).status_code == 200


def test_a_forged_reset_link_is_refused(client: FlaskClient, mailbox: Mailbox) -> None:
    user = factories.teacher()
    path = reset_link(client, mailbox, user)
    response = client.post(path[:-3] + "abc", data={"password": NEW, "confirmation": NEW})
    assert response.status_code == 410
    db.session.refresh(user)
    assert user.password_hash == factories.PASSWORD_HASH


def test_resetting_ends_every_other_session(
    app: Flask, client: FlaskClient, auth: AuthActions, mailbox: Mailbox
) -> None:
    user = factories.teacher()
    other_device = app.test_client()
    AuthActions(other_device).login(user.email)
    assert other_device.get("/mon-profil/").status_code == 200
    path = reset_link(client, mailbox, user)
    client.post(path, data={"password": NEW, "confirmation": NEW})
    assert other_device.get("/mon-profil/").status_code == 302  # sent to the login page


def test_a_waiting_account_gets_its_activation_link(client: FlaskClient, mailbox: Mailbox) -> None:
    waiting = services.create_user("attend@ac-lyon.fr", "Attend")
    client.post("/mot-de-passe-oublie", data={"email": "Attend@AC-Lyon.fr"})
    (message,) = mailbox.deliver().to(waiting.email)
    assert link(message, "/activation/")


def test_requests_are_limited_per_account_address(client: FlaskClient, mailbox: Mailbox) -> None:
    user = factories.teacher()
    statuses = [
        client.post("/mot-de-passe-oublie", data={"email": user.email}).status_code
        for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    assert db.session.scalar(select(func.count(Job.id)).where(Job.kind == "mail")) == 3


def test_requests_are_limited_per_network_address(app: Flask, client: FlaskClient) -> None:
    saved = app.config["MAIL_REQUESTS_PER_ADDRESS"]
    app.config["MAIL_REQUESTS_PER_ADDRESS"] = "3 per hour"
    try:
        statuses = [
            client.post("/mot-de-passe-oublie", data={"email": f"autre{n}@ac-lyon.fr"}).status_code
            for n in range(4)
        ]
        assert statuses == [302, 302, 302, 429]
    finally:
        app.config["MAIL_REQUESTS_PER_ADDRESS"] = saved
