from __future__ import annotations

import logging
import time

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app import create_app
from app.accounts.models import Role
from app.core import storage
from tests import factories
from tests.conftest import DATABASE_URL, RequestClient

PRODUCTION = {
    "SECRET_KEY": "s3cr3t",
    "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/prod",
    "MAIL_URL": "smtp+starttls://relais:mdp@smtp.education.gouv.fr:587",
    "PUBLIC_URL": "https://compte-ressources.education.gouv.fr",
    "STORAGE_URL": "s3://compte-ressources/production?region=fr-par",
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


def test_production_keeps_its_files_where_storage_url_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(
        "STORAGE_URL", "s3://compte-ressources/fichiers?endpoint_url=https://s3.fr-par.scw.cloud"
    )
    kept = create_app("production").extensions["storage"]
    assert isinstance(kept, storage.S3Storage)
    assert (kept.bucket, kept.prefix) == ("compte-ressources", "fichiers/")
    assert kept.client.meta.endpoint_url == "https://s3.fr-par.scw.cloud"


def test_session_and_key_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "ancienne-1, ancienne-2")
    monkeypatch.setenv("PSEUDONYM_KEY", "cle-des-pseudonymes")
    monkeypatch.setenv("SESSION_LIFETIME_SECONDS", "36000")
    monkeypatch.setenv("SESSION_IDLE_SECONDS", "1800")
    monkeypatch.setenv("API_REQUESTS_PER_TOKEN", "100 per minute")
    app = create_app("production")
    assert app.config["SECRET_KEY_FALLBACKS"] == ("ancienne-1", "ancienne-2")
    assert app.permanent_session_lifetime.total_seconds() == 36000
    assert app.config["SESSION_IDLE_TIMEOUT"] == 1800
    assert app.config["API_REQUESTS_PER_TOKEN"] == "100 per minute"


def test_a_duration_that_is_not_a_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SESSION_IDLE_SECONDS", "2h")
    with pytest.raises(RuntimeError, match="SESSION_IDLE_SECONDS doit être un nombre entier"):
        create_app("production")


def test_changing_the_secret_key_needs_the_pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Teachers' pseudonyms are keyed by SECRET_KEY when PSEUDONYM_KEY is unset: changing it
    would give every teacher a new pseudonym at the vendors and the GAR."""
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "ancienne")
    with pytest.raises(RuntimeError, match="définissez PSEUDONYM_KEY"):
        create_app("production")


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
    now = int(time.time())
    forged = signer.dumps(
        {"_user_id": admin.get_id(), "_fresh": True, "signed_in_at": now, "last_seen_at": now}
    )

    opened = development.test_client()
    opened.set_cookie("session", forged)
    assert opened.get("/admin/academies").status_code == 200  # the forgery is a real one

    production = _production(monkeypatch)
    refused = production.test_client()
    refused.set_cookie(production.config["SESSION_COOKIE_NAME"], forged)
    response = refused.get("/admin/academies")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_production_serves_no_demo_route(monkeypatch: pytest.MonkeyPatch, session: Session) -> None:
    production = _production(monkeypatch)
    assert [r.rule for r in production.url_map.iter_rules() if r.rule.startswith("/demo")] == []
    assert production.test_client().get("/demo/courriels").status_code == 404
    development = create_app("development", SQLALCHEMY_DATABASE_URI=DATABASE_URL)
    assert development.test_client().get("/demo/courriels").status_code == 200
