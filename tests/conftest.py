"""Test fixtures: the app, a database transaction per test, factories' session, login.

The schema is built once per run by the migrations themselves (upgrade, downgrade
to nothing, upgrade again), so every run proves the migrations both ways. Each
test then runs inside a transaction that is rolled back at the end: the code
under test commits to a savepoint, never for real. Tests that need real commits
(parallel sessions, a live server) use `committed`, which empties the tables after.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import Session, scoped_session

from app import create_app
from app.budgets.services import sync_academies
from app.extensions import db, limiter
from tests.database import describe, test_database_url
from tests.s3 import CREDENTIALS, S3Server
from tests.smtp import Inbox, SmtpServer

DATABASE_URL = test_database_url()
# Reference data loaded once per run and kept by `committed` tests' clean-up.
REFERENCE_TABLES = {"academy", "alembic_version", "excluded_company"}


def pytest_report_header() -> str:
    return f"database: {describe(DATABASE_URL)}"


def is_postgres() -> bool:
    return DATABASE_URL.startswith("postgresql")


class KeptScopedSession(scoped_session[Session]):
    """The test's one session: the app's per-request `remove()` leaves it open."""

    def remove(self) -> None:
        pass

    def really_remove(self) -> None:
        super().remove()


class RequestClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production
    (so `g`, the logged-in user and the locale are never carried over), while sharing
    the test's database session."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        token = _cv_app.set(None)  # type: ignore[arg-type]
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session, but it honours an explicit `bind` (the test connection)."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        if self.bind is not None:
            return self.bind
        return super().get_bind(*args, **kwargs)


def _reset_schema(app: Flask) -> None:
    with app.app_context():
        if is_postgres():
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        downgrade(revision="base")
        upgrade()
        sync_academies()
        db.session.commit()


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    storage = tmp_path_factory.mktemp("storage")
    app = create_app("test", SQLALCHEMY_DATABASE_URI=DATABASE_URL, STORAGE_URL=storage.as_uri())
    _reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app: Flask) -> None:
    with app.app_context():
        limiter.reset()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The test's database session: everything it and the app do is rolled back after."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        factory = db._make_session_factory(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": BoundSession,
            }
        )
        kept = KeptScopedSession(factory, scopefunc=lambda: "test")
        db.session = kept
        try:
            yield kept()
        finally:
            kept.really_remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def committed(app: Flask) -> Iterator[Flask]:
    """Real commits (parallel sessions, live server); tables emptied after, but reference data."""
    yield app
    with app.app_context():
        db.session.remove()
    if not is_postgres():  # append-only triggers forbid DELETE: rebuild the small file
        _reset_schema(app)
        return
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
        names = ", ".join(f'"{name}"' for name in tables)
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    app.test_client_class = RequestClient
    return app.test_client()


class AuthActions:
    """Log in and out through the real login form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = "password123", **kwargs: Any) -> Any:
        return self.client.post("/connexion", data={"email": email, "password": password}, **kwargs)

    def logout(self) -> Any:
        return self.client.post("/deconnexion")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


requires_postgres = pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"), reason="needs PostgreSQL"
)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """An S3-compatible server on 127.0.0.1, and the AWS variables boto3 reads."""
    with pytest.MonkeyPatch.context() as environment:
        for name, value in CREDENTIALS.items():
            environment.setenv(name, value)
        environment.delenv("AWS_SESSION_TOKEN", raising=False)
        environment.delenv("AWS_PROFILE", raising=False)
        server = S3Server()
        server.start()
        yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


class Mailbox:
    """The test's mail: what the SMTP server received once the mail jobs ran."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def deliver(self) -> Inbox:
        """Run every ready mail job (as a worker would, after commit); the inbox."""
        from app.core import jobs

        jobs.work(once=True, kinds=["mail"])
        return self.inbox


@pytest.fixture
def mailbox(app: Flask, smtp_server: SmtpServer) -> Iterator[Mailbox]:
    """Mail goes to the tests' SMTP server (127.0.0.1), emptied before each test."""
    smtp_server.inbox.clear()
    saved = app.config["MAIL_URL"]
    app.config["MAIL_URL"] = smtp_server.url
    yield Mailbox(smtp_server.inbox)
    app.config["MAIL_URL"] = saved
