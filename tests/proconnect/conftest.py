"""A real OpenID Provider for the ProConnect tests: tests/peers/proconnect.mjs (npm
oidc-provider) started on 127.0.0.1, and a helper that signs in at it as a person would."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "compte-ressources-tests"
CLIENT_SECRET = "secret-des-tests-de-proconnect"


class Provider:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def misbehave(self, id_token: str = "", userinfo: str = "") -> None:
        """Spoil the next tokens on purpose (see tests/peers/proconnect.mjs)."""
        response = requests.post(
            f"{self.issuer}/_test/misbehave",
            params={"id_token": id_token, "userinfo": userinfo},
            timeout=5,
        )
        response.raise_for_status()


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        if os.environ.get("CI"):
            pytest.fail("oidc-provider manque : `make test` l'installe (npm ci).")
        pytest.skip("node_modules/oidc-provider is missing (make install runs npm ci)")
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "TEST_MODE": "1",
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
    }
    process = subprocess.Popen(
        ["node", str(ROOT / "tests" / "peers" / "proconnect.mjs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"the local OpenID Provider did not start: {process.stdout.read()}")  # type: ignore[union-attr]
    yield Provider(issuer)
    process.terminate()
    process.wait(timeout=5)


@pytest.fixture
def proconnect(app: Flask, provider: Provider) -> Iterator[Provider]:
    """The app set up with the local provider; its misbehaviour reset after the test."""
    saved = {
        key: app.config[key]
        for key in ("PROCONNECT_ISSUER", "PROCONNECT_CLIENT_ID", "PROCONNECT_CLIENT_SECRET")
    }
    app.config.update(
        PROCONNECT_ISSUER=provider.issuer,
        PROCONNECT_CLIENT_ID=CLIENT_ID,
        PROCONNECT_CLIENT_SECRET=CLIENT_SECRET,
    )
    yield provider
    provider.misbehave()
    app.config.update(saved)


def sign_in_at_provider(app: Flask, client: FlaskClient, login: str) -> str:
    """Click the button, choose `login` at the provider: the local path of the way back."""
    start = client.get("/proconnect/connexion")
    assert start.status_code == 302, start.get_data(as_text=True)
    browser = requests.Session()
    page = browser.get(start.location, timeout=5)
    assert page.status_code == 200, page.text
    response = browser.post(page.url, data={"login": login}, allow_redirects=False, timeout=5)
    public = app.config["PUBLIC_URL"]
    while not response.headers["Location"].startswith(public):
        target = urljoin(response.url, response.headers["Location"])
        response = browser.get(target, allow_redirects=False, timeout=5)
        assert response.status_code in (302, 303), response.text
    back = urlsplit(response.headers["Location"])
    return f"{back.path}?{back.query}"
