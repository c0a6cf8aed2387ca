"""Logs: one line per request, and the request id that ties a request to its jobs.

Every request gets a *request id*: the ``X-Request-ID`` header set by the reverse proxy
when it is well formed (letters, digits, ``-``, ``_``, ``.``, 8 to 64 characters), else a
new one. It is answered in the ``X-Request-ID`` response header, stored on each job the
request enqueues (``job.request_id``, :mod:`app.core.jobs`), and is on every log line
written while the request, or one of its jobs in a worker, runs.

Each request writes one line on the logger ``app.request``: method, route (the URL rule,
``/commandes/<int:order_id>``, never the path with its ids), status, duration in ms,
request id and user id. Never an e-mail, a token, a password or a query string.

``LOG_FORMAT`` chooses the shape: ``json`` (production: one JSON object per line, for the
log collector) or ``text`` (development).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request
from flask.logging import default_handler
from sqlalchemy import inspect as sa_inspect

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# What the current request, or the job a worker runs, is: read by the log filter.
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

request_logger = logging.getLogger("app.request")

# The attributes every LogRecord has: anything else was passed in `extra=` and is logged.
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def current_request_id() -> str | None:
    """The id of the request (or of the request behind the job) running now."""
    context = _context.get()
    return context.get("request_id") if context else None


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Put `fields` (request_id, job_id, …) on every log line written inside the block."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current request's or job's fields onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, then the record's
    extra fields; the traceback, if any, as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Development: the usual line, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [{request_id}]" if request_id else text


def configure(app: Flask) -> None:
    """Send the application's logs to stderr in `LOG_FORMAT`, and log every request."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    app_logger = logging.getLogger("app")  # app.logger, app.request, and the modules' loggers
    app.logger.removeHandler(default_handler)
    for old in [h for h in app_logger.handlers if getattr(h, "compte_ressources", False)]:
        app_logger.removeHandler(old)
    handler.compte_ressources = True  # type: ignore[attr-defined]
    app_logger.addHandler(handler)
    app_logger.setLevel(app.config["LOG_LEVEL"])

    # First of all, so that a request refused early (rate limit) is logged too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_leave)


def _request_id() -> str:
    offered = request.headers.get(HEADER, "")
    return offered if _VALID_ID.fullmatch(offered) else uuid.uuid4().hex


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id = _request_id()
    g.log_token = _context.set({"request_id": g.request_id})


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id is None:  # a request that failed before `_start`
        return response
    response.headers[HEADER] = request_id
    duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    route = request.url_rule.rule if request.url_rule is not None else None
    user = g.get("_login_user")  # flask-login's user, when the request loaded one
    request_logger.info(
        "%s %s %s %.1f ms",
        request.method,
        route or "(no route)",
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": _user_id(user),
            "request_id": request_id,
        },
    )
    return response


def _user_id(user: Any) -> int | None:
    """The id of flask-login's user, from its identity key: after the request's commit its
    attributes are expired, and reading `user.id` would load it again (two statements)."""
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    if state is not None and state.identity:
        return int(state.identity[0])
    return getattr(user, "id", None)


def _leave(_error: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        _context.reset(token)
