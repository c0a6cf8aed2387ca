"""`GET /metrics`: what Prometheus scrapes.

Only with ``Authorization: Bearer <METRICS_TOKEN>``; without ``METRICS_TOKEN`` the page
does not exist (404). Two sources:

- each web process counts its requests, by method, route (the URL rule) and status, in
  a histogram of their duration (its ``_count`` is the number of requests);
- the database, read at scrape time with a few cheap queries (each served by an index):
  jobs queued / running / dead per kind, how long the oldest ready job has waited,
  e-mails sent and failed in the last hour, the result of the latest ledger verify.

Under gunicorn every worker process has its own counters: set ``PROMETHEUS_MULTIPROC_DIR``
to an empty directory, the same for all the processes of a machine (emptied before
gunicorn starts), and prometheus-client writes them there and adds them up at scrape
time (see docs/decisions/0018-observability-and-retention.md).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, func, literal_column, select

from app.core.db import utcnow
from app.core.jobs import Job, JobStatus
from app.extensions import db, limiter
from app.ledger.models import LedgerVerification

PREFIX = "compte_ressources"
MAIL_KIND = "mail"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

blueprint = Blueprint("metrics", __name__)

# Not in the default registry: each scrape builds its own (below).
REQUEST_SECONDS = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Durée des requêtes HTTP, par méthode, route et statut.",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)


def init_app(app: Flask) -> None:
    app.after_request(_observe)


def _observe(response: Response) -> Response:
    started = g.get("request_started")  # set by app/core/logs.py
    if started is not None:
        # A bounded set of labels: unknown routes and methods are not spelled out.
        route = request.url_rule.rule if request.url_rule is not None else "none"
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response


@blueprint.get("/metrics")
@limiter.exempt
def metrics() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        return Response(status=404)
    offered = request.headers.get("Authorization", "")
    if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return Response(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(DatabaseCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class DatabaseCollector(Collector):
    """The gauges read from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        jobs = GaugeMetricFamily(
            f"{PREFIX}_jobs", "Tâches de fond, par sorte et état.", labels=["kind", "status"]
        )
        # One query per state, each through its partial index: as cheap as the state is
        # small (the whole table, done jobs included, is never read).
        for status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DEAD):
            counted = db.session.execute(
                select(Job.kind, func.count()).where(_status_is(status)).group_by(Job.kind)
            )
            for kind, count in counted:
                jobs.add_metric([kind, status.value], count)
        yield jobs

        oldest = db.session.scalar(
            select(func.min(Job.run_after)).where(
                _status_is(JobStatus.QUEUED), Job.run_after <= now
            )
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_jobs_oldest_ready_age_seconds",
            "Attente de la plus ancienne tâche prête (0 : aucune).",
            value=(now - oldest).total_seconds() if oldest is not None else 0.0,
        )

        hour_ago = now - timedelta(hours=1)
        mails = GaugeMetricFamily(
            f"{PREFIX}_mails_last_hour",
            "Courriels envoyés (sent) et abandonnés (failed) dans la dernière heure.",
            labels=["outcome"],
        )
        for outcome, status in (("sent", JobStatus.DONE), ("failed", JobStatus.DEAD)):
            sent_or_failed = db.session.scalar(
                select(func.count()).where(
                    _status_is(status), Job.finished_at >= hour_ago, Job.kind == MAIL_KIND
                )
            )
            mails.add_metric([outcome], sent_or_failed or 0)
        yield mails

        latest = db.session.scalar(
            select(LedgerVerification).order_by(LedgerVerification.id.desc()).limit(1)
        )
        if latest is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_ledger_verify_ok",
                "1 si la dernière vérification du grand livre l’a trouvé juste, sinon 0.",
                value=1.0 if latest.ok else 0.0,
            )
            yield GaugeMetricFamily(
                f"{PREFIX}_ledger_verify_timestamp_seconds",
                "Date de la dernière vérification du grand livre (secondes Unix).",
                value=latest.verified_at.timestamp(),
            )


def _status_is(status: JobStatus) -> ColumnElement[bool]:
    """A literal, not a parameter, so that PostgreSQL picks the status's partial index."""
    return Job.status == literal_column(f"'{status.value}'")
