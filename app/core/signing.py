"""The keys that sign what the application hands out: links in mails (activation, password
reset, unsubscribing…) and, through Flask, the session cookie.

`SECRET_KEY` signs everything new; the keys of `SECRET_KEY_FALLBACKS` (most recent
first, as Flask reads them) are still accepted when reading, so the key can be changed
without signing everyone out or breaking the links already sent.
"""

from __future__ import annotations

from flask import current_app


def secret_keys() -> list[str]:
    """Every accepted key, oldest first and the signing one last, as itsdangerous wants."""
    config = current_app.config
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or ()
    return [*reversed(fallbacks), config["SECRET_KEY"]]
