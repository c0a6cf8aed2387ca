"""A teacher registered by their academy's allocation activates their account and sees the
credit that waited for them."""

from __future__ import annotations

import logging
import re

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
from tests.conftest import AuthActions
from tests.helpers import page_text

YEAR = budgets.school_year_code(dates.today())


@pytest.fixture
def waiting_teacher(session: object) -> User:
    """A teacher created by a file allocation of 120 €: no password yet."""
    budgets.ensure_school_year(YEAR)
    budgets.fund_academy(None, "01", YEAR, 100_000, "fund:activation")
    school = factories.SchoolFactory(uai="0750654D", academy_code="01")
    manager = factories.academy_manager("01")
    preview = budgets.preview_file(
        manager, "01", YEAR, f"claire.petit@ac-paris.fr;120;{school.uai}\n".encode()
    )
    assert preview.allocation is not None
    for _ in budgets.apply_allocation(manager, preview.allocation):
        pass
    user = services.find_user("claire.petit@ac-paris.fr")
    assert user is not None
    assert user.password_hash is None
    return user


def _link_from_log(caplog: pytest.LogCaptureFixture) -> str:
    (match,) = [m for r in caplog.records if (m := re.search(r"(/activation/\S+)", r.getMessage()))]
    return match.group(1)


def test_first_login_activation_and_the_credit_that_waited(
    client: FlaskClient, auth: AuthActions, waiting_teacher: User, caplog: pytest.LogCaptureFixture
) -> None:
    assert auth.login(waiting_teacher.email, "anything-at-all").status_code == 200  # no password
    with caplog.at_level(logging.INFO):
        response = client.post("/premiere-connexion", data={"email": "Claire.Petit@ac-paris.fr"})
    assert response.status_code == 302
    link = _link_from_log(caplog)
    refused = client.post(link, data={"password": "nouveau-mdp", "confirmation": "autre-mdp"})
    assert "Les deux mots de passe ne sont pas identiques." in page_text(refused)
    response = client.post(link, data={"password": "nouveau-mdp", "confirmation": "nouveau-mdp"})
    assert response.status_code == 302
    page = page_text(client.get("/mon-compte"))
    assert "120,00" in page
    auth.logout()
    assert auth.login(waiting_teacher.email, "nouveau-mdp").status_code == 302
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.activated"))
        is not None
    )


def test_an_activation_link_works_once(client: FlaskClient, waiting_teacher: User) -> None:
    link = f"/activation/{services.activation_token(waiting_teacher)}"
    data = {"password": "premier-mdp", "confirmation": "premier-mdp"}
    assert client.post(link, data=data).status_code == 302
    client.post("/deconnexion")
    again = client.post(link, data={"password": "pirate-mdp", "confirmation": "pirate-mdp"})
    assert again.status_code == 422
    assert "n'est pas valide ou a expiré" in page_text(again)


def test_a_forged_link_is_refused(client: FlaskClient, waiting_teacher: User) -> None:
    token = services.activation_token(waiting_teacher)
    response = client.post(
        f"/activation/{token[:-2]}xx", data={"password": "abcdefgh", "confirmation": "abcdefgh"}
    )
    assert response.status_code == 422


def test_first_login_never_tells_whether_an_account_exists(
    client: FlaskClient, waiting_teacher: User, caplog: pytest.LogCaptureFixture
) -> None:
    registered = factories.teacher(email="deja.inscrit@ac-paris.fr")
    answers = []
    with caplog.at_level(logging.INFO):
        for email in (waiting_teacher.email, registered.email, "inconnu@ac-paris.fr"):
            response = client.post(
                "/premiere-connexion", data={"email": email}, follow_redirects=True
            )
            answers.append(page_text(response).count("Si un compte vous attend"))
    assert answers == [1, 1, 1]
    links = [r for r in caplog.records if "/activation/" in r.getMessage()]
    assert len(links) == 1  # only the account that waits gets a link
