"""Error reporting to Sentry (or any service that speaks its protocol), when
``SENTRY_DSN`` is set; off otherwise, and never from the test configuration.

Errors reach it through the logging integration: an unexpected error in a request or a
job is logged at level ERROR (app/core/errors.py, app/core/jobs.py) and sent with its
traceback. Nothing personal is sent: no user, no cookies, no request body, no query
string, no local variables, and the route instead of the path (``send_default_pii=False``,
and :func:`_without_personal_data` for the rest).
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from flask import Flask, has_request_context, request

if TYPE_CHECKING:
    from sentry_sdk.types import Event

PACKAGE = "compte-ressources"


def init_app(app: Flask) -> None:
    dsn = app.config["SENTRY_DSN"]
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        environment=app.config["ENV_NAME"],
        release=release(),
        send_default_pii=False,
        include_local_variables=False,  # a function's arguments may be an address
        max_request_body_size="never",
        before_send=_without_personal_data,
    )


def release() -> str:
    try:
        return f"{PACKAGE}@{metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:
        return f"{PACKAGE}@unknown"


def _without_personal_data(event: Event, _hint: dict[str, Any]) -> Event:
    """Drop what may name a person: the query string, cookies, form data, the user, the
    path's values (a reset link's token): the URL becomes the route, as in the logs."""
    details: dict[str, Any] = dict(event.get("request") or {})
    for key in ("query_string", "cookies", "data"):
        details.pop(key, None)
    headers = details.get("headers") or {}
    details["headers"] = {
        name: value
        for name, value in headers.items()
        if name.lower() not in {"cookie", "authorization"}
    }
    if has_request_context() and request.url_rule is not None:
        details["url"] = request.host_url.rstrip("/") + request.url_rule.rule
    event["request"] = details
    event.pop("user", None)
    return event
