from __future__ import annotations

import pytest

from app import create_app
from app.core import storage

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
