"""With several web processes, the rate limits hold for the whole service only when
their counts are shared: `RATELIMIT_STORAGE_URI=redis://…`. Two instances of the
application, each in its own process, count one token's requests together."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests
from flask import Flask

from app.accounts import tokens
from app.extensions import db
from tests import factories
from tests.api.conftest import bearer
from tests.conftest import DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")
THREE_PER_MINUTE = "API_REQUESTS_PER_TOKEN=3 per minute"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The local Redis, its test database emptied before and after."""
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.flushdb()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis ne répond pas sur {REDIS_URL} (TEST_REDIS_URL).")
        pytest.skip(f"no Redis on {REDIS_URL}")
    yield REDIS_URL
    server.flushdb()


@pytest.fixture
def raw_token(committed: Flask) -> str:
    with committed.app_context():
        vendor = factories.VendorFactory()
        _token, raw = tokens.create_token(factories.vendor_member(vendor), vendor, "Logiciel")
        db.session.commit()
    return raw


@contextmanager
def two_instances(*settings: str) -> Iterator[tuple[str, str]]:
    """The application served by two processes of its own (started together); their URLs."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.peers.app_server", DATABASE_URL, *settings],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        urls = []
        for process in processes:
            port = process.stdout.readline().strip()  # type: ignore[union-attr]
            if not port.isdigit():
                process.kill()
                pytest.fail(f"the application did not start: {process.stderr.read()}")  # type: ignore[union-attr]
            urls.append(f"http://127.0.0.1:{port}")
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def alternate(first: str, second: str, raw_token: str) -> list[int]:
    """Four requests with the token, to one instance then the other."""
    return [
        requests.get(f"{base}/api/v1/licences", headers=bearer(raw_token), timeout=10).status_code
        for base in (first, second, first, second)
    ]


def test_two_instances_share_the_counts_through_redis(redis_url: str, raw_token: str) -> None:
    settings = (f"RATELIMIT_STORAGE_URI={redis_url}", THREE_PER_MINUTE)
    with two_instances(*settings) as (first, second):
        assert alternate(first, second, raw_token) == [200, 200, 200, 429]
    assert redis.Redis.from_url(redis_url).keys("*api-token*")


def test_in_memory_each_instance_counts_alone(raw_token: str) -> None:
    """Why production needs Redis as soon as it runs more than one web process."""
    settings = ("RATELIMIT_STORAGE_URI=memory://", THREE_PER_MINUTE)
    with two_instances(*settings) as (first, second):
        assert alternate(first, second, raw_token) == [200, 200, 200, 200]
