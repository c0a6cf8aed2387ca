"""/healthz (the process answers) and /readyz (its dependencies answer), against real
peers: the tests' PostgreSQL and Redis, and ports where nothing listens."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from tests.smtp import free_port

REDIS_URL = "redis://127.0.0.1:6379/1"


def _down_database() -> Flask:
    return create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/absente",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )


def _says_nothing_of_the_peer(body: str) -> None:
    for secret in ("127.0.0.1", "absente", "postgres", "refused", "connection", "6379"):
        assert secret not in body.lower()


def test_healthz_answers_without_touching_the_database() -> None:
    response = _down_database().test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_with_the_database_up(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "storage": "ok"}


def test_readyz_with_the_database_down_names_it_and_nothing_more(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        response = _down_database().test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable", "storage": "ok"}
    _says_nothing_of_the_peer(response.get_data(as_text=True))
    assert "database unreachable" in caplog.text  # the operator reads the reason in the log
    assert "Connection refused" in caplog.text


@pytest.fixture
def app_with_redis(app: Flask) -> Flask:
    """The tests' app with Redis as its rate-limit storage, as with several web processes
    (set on the config the probe reads, not re-initialising the shared limiter)."""
    saved = app.config["RATELIMIT_STORAGE_URI"]
    app.config["RATELIMIT_STORAGE_URI"] = REDIS_URL
    yield app
    app.config["RATELIMIT_STORAGE_URI"] = saved


def test_readyz_checks_redis_when_the_rate_limits_are_kept_there(
    app_with_redis: Flask, client: FlaskClient
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "storage": "ok", "redis": "ok"}


def test_readyz_with_redis_down_names_it_and_nothing_more(
    app_with_redis: Flask, client: FlaskClient
) -> None:
    app_with_redis.config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{free_port()}/1"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "error",
        "database": "ok",
        "storage": "ok",
        "redis": "unreachable",
    }
    _says_nothing_of_the_peer(response.get_data(as_text=True))


def test_readyz_with_the_object_storage_down_names_it_and_nothing_more(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(
        "test",
        STORAGE_URL=f"s3://fichiers?endpoint_url=http://127.0.0.1:{free_port()}&region=fr-par",
    )
    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "ok", "storage": "unreachable"}
    _says_nothing_of_the_peer(response.get_data(as_text=True))
    assert "storage unreachable" in caplog.text
