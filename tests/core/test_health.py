from __future__ import annotations

from flask.testing import FlaskClient

from app import create_app


def test_healthz_with_the_database_up(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_with_the_database_down() -> None:
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:9/unreachable",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["database"] == "unreachable"
    assert "127.0.0.1" in body["reason"] or "connection" in body["reason"].lower()
