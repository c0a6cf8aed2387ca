"""How long a session lives, and how it ends: timeouts checked by the server from the
session's own timestamps, signing out that ends the session on the server, a secret key
changed without signing anyone out, and the cookie's attributes in production."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.accounts import services
from app.accounts.models import User
from app.core.audit import AuditEvent
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.core.test_config import PRODUCTION
from tests.helpers import page_text

HOUR = 3600
SESSION_COOKIE = "session"


def signed_in(client: FlaskClient, auth: AuthActions) -> User:
    user = factories.teacher()
    assert auth.login(user.email).status_code == 302
    assert client.get("/mon-compte").status_code == 200
    return user


def shift_session(client: FlaskClient, **seconds_ago: int) -> None:
    """Pretend the session's timestamps were taken that many seconds earlier."""
    with client.session_transaction() as session:
        for name, seconds in seconds_ago.items():
            session[name] -= seconds


def test_a_session_ends_twelve_hours_after_signing_in_even_when_in_use(
    client: FlaskClient, auth: AuthActions
) -> None:
    signed_in(client, auth)
    shift_session(client, signed_in_at=12 * HOUR - 60)
    assert client.get("/mon-compte").status_code == 200
    shift_session(client, signed_in_at=60)
    expired = client.get("/mon-compte", follow_redirects=True)
    assert expired.request.path == "/connexion"
    assert "Votre session a expiré : reconnectez-vous." in page_text(expired)


def test_a_session_ends_after_two_hours_without_a_request(
    client: FlaskClient, auth: AuthActions
) -> None:
    signed_in(client, auth)
    shift_session(client, last_seen_at=2 * HOUR - 60)
    assert client.get("/mon-compte").status_code == 200  # in use: the idle clock restarts
    with client.session_transaction() as session:
        assert session["last_seen_at"] >= int(time.time()) - 5
    shift_session(client, last_seen_at=2 * HOUR)
    assert client.get("/mon-compte").status_code == 302


def test_the_timeouts_come_from_the_configuration(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", 600)
    signed_in(client, auth)
    shift_session(client, last_seen_at=601)
    assert client.get("/mon-compte").status_code == 302


def test_a_signed_in_session_without_its_timestamps_has_expired(
    client: FlaskClient, auth: AuthActions
) -> None:
    """A cookie from before the timestamps existed cannot be aged: it signs nobody in."""
    signed_in(client, auth)
    with client.session_transaction() as session:
        del session["signed_in_at"], session["last_seen_at"]
    assert client.get("/mon-compte").status_code == 302


def test_an_expired_session_leaves_the_persons_other_sessions_alone(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = signed_in(client, auth)
    other_device = app.test_client()
    AuthActions(other_device).login(user.email)
    shift_session(client, last_seen_at=3 * HOUR)
    assert client.get("/mon-compte").status_code == 302
    assert other_device.get("/mon-compte").status_code == 200


def test_a_cookie_copied_before_signing_out_signs_nobody_in(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = signed_in(client, auth)
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    auth.logout()
    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, cookie.value)
    assert replay.get("/mon-compte").status_code == 302
    assert db.session.query(AuditEvent).filter_by(action="user.logged_out").count() == 1
    assert auth.login(user.email).status_code == 302  # signing in again works


def test_signing_out_ends_the_persons_other_sessions_too(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """The price of revoking through the per-user session version (decision 0017)."""
    user = signed_in(client, auth)
    other_device = app.test_client()
    AuthActions(other_device).login(user.email)
    auth.logout()
    assert other_device.get("/mon-compte").status_code == 302


def test_a_new_secret_key_keeps_everyone_signed_in_through_the_fallbacks(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in(client, auth)
    old_key = app.config["SECRET_KEY"]
    monkeypatch.setitem(app.config, "SECRET_KEY", "la-nouvelle-cle")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ("une-cle-plus-ancienne", old_key))
    response = client.get("/mon-compte")
    assert response.status_code == 200
    # The cookie sent back is signed with the new key: once the old one is dropped, it works.
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ())
    assert client.get("/mon-compte").status_code == 200


def test_a_cookie_signed_with_an_unknown_key_signs_nobody_in(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in(client, auth)
    monkeypatch.setitem(app.config, "SECRET_KEY", "la-nouvelle-cle")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ("une-autre-cle",))
    assert client.get("/mon-compte").status_code == 302


def test_links_sent_before_the_key_changed_still_work(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = services.create_user("attend@ac-lyon.fr", "Attend")
    token = services.activation_token(waiting)
    old_key = app.config["SECRET_KEY"]
    monkeypatch.setitem(app.config, "SECRET_KEY", "la-nouvelle-cle")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", (old_key,))
    assert client.get(f"/activation/{token}").status_code == 200
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ())
    assert client.get(f"/activation/{token}").status_code == 410


def test_the_session_cookie_is_secure_and_host_only_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    production = create_app("production")
    response = production.test_client().get("/langue/en")  # puts the language in the session
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Domain=" not in cookie
