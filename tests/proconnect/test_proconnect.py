"""Signing in with ProConnect against a real OpenID Provider (oidc-provider on 127.0.0.1,
configured like ProConnect): the good way in, and every answer that must be refused,
each leaving nothing created."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import ExternalIdentity, User
from app.core.audit import AuditEvent
from app.extensions import db
from tests import factories
from tests.helpers import page_text
from tests.proconnect.conftest import Provider, sign_in_at_provider


def identities() -> int:
    return db.session.scalar(select(func.count(ExternalIdentity.id))) or 0


def users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


@pytest.fixture
def manager(session: object) -> User:
    return factories.academy_manager("01", email="academy@demo.test", name="Alain Rectorat")


def test_the_button_shows_only_when_proconnect_is_set_up(
    app: Flask, client: FlaskClient, proconnect: Provider
) -> None:
    assert "S’identifier avec" in page_text(client.get("/connexion"))
    app.config["PROCONNECT_ISSUER"] = ""
    assert "ProConnect" not in page_text(client.get("/connexion"))


def test_an_agent_signs_in_and_is_found_by_sub_afterwards(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    back = sign_in_at_provider(app, client, "alain.rectorat")
    response = client.get(back)
    assert response.status_code == 302
    assert response.location.endswith("/academies/01")
    (identity,) = db.session.scalars(select(ExternalIdentity))
    assert identity.user_id == manager.id
    assert identity.subject == "alain.rectorat"
    # Later, even under another address, the sub finds the same account.
    manager.email = "alain.rectorat@ac-paris.fr"
    db.session.commit()
    client.post("/deconnexion")
    response = client.get(sign_in_at_provider(app, client, "alain.rectorat"))
    assert response.status_code == 302
    assert identities() == 1


def test_the_request_to_the_provider_uses_pkce_state_and_nonce(
    client: FlaskClient, proconnect: Provider
) -> None:
    from urllib.parse import parse_qs, urlsplit

    start = client.get("/proconnect/connexion")
    query = parse_qs(urlsplit(start.location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32
    assert set(query["scope"][0].split()) == {
        "openid",
        "given_name",
        "usual_name",
        "email",
        "uid",
        "siret",
        "idp_id",
    }
    assert query["redirect_uri"] == ["http://compte-ressources.test/proconnect/retour"]


def test_a_teacher_waiting_for_activation_comes_in_without_a_password(
    app: Flask, client: FlaskClient, proconnect: Provider
) -> None:
    teacher = factories.teacher(email="camille.enseignante@ac-paris.fr", password_hash=None)
    response = client.get(sign_in_at_provider(app, client, "camille.enseignante"))
    assert response.status_code == 302
    assert response.location.endswith("/mon-compte")
    db.session.refresh(teacher)
    assert teacher.password_hash is None
    activated = select(AuditEvent).where(AuditEvent.action == "user.activated")
    assert db.session.scalar(activated) is not None


def test_a_person_without_an_account_is_told_who_opens_accounts(
    app: Flask, client: FlaskClient, proconnect: Provider
) -> None:
    before = users()
    response = client.get(sign_in_at_provider(app, client, "paul.inconnu"))
    assert response.status_code == 403
    text = page_text(response)
    assert "Aucun compte n'existe pour paul.inconnu@education.gouv.fr" in text
    assert "votre académie vous inscrit" in text
    assert (users(), identities()) == (before, 0)


def test_an_unverified_email_is_refused(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    response = client.get(sign_in_at_provider(app, client, "non.verifie"))
    assert response.status_code == 400
    assert "n'a pas confirmé votre adresse" in page_text(response)
    assert identities() == 0


def test_a_wrong_state_is_refused(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    back = sign_in_at_provider(app, client, "alain.rectorat")
    forged = back.replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400
    assert "n'a pas pu être vérifiée" in page_text(response)
    assert identities() == 0
    assert client.get("/mon-profil/").status_code == 302  # not signed in


def test_a_replayed_code_is_refused(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    back = sign_in_at_provider(app, client, "alain.rectorat")
    with client.session_transaction() as saved:
        before = dict(saved)
    assert client.get(back).status_code == 302
    client.post("/deconnexion")
    with client.session_transaction() as restored:  # the same state, the same code, again
        restored.clear()
        restored.update(before)
    response = client.get(back)
    assert response.status_code == 400
    assert "n'a pas pu être vérifiée" in page_text(response)
    assert client.get("/mon-profil/").status_code == 302
    assert identities() == 1  # only the first, good sign-in


@pytest.mark.parametrize(
    "spoiled", ["expired", "wrong_audience", "wrong_nonce", "other_key", "alg_none", "hs256"]
)
def test_a_spoiled_id_token_is_refused(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User, spoiled: str
) -> None:
    proconnect.misbehave(id_token=spoiled)
    response = client.get(sign_in_at_provider(app, client, "alain.rectorat"))
    assert response.status_code == 400
    assert "n'a pas pu être vérifiée : la connexion est refusée" in page_text(response)
    assert identities() == 0
    assert client.get("/mon-profil/").status_code == 302


def test_userinfo_signed_by_another_key_is_refused(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    proconnect.misbehave(userinfo="other_key")
    response = client.get(sign_in_at_provider(app, client, "alain.rectorat"))
    assert response.status_code == 400
    assert identities() == 0


def test_an_unreachable_provider_gets_a_french_page(app: Flask, client: FlaskClient) -> None:
    from tests.smtp import free_port

    app.config["PROCONNECT_ISSUER"] = f"http://127.0.0.1:{free_port()}"
    try:
        response = client.get("/proconnect/connexion")
    finally:
        app.config["PROCONNECT_ISSUER"] = ""
    assert response.status_code == 502
    assert "ProConnect ne répond pas" in page_text(response)


def test_signing_out_goes_through_the_provider(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    client.get(sign_in_at_provider(app, client, "alain.rectorat"))
    response = client.post("/deconnexion")
    assert response.status_code == 302
    assert response.location.startswith(f"{proconnect.issuer}/session/end?id_token_hint=")
    assert "post_logout_redirect_uri=http%3A%2F%2Fcompte-ressources.test%2F" in response.location
    assert client.get("/mon-profil/").status_code == 302


def test_agents_cannot_use_a_password_once_proconnect_is_required(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    app.config["PROCONNECT_REQUIRED_ROLES"] = "academy_manager,reviewer,admin"
    try:
        response = client.post(
            "/connexion", data={"email": manager.email, "password": factories.PASSWORD}
        )
    finally:
        app.config["PROCONNECT_REQUIRED_ROLES"] = ""
    assert "S'identifier avec ProConnect" in page_text(response)
    assert services.must_use_proconnect(manager) is False  # the setting is back to empty


def test_the_spoiling_itself_keeps_a_good_token_good(
    app: Flask, client: FlaskClient, proconnect: Provider, manager: User
) -> None:
    """The control of the cases above: re-signed by the provider's own key, unchanged."""
    proconnect.misbehave(id_token="resigned")
    assert client.get(sign_in_at_provider(app, client, "alain.rectorat")).status_code == 302
    assert identities() == 1
