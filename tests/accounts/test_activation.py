"""A teacher registered by their academy's allocation activates their account and sees the
credit that waited for them."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import User
from app.budgets import services as budgets
from app.core import dates
from app.core.audit import AuditEvent
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.helpers import page_text
from tests.smtp import link as smtp_link
from tests.smtp import parts

YEAR = budgets.school_year_code(dates.today())
NEW = "une phrase de passe facile"


@pytest.fixture
def waiting_teacher(session: object) -> User:
    """A teacher created by a file allocation of 120 €: no password yet."""
    budgets.ensure_school_year(YEAR)
    budgets.fund_academy(None, "01", YEAR, 100_000, "fund:activation")
    school = factories.SchoolFactory(uai="0750654D", academy_code="01")
    manager = factories.academy_manager("01")
    preview = budgets.preview_file(
        manager, "01", YEAR, io.BytesIO(f"claire.petit@ac-paris.fr;120;{school.uai}\n".encode())
    )
    assert preview.allocation is not None
    for _ in budgets.apply_allocation(manager, preview.allocation):
        pass
    user = services.find_user("claire.petit@ac-paris.fr")
    assert user is not None
    assert user.password_hash is None
    return user


def test_an_allocation_mails_the_activation_link_and_the_credit_waits(
    client: FlaskClient, auth: AuthActions, waiting_teacher: User, mailbox: Mailbox
) -> None:
    assert auth.login(waiting_teacher.email, "anything-at-all").status_code == 200  # no password
    (message,) = mailbox.deliver().to(waiting_teacher.email)
    assert message["Subject"] == "Activez votre compte Compte Ressources"
    text, _html = parts(message)
    assert "Votre académie vous a inscrit" in text
    link = smtp_link(message, "/activation/")
    refused = client.post(link, data={"password": NEW, "confirmation": "autre-chose-encore"})
    assert "Les deux mots de passe ne sont pas identiques." in page_text(refused)
    response = client.post(link, data={"password": NEW, "confirmation": NEW})
    assert response.status_code == 302
    page = page_text(client.get("/mon-compte"))
    assert "120,00" in page
    auth.logout()
    assert auth.login(waiting_teacher.email, NEW).status_code == 302
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.activated"))
        is not None
    )


def test_allocating_again_does_not_mail_again(waiting_teacher: User, mailbox: Mailbox) -> None:
    assert len(mailbox.deliver().to(waiting_teacher.email)) == 1
    manager = factories.academy_manager("01")
    preview = budgets.preview_file(
        manager, "01", YEAR, io.BytesIO(b"claire.petit@ac-paris.fr;30;0750654D\n")
    )
    assert preview.allocation is not None
    for _ in budgets.apply_allocation(manager, preview.allocation):
        pass
    assert len(mailbox.deliver().to(waiting_teacher.email)) == 1


def test_the_activation_link_must_be_a_good_password(
    client: FlaskClient, waiting_teacher: User
) -> None:
    link = f"/activation/{services.activation_token(waiting_teacher)}"
    for weak, reason in (
        ("court-mdp", "au moins 12 caractères"),
        ("motdepasse123", "plus courants"),
        ("Claire.Petit-2026", "adresse électronique"),
    ):
        response = client.post(link, data={"password": weak, "confirmation": weak})
        assert response.status_code == 422
        assert reason in page_text(response)
    assert services.find_user(waiting_teacher.email).password_hash is None  # type: ignore[union-attr]


def test_an_activation_link_works_once(client: FlaskClient, waiting_teacher: User) -> None:
    link = f"/activation/{services.activation_token(waiting_teacher)}"
    data = {"password": NEW, "confirmation": NEW}
    assert client.post(link, data=data).status_code == 302
    client.post("/deconnexion")
    again = client.post(link, data={"password": "pirate-mot-de-passe", "confirmation": "x"})
    assert again.status_code == 410
    assert "n'est pas valide ou a expiré" in page_text(again)


def test_a_forged_link_is_refused(client: FlaskClient, waiting_teacher: User) -> None:
    token = services.activation_token(waiting_teacher)
    response = client.post(
        f"/activation/{token[:-2]}xx", data={"password": NEW, "confirmation": NEW}
    )
    assert response.status_code == 410
    assert services.find_user(waiting_teacher.email).password_hash is None  # type: ignore[union-attr]


def test_first_login_never_tells_whether_an_account_exists(
    client: FlaskClient, waiting_teacher: User, mailbox: Mailbox
) -> None:
    mailbox.deliver().clear()  # the allocation's own mail
    registered = factories.teacher(email="deja.inscrit@ac-paris.fr")
    answers = []
    for email in (waiting_teacher.email, registered.email, "inconnu@ac-paris.fr"):
        response = client.post("/premiere-connexion", data={"email": email}, follow_redirects=True)
        answers.append(page_text(response).count("Si un compte correspond à cette adresse"))
    assert answers == [1, 1, 1]
    inbox = mailbox.deliver()
    assert [m["Subject"] for m in inbox.to(waiting_teacher.email)] == [
        "Activez votre compte Compte Ressources"
    ]
    assert [m["Subject"] for m in inbox.to(registered.email)] == ["Choisir un nouveau mot de passe"]
    assert len(inbox.messages) == 2  # nothing for the unknown address
