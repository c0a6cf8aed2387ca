from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conftest import AuthActions


def _seed(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_twice_leaves_the_same_counts(app: Flask, session: object) -> None:
    first = _seed(app)
    assert "academies  30" in first
    assert "schools    60" in first
    assert "users      305" in first
    assert _seed(app) == first


def test_every_demo_account_logs_in_and_sees_its_home(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    _seed(app)
    for account in DEMO_ACCOUNTS:
        response = auth.login(account.email, DEMO_PASSWORD)
        assert response.status_code == 302, account.email
        home = client.get(response.headers["Location"], follow_redirects=True)
        assert home.status_code == 200, account.email
        auth.logout()


def test_seed_demo_refuses_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "s3cr3t")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/prod")
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:9")
    monkeypatch.setenv("PUBLIC_URL", "https://compte-ressources.example")
    result = create_app("production").test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output
