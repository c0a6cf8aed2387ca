"""Errors reach Sentry when SENTRY_DSN is set, without anything personal; without it,
and in the test configuration whatever the environment says, nothing is set up."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli  # type: ignore[import-untyped]
import pytest
import sentry_sdk
from flask import Flask
from flask_login import current_user
from sqlalchemy.orm import Session

from app import create_app
from app.core import sentry
from tests import factories
from tests.conftest import DATABASE_URL

# Far from the failing route: the event carries the source lines around the error.
ADDRESS = "ada.lovelace@ac-paris.fr"
NAME = "Ada Lovelace"


class Collector(ThreadingHTTPServer):
    """A local stand-in for Sentry's ingestion: keeps the body of every envelope POSTed."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.envelopes: list[tuple[str, bytes]] = []
        self.received = threading.Event()

    @property
    def dsn(self) -> str:
        return f"http://clef-publique@127.0.0.1:{self.server_address[1]}/1"


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "br":
            body = brotli.decompress(body)
        elif encoding == "gzip":
            body = gzip.decompress(body)
        self.server.envelopes.append((self.path, body))
        self.server.received.set()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        sentry_sdk.get_client().close(timeout=2)
        for scope in (sentry_sdk.get_global_scope(), sentry_sdk.get_isolation_scope()):
            scope.set_client(None)  # back to no client: nothing reported after this test
        server.shutdown()
        server.server_close()


def test_no_dsn_no_sentry(app: Flask) -> None:
    assert app.config["SENTRY_DSN"] == ""
    assert not sentry_sdk.get_client().is_active()


def test_the_test_configuration_ignores_a_dsn_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SENTRY_DSN", "http://clef@127.0.0.1:9/1")
    app = create_app("test", SQLALCHEMY_DATABASE_URI=DATABASE_URL)
    assert app.config["SENTRY_DSN"] == ""
    assert not sentry_sdk.get_client().is_active()


def test_an_error_in_a_route_is_reported_without_personal_data(
    collector: Collector, session: Session
) -> None:
    app = create_app("test", SQLALCHEMY_DATABASE_URI=DATABASE_URL, SENTRY_DSN=collector.dsn)

    @app.get("/essai/panne/<int:number>")
    def broken(number: int) -> str:
        email = current_user.email  # a local variable: not sent
        raise RuntimeError(f"panne n°{number} pour le compte {current_user.id} ({len(email)})")

    user = factories.teacher(email=ADDRESS, name=NAME)
    client = app.test_client()
    login = client.post("/connexion", data={"email": ADDRESS, "password": "password123"})
    assert login.status_code == 302

    response = client.get(f"/essai/panne/7?courriel={ADDRESS}")
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    assert collector.received.wait(5)
    assert {path for path, _ in collector.envelopes} == {"/api/1/envelope/"}
    text = "\n".join(envelope.decode() for _, envelope in collector.envelopes)
    [event] = [json.loads(line) for line in text.splitlines() if '"exception"' in line]
    [error] = event["exception"]["values"]
    assert (error["type"], error["value"]) == (
        "RuntimeError",
        f"panne n°7 pour le compte {user.id} (24)",
    )
    assert (event["environment"], event["release"]) == ("test", sentry.release())
    assert event["request"]["url"].endswith("/essai/panne/<int:number>")
    assert "user" not in event
    assert "ada.lovelace" not in text
    assert "Lovelace" not in text
    assert "courriel=" not in text
    assert "session=" not in text  # the session cookie


def test_the_release_is_the_package_version() -> None:
    from importlib.metadata import version

    assert sentry.release() == f"compte-ressources@{version('compte-ressources')}"
