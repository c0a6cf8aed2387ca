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
