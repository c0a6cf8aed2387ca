"""Behind the load balancer every request comes from its address: the app must take the
visitor's from X-Forwarded-For (one proxy), or everyone shares the per-address limits."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app import create_app
from tests.conftest import DATABASE_URL, RequestClient

PROXY = "127.0.0.1"  # what the app sees as the peer: the proxy in front of it
FIRST_VISITOR = "198.51.100.7"
SECOND_VISITOR = "203.0.113.42"


def _behind_a_proxy(x_for: int) -> Flask:
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=DATABASE_URL,
        PROXY_FIX_X_FOR=x_for,
        LOGIN_FAILURES_PER_ADDRESS="2 per 15 minutes",
    )
    app.test_client_class = RequestClient
    return app


def _failed_logins(app: Flask, visitor: str, count: int, start: int) -> list[int]:
    client = app.test_client()
    return [
        client.post(
            "/connexion",
            # a different address each time: only the per-address limit can trip
            data={"email": f"personne{start + n}@ac-paris.fr", "password": "mauvais-mot"},
            headers={"X-Forwarded-For": visitor},
            environ_base={"REMOTE_ADDR": PROXY},
        ).status_code
        for n in range(count)
    ]


def test_each_visitor_behind_the_proxy_has_their_own_login_limit(session: Session) -> None:
    app = _behind_a_proxy(1)
    assert _failed_logins(app, FIRST_VISITOR, 3, 0) == [200, 200, 429]
    assert _failed_logins(app, SECOND_VISITOR, 1, 10) == [200]


def test_without_proxy_fix_everyone_behind_the_proxy_shares_one_limit(session: Session) -> None:
    app = _behind_a_proxy(0)
    assert _failed_logins(app, FIRST_VISITOR, 3, 0) == [200, 200, 429]
    assert _failed_logins(app, SECOND_VISITOR, 1, 10) == [429]


def test_production_trusts_one_proxy_and_the_environment_can_say_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from config import ProductionConfig, TestConfig

    assert ProductionConfig.PROXY_FIX_X_FOR == 1
    assert TestConfig.PROXY_FIX_X_FOR == 0
    monkeypatch.setenv("PROXY_FIX_X_FOR", "un")
    with pytest.raises(RuntimeError, match="PROXY_FIX_X_FOR"):
        create_app("development")
