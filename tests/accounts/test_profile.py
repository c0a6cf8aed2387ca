"""« Mon profil » : name, address (confirmed by the new one), password (asks the current
one), roles and scopes, and « se déconnecter de partout »."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import Role, User
from app.core.audit import AuditEvent
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.helpers import page_text
from tests.smtp import link

NEW = "une nouvelle phrase de passe"


def test_the_profile_shows_name_address_roles_and_scopes(
    client: FlaskClient, auth: AuthActions
) -> None:
    teacher = factories.teacher(email="lea.roux@ac-lyon.fr", name="Léa Roux")
    vendor = factories.VendorFactory(legal_name="Éditions Roux SAS")
    services.grant_role(None, teacher, Role.VENDOR, vendor=vendor)
    auth.login(teacher.email)
    page = page_text(client.get("/mon-profil/"))
    assert "Léa Roux" in page
    assert "lea.roux@ac-lyon.fr" in page
    assert "Enseignant — " in page
    assert "Éditeur — Éditions Roux SAS" in page
    assert "Se déconnecter de partout" in page


def test_the_name_can_be_changed_and_must_not_be_empty(
    client: FlaskClient, auth: AuthActions
) -> None:
    user = factories.teacher(name="Ancien Nom")
    auth.login(user.email)
    assert client.post("/mon-profil/nom", data={"name-name": "  Nouveau   Nom "}).status_code == 302
    db.session.refresh(user)
    assert user.name == "Nouveau Nom"
    refused = client.post("/mon-profil/nom", data={"name-name": "   "})
    assert refused.status_code == 422
    assert "Saisissez votre nom." in page_text(refused)
    db.session.refresh(user)
    assert user.name == "Nouveau Nom"


def test_a_new_address_is_confirmed_by_a_link_sent_to_it(
    client: FlaskClient, auth: AuthActions, mailbox: Mailbox
) -> None:
    user = factories.teacher(email="avant@ac-lyon.fr")
    auth.login(user.email)
    response = client.post("/mon-profil/adresse", data={"email-email": "Apres@AC-Lyon.fr"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email == "avant@ac-lyon.fr"  # not before the new address answers
    (message,) = mailbox.deliver().messages
    assert str(message["To"]).endswith("<apres@ac-lyon.fr>")
    assert message["Subject"] == "Confirmez votre nouvelle adresse électronique"
    confirm = link(message, "/mon-profil/adresse/")
    assert client.get(confirm).status_code == 302
    db.session.refresh(user)
    assert user.email == "apres@ac-lyon.fr"
    assert client.get(confirm).status_code == 410  # used
    auth.logout()
    assert auth.login("apres@ac-lyon.fr").status_code == 302


def test_an_address_change_is_refused_clearly(
    client: FlaskClient, auth: AuthActions, mailbox: Mailbox
) -> None:
    user = factories.teacher()
    taken = factories.teacher()
    auth.login(user.email)
    for address, reason in (
        ("pas une adresse", "n'est pas valide"),
        (taken.email, "Un autre compte utilise déjà cette adresse."),
        (user.email, "C'est déjà votre adresse"),
    ):
        response = client.post("/mon-profil/adresse", data={"email-email": address})
        assert response.status_code == 422
        assert reason in page_text(response)
    assert mailbox.deliver().messages == []


def test_changing_the_password_asks_the_current_one(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = factories.teacher()
    auth.login(user.email)
    other_device = app.test_client()
    AuthActions(other_device).login(user.email)
    wrong = client.post(
        "/mon-profil/mot-de-passe",
        data={
            "password-current_password": "pas le bon",
            "password-password": NEW,
            "password-confirmation": NEW,
        },
    )
    assert wrong.status_code == 422
    assert "Le mot de passe actuel n'est pas le bon." in page_text(wrong)
    weak = client.post(
        "/mon-profil/mot-de-passe",
        data={
            "password-current_password": factories.PASSWORD,
            "password-password": "motdepasse123",
            "password-confirmation": "motdepasse123",
        },
    )
    assert weak.status_code == 422
    assert "plus courants" in page_text(weak)
    db.session.refresh(user)
    assert user.password_hash == factories.PASSWORD_HASH
    done = client.post(
        "/mon-profil/mot-de-passe",
        data={
            "password-current_password": factories.PASSWORD,
            "password-password": NEW,
            "password-confirmation": NEW,
        },
    )
    assert done.status_code == 302
    assert client.get("/mon-profil/").status_code == 200  # this session goes on
    assert other_device.get("/mon-profil/").status_code == 302  # the other one ended
    auth.logout()
    assert auth.login(user.email, NEW).status_code == 302


def test_signing_out_everywhere_ends_every_session(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = factories.teacher()
    auth.login(user.email)
    phone = app.test_client()
    AuthActions(phone).login(user.email)
    assert phone.get("/mon-profil/").status_code == 200
    response = client.post("/mon-profil/deconnexion-partout", follow_redirects=True)
    assert "Vous êtes déconnecté de tous vos appareils." in page_text(response)
    assert client.get("/mon-profil/").status_code == 302
    assert phone.get("/mon-profil/").status_code == 302
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.sessions_ended"))
        is not None
    )
    assert auth.login(user.email).status_code == 302  # signing in again works


def test_a_cookie_from_before_the_session_version_is_refused(
    client: FlaskClient, auth: AuthActions
) -> None:
    user = factories.teacher()
    auth.login(user.email)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user.id)  # the old format, without a version
    assert client.get("/mon-profil/").status_code == 302
    assert isinstance(db.session.get(User, user.id), User)
