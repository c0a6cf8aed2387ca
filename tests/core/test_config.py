from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app import create_app
from app.accounts.models import Role
from tests import factories
from tests.conftest import DATABASE_URL, RequestClient

PRODUCTION = {
    "SECRET_KEY": "s3cr3t",
    "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/prod",
    "MAIL_URL": "smtp+starttls://relais:mdp@smtp.education.gouv.fr:587",
    "PUBLIC_URL": "https://compte-ressources.education.gouv.fr",
}


@pytest.mark.parametrize("missing", list(PRODUCTION))
def test_production_refuses_to_start_without_its_settings(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=missing):
        create_app("production")


def test_production_reads_its_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app("production")
    assert app.config["MAIL_URL"] == PRODUCTION["MAIL_URL"]
    assert app.config["PUBLIC_URL"] == PRODUCTION["PUBLIC_URL"]
    assert "academy_manager" in app.config["PROCONNECT_REQUIRED_ROLES"]
    assert app.config["SECRET_KEY"] == "s3cr3t"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/prod")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["WTF_CSRF_ENABLED"] is True


def test_unknown_environment_name_is_refused() -> None:
    with pytest.raises(RuntimeError, match="APP_ENV inconnu"):
        create_app("staging")


def test_a_server_without_app_env_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    with pytest.raises(RuntimeError, match="APP_ENV n'est pas défini.*APP_ENV=production"):
        create_app()


def test_development_is_chosen_out_loud(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    with caplog.at_level(logging.WARNING):
        app = create_app()
    assert app.config["SECRET_KEY"] == "dev-only-not-secret"
    assert any(
        r.levelno == logging.WARNING and "APP_ENV=development" in r.getMessage()
        for r in caplog.records
    )


def _production(monkeypatch: pytest.MonkeyPatch) -> Flask:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    production = create_app("production")
    production.test_client_class = RequestClient
    return production


def test_a_session_cookie_forged_with_the_development_key_opens_nothing_in_production(
    monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    admin = factories.with_role(Role.ADMIN)
    development = create_app("development", SQLALCHEMY_DATABASE_URI=DATABASE_URL)
    development.test_client_class = RequestClient
    signer = development.session_interface.get_signing_serializer(development)  # type: ignore[attr-defined]
    forged = signer.dumps({"_user_id": admin.get_id(), "_fresh": True})

    opened = development.test_client()
    opened.set_cookie("session", forged)
    assert opened.get("/admin/academies").status_code == 200  # the forgery is a real one

    refused = _production(monkeypatch).test_client()
    refused.set_cookie("session", forged)
    response = refused.get("/admin/academies")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_production_serves_no_demo_route(monkeypatch: pytest.MonkeyPatch, session: Session) -> None:
    production = _production(monkeypatch)
    assert [r.rule for r in production.url_map.iter_rules() if r.rule.startswith("/demo")] == []
    assert production.test_client().get("/demo/courriels").status_code == 404
    development = create_app("development", SQLALCHEMY_DATABASE_URI=DATABASE_URL)
    assert development.test_client().get("/demo/courriels").status_code == 200
