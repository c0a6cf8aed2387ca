"""Logs: one line per request with its route, status, duration, request id and user id,
never personal data; the request id on the jobs it enqueues and on their log lines."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.core import jobs
from app.core.logs import JsonFormatter, TextFormatter
from tests import factories
from tests.conftest import AuthActions


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    """The captured records of `logger`, as the production log shows them (JSON)."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


def test_one_json_line_per_request_with_route_status_duration_and_request_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    response = client.get("/healthz", headers={"X-Request-ID": "proxy-1234-abcd"})

    assert response.headers["X-Request-ID"] == "proxy-1234-abcd"
    [line] = lines(caplog, "app.request")
    assert line["method"] == "GET"
    assert line["route"] == "/healthz"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["request_id"] == "proxy-1234-abcd"
    assert line["user_id"] is None
    assert line["level"] == "INFO"
    assert line["logger"] == "app.request"
    assert "time" in line


def test_the_route_is_the_url_rule_not_the_path_with_its_secrets(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    client.get("/mot-de-passe/jeton-secret-42?email=quelquun@example.org")

    [line] = lines(caplog, "app.request")
    assert line["route"] == "/mot-de-passe/<token>"
    text = json.dumps(line)
    assert "jeton-secret-42" not in text
    assert "quelquun" not in text


def test_a_request_id_that_is_not_well_formed_is_replaced(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    first = client.get("/healthz", headers={"X-Request-ID": 'bad id {"injected": 1}'})
    second = client.get("/healthz")

    generated = first.headers["X-Request-ID"]
    assert len(generated) == 32
    assert generated.isalnum()
    assert second.headers["X-Request-ID"] not in {generated, ""}
    assert [line["request_id"] for line in lines(caplog, "app.request")] == [
        generated,
        second.headers["X-Request-ID"],
    ]


def test_a_login_line_names_the_user_by_id_never_by_email_or_password(
    client: FlaskClient, auth: AuthActions, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    user = factories.teacher(email="marie.curie@ac-paris.fr")
    caplog.set_level(logging.DEBUG)

    response = auth.login("marie.curie@ac-paris.fr", "password123")
    assert response.status_code == 302

    [line] = lines(caplog, "app.request")
    assert (line["method"], line["route"], line["status"]) == ("POST", "/connexion", 302)
    assert line["user_id"] == user.id
    everything = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "marie.curie" not in everything
    assert "password123" not in everything


def test_the_jobs_a_request_enqueues_carry_its_id_into_the_worker_log(
    client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    factories.teacher(email="oubli@ac-paris.fr")
    caplog.set_level(logging.INFO)
    response = client.post(
        "/mot-de-passe-oublie",
        data={"email": "oubli@ac-paris.fr"},
        headers={"X-Request-ID": "reset-request-0001"},
    )
    assert response.status_code == 302

    job = session.scalars(select(jobs.Job).where(jobs.Job.kind == "mail")).one()
    assert job.request_id == "reset-request-0001"

    caplog.clear()
    assert jobs.claim(["mail"]) == job.id
    jobs.run(job.id)  # no mail server: the job fails, and says so in its lines

    job_lines = list(lines(caplog, "app.job"))
    assert len(job_lines) == 1
    assert job_lines[0]["request_id"] == "reset-request-0001"
    assert job_lines[0]["job_id"] == job.id
    assert job_lines[0]["job_kind"] == "mail"
    assert job_lines[0]["job_status"] in {"queued", "done", "dead"}
    assert "oubli@" not in json.dumps(job_lines)


def test_jobs_enqueued_outside_a_request_have_no_request_id(session: Session) -> None:
    jobs.enqueue("noop", {})
    job = session.scalars(select(jobs.Job).where(jobs.Job.kind == "noop")).one()
    assert job.request_id is None


def test_log_format_json_in_production_text_elsewhere(app: Flask) -> None:
    def formatter(created: Flask) -> logging.Formatter | None:
        handlers = logging.getLogger("app").handlers
        mine = [h for h in handlers if getattr(h, "compte_ressources", False)]
        assert len(mine) == 1
        return mine[0].formatter

    try:
        assert isinstance(formatter(create_app("test", LOG_FORMAT="json")), JsonFormatter)
        assert isinstance(formatter(create_app("test")), TextFormatter)
    finally:
        create_app("test")  # leave the logger as the test app set it


def test_json_lines_stay_on_one_line_with_a_traceback() -> None:
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "boom", None, None)
        import sys

        record.exc_info = sys.exc_info()
    formatted = JsonFormatter().format(record)
    assert "\n" not in formatted
    assert "ValueError" in json.loads(formatted)["exception"]
