"""Probes for the load balancer and the supervisor.

- ``GET /healthz``: liveness. The process answers; nothing else is touched (no database
  call), so a database outage never gets healthy web processes restarted.
- ``GET /readyz``: readiness. Every dependency this deployment uses answers; otherwise
  503 and the name of each one that failed. The reason (host, error, versions) goes to
  the log only: these pages are public.
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from app.core import storage
from app.extensions import db, limiter

blueprint = Blueprint("health", __name__)

# How long a dependency may take to answer before it counts as down.
TIMEOUT_SECONDS = 2


@blueprint.get("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@blueprint.get("/readyz")
@limiter.exempt
def readyz() -> ResponseReturnValue:
    results = {name: _passes(name, check) for name, check in dependencies().items()}
    ready = all(results.values())
    body = {"status": "ok" if ready else "error"}
    body.update({name: "ok" if passed else "unreachable" for name, passed in results.items()})
    return jsonify(body), 200 if ready else 503


def dependencies() -> dict[str, Callable[[], object]]:
    """What this deployment needs to serve requests, each a check that raises when it
    cannot be reached. A new dependency adds its check here."""
    checks: dict[str, Callable[[], object]] = {"database": _database, "storage": storage.check}
    if str(current_app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        checks["redis"] = _redis
    return checks


def _passes(name: str, check: Callable[[], object]) -> bool:
    try:
        check()
    except Exception as error:  # noqa: BLE001 - any failure means not ready; the log says why
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        current_app.logger.warning("Readiness: %s unreachable: %s", name, reason)
        return False
    return True


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _redis() -> None:
    client = redis.Redis.from_url(
        current_app.config["RATELIMIT_STORAGE_URI"],
        socket_connect_timeout=TIMEOUT_SECONDS,
        socket_timeout=TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()
