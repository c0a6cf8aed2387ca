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


@pytest.fixture
def gunicorn(app: Flask, tmp_path: Path) -> Iterator[str]:
    """gunicorn started as in production, on a free port (bound to 0), against the test
    database (its schema built by the `app` fixture); its base URL."""
    environment = {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": "gunicorn-test-secret",
        "PUBLIC_URL": "https://compte-ressources.test",
        "MAIL_URL": f"file://{tmp_path / 'mail'}",
        "STORAGE_URL": (tmp_path / "storage").as_uri(),
        "WEB_BIND": "127.0.0.1:0",
        "WEB_CONCURRENCY": "1",
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
