"""`/metrics`: behind its bearer token; request durations per route and status, and the
gauges read from the database at scrape time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from app.core import jobs
from app.core.db import utcnow
from app.core.jobs import Job, JobStatus
from app.ledger import services as ledger

TOKEN = "jeton-de-supervision-de-test"


@pytest.fixture
def token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return TOKEN


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_no_metrics_page_without_a_token_configured(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_the_metrics_need_the_token(client: FlaskClient, token: str) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer autre-chose"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": token}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_requests_counted_per_route_and_status(client: FlaskClient, token: str) -> None:
    count = "compte_ressources_http_request_duration_seconds_count"
    healthz = (count, (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    missing = (count, (("method", "GET"), ("route", "none"), ("status", "404")))
    before = scrape(client)

    client.get("/healthz")
    client.get("/healthz")
    client.get("/nulle-part/12345")

    after = scrape(client)
    assert after[healthz] - before.get(healthz, 0) == 2
    assert after[missing] - before.get(missing, 0) == 1
    bucket = "compte_ressources_http_request_duration_seconds_bucket"
    le_inf = (bucket, (("le", "+Inf"), ("method", "GET"), ("route", "/healthz"), ("status", "200")))
    assert after[le_inf] == after[healthz]


def test_jobs_mails_and_ledger_read_from_the_database(
    client: FlaskClient, session: Session, token: str
) -> None:
    now = utcnow()
    for _ in range(2):
        jobs.enqueue("mail", {"message": "password_reset", "to": "a@example.org"})
    session.add_all(
        [
            Job(
                kind="noop",
                payload={},
                status=JobStatus.QUEUED,
                max_attempts=1,
                run_after=now - timedelta(minutes=5),
            ),
            Job(
                kind="noop",
                payload={},
                status=JobStatus.QUEUED,
                max_attempts=1,
                run_after=now + timedelta(hours=1),
            ),  # waits for its retry: not ready
            Job(kind="noop", payload={}, status=JobStatus.RUNNING, max_attempts=1),
            Job(kind="noop", payload={}, status=JobStatus.DEAD, max_attempts=1),
            Job(
                kind="mail",
                payload={},
                status=JobStatus.DONE,
                max_attempts=1,
                finished_at=now - timedelta(minutes=10),
            ),
            Job(
                kind="mail",
                payload={},
                status=JobStatus.DONE,
                max_attempts=1,
                finished_at=now - timedelta(hours=3),
            ),  # sent, but not in the last hour
            Job(
                kind="mail",
                payload={},
                status=JobStatus.DEAD,
                max_attempts=1,
                finished_at=now - timedelta(minutes=1),
            ),
        ]
    )
    session.flush()
    ledger.verify_and_record()

    metrics = scrape(client)

    def jobs_of(kind: str, status: str) -> float:
        return metrics[("compte_ressources_jobs", (("kind", kind), ("status", status)))]

    assert jobs_of("mail", "queued") == 2
    assert jobs_of("mail", "dead") == 1
    assert (jobs_of("noop", "queued"), jobs_of("noop", "running"), jobs_of("noop", "dead")) == (
        2,
        1,
        1,
    )
    assert ("compte_ressources_jobs", (("kind", "mail"), ("status", "done"))) not in metrics
    age = metrics[("compte_ressources_jobs_oldest_ready_age_seconds", ())]
    assert 300 <= age < 400
    assert metrics[("compte_ressources_mails_last_hour", (("outcome", "sent"),))] == 1
    assert metrics[("compte_ressources_mails_last_hour", (("outcome", "failed"),))] == 1
    assert metrics[("compte_ressources_ledger_verify_ok", ())] == 1
    verified_at = metrics[("compte_ressources_ledger_verify_timestamp_seconds", ())]
    assert abs(verified_at - now.timestamp()) < 60


def test_a_failed_ledger_verify_shows(client: FlaskClient, session: Session, token: str) -> None:
    from app.ledger.models import LedgerVerification

    session.add(LedgerVerification(ok=True, entries=1, postings=2, accounts=2, seconds=0.1))
    session.add(
        LedgerVerification(
            ok=False, entries=1, postings=2, accounts=2, seconds=0.1, faults={"wrong_balances": [7]}
        )
    )
    session.flush()
    assert scrape(client)[("compte_ressources_ledger_verify_ok", ())] == 0


def test_no_ready_job_means_no_wait(client: FlaskClient, session: Session, token: str) -> None:
    assert scrape(client)[("compte_ressources_jobs_oldest_ready_age_seconds", ())] == 0
