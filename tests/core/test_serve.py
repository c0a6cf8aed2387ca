"""The production server: gunicorn with gunicorn.conf.py, APP_ENV=production."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.conftest import DATABASE_URL, requires_postgres

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "jeton-des-mesures"


@pytest.fixture
def gunicorn(app: Flask, tmp_path: Path) -> Iterator[str]:
    """gunicorn started as in production, on a free port (bound to 0), against the test
    database (its schema built by the `app` fixture); its base URL."""
    metrics_directory = tmp_path / "prometheus"
    metrics_directory.mkdir()
    environment = {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": "gunicorn-test-secret",
        "PUBLIC_URL": "https://compte-ressources.test",
        "MAIL_URL": f"file://{tmp_path / 'mail'}",
        "STORAGE_URL": (tmp_path / "storage").as_uri(),
        "WEB_BIND": "127.0.0.1:0",
        "WEB_CONCURRENCY": "2",
        "METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory),
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    address = None
    deadline = time.monotonic() + 30
    while address is None and server.poll() is None and time.monotonic() < deadline:
        if match := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text()):
            address = match.group(1)
        time.sleep(0.1)
    if address is None:
        server.kill()
        pytest.fail("gunicorn did not start:\n" + log.read_text())
    try:
        yield address
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0


def get(url: str) -> requests.Response:
    # The master holds the socket: a request sent while the worker boots waits for it.
    return requests.get(url, timeout=30, allow_redirects=False)


@requires_postgres
@pytest.mark.committed
def test_gunicorn_serves_the_app_in_production_without_naming_its_software(
    gunicorn: str,
) -> None:
    health = get(f"{gunicorn}/readyz")
    assert health.status_code == 200
    assert health.json()["database"] == "ok"

    page = get(f"{gunicorn}/catalogue")
    assert page.status_code == 200
    assert "Catalogue" in page.text
    for response in (health, page):
        assert response.headers["Server"] == "compte-ressources"
        assert not re.search(r"\d|gunicorn|werkzeug|python", response.headers["Server"], re.I)


@requires_postgres
@pytest.mark.committed
def test_metrics_add_up_the_requests_of_every_gunicorn_worker(gunicorn: str) -> None:
    """Two workers, each counting its own requests: /metrics, whichever worker answers,
    gives the total (PROMETHEUS_MULTIPROC_DIR, gunicorn.conf.py's child_exit)."""
    for _ in range(30):
        assert get(f"{gunicorn}/healthz").status_code == 200
    pattern = re.compile(r'_request_duration_seconds_count\{[^}]*route="/healthz"[^}]*\} (\S+)')
    for _ in range(6):
        scraped = requests.get(
            f"{gunicorn}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
        )
        assert scraped.status_code == 200
        assert sum(float(count) for count in pattern.findall(scraped.text)) == 30
