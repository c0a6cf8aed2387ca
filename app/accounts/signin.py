"""Opening and closing a person's session, whatever the way they proved who they are
(password, activation link, ProConnect).

Signing in starts a new session (the old cookie's content, and any identifier an attacker
planted, is dropped: no fixation); only the chosen language is kept. Every session of a
user carries their `session_version`: raising it ends them all at once, which is how
signing out ends the session on the server and not only in the browser.

A session also carries when it began and when it was last used: the server ends it
`PERMANENT_SESSION_LIFETIME` seconds after signing in, or `SESSION_IDLE_TIMEOUT` seconds
after its last request, whatever the cookie says about its own expiry.
"""

from __future__ import annotations

import time

from flask import current_app, session
from flask_login import current_user, login_user, logout_user

from app.accounts.models import User
from app.core import audit
from app.core.db import utcnow

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN_AT = "last_seen_at"


def sign_in(user: User, method: str) -> None:
    """Open a new session for `user`, who proved who they are by `method`
    ("password", "activation", "proconnect"). The caller commits."""
    _clear_session()
    login_user(user)
    session.permanent = True
    session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = int(time.time())
    user.last_login_at = utcnow()
    audit.record(user, "user.logged_in", "user", user.id, method=method)


def sign_out() -> None:
    """End this session, on the server too: a copy of the cookie replayed later signs
    nobody in. The person's other sessions end with it (their session version moves on;
    docs/decisions/0017-sessions-and-rate-limits.md). The language stays. The caller
    commits."""
    if current_user.is_authenticated:
        user: User = current_user._get_current_object()
        user.session_version += 1
        audit.record(user, "user.logged_out", "user", user.id)
    _clear_session()


def end_every_session(user: User) -> None:
    """Invalidate every session of `user`, on every device. The caller commits."""
    user.session_version += 1
    audit.record(user, "user.sessions_ended", "user", user.id)


def end_expired_session() -> bool:
    """Before each request: end this session if it is older than its lifetime or idle for
    too long (True then); otherwise note that it is in use. A signed-in session without
    its timestamps (from before they existed) has expired."""
    if "_user_id" not in session:
        return False
    now = int(time.time())
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen_at = session.get(LAST_SEEN_AT)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    idle_timeout = int(current_app.config["SESSION_IDLE_TIMEOUT"])
    expired = (
        not isinstance(signed_in_at, int)
        or not isinstance(last_seen_at, int)
        or now - signed_in_at >= lifetime
        or now - last_seen_at >= idle_timeout
    )
    if expired:
        _clear_session()  # this session only: the person's others go on
        return True
    session[LAST_SEEN_AT] = now
    return False


def _clear_session() -> None:
    """Forget who is signed in here, and everything else the session held but the language."""
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
