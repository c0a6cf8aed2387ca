"""Opening and closing a person's session, whatever the way they proved who they are
(password, activation link, ProConnect).

Signing in starts a new session (the old cookie's content, and any identifier an attacker
planted, is dropped: no fixation); only the chosen language is kept. Every session of a
user carries their `session_version`: raising it ends them all at once.
"""

from __future__ import annotations

from flask import session
from flask_login import login_user, logout_user

from app.accounts.models import User
from app.core import audit
from app.core.db import utcnow


def sign_in(user: User, method: str) -> None:
    """Open a new session for `user`, who proved who they are by `method`
    ("password", "activation", "proconnect"). The caller commits."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    login_user(user)
    session.permanent = True
    user.last_login_at = utcnow()
    audit.record(user, "user.logged_in", "user", user.id, method=method)


def sign_out() -> None:
    """End this session (the language stays)."""
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language


def end_every_session(user: User) -> None:
    """Invalidate every session of `user`, on every device. The caller commits."""
    user.session_version += 1
    audit.record(user, "user.sessions_ended", "user", user.id)
