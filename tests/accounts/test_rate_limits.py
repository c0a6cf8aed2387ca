"""Pages that send a link, and the pages those links open, are rate-limited: the refusal is
a 429 page in French saying how long to wait, with the same figure in `Retry-After`."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts import services
from tests.helpers import page_text


def assert_told_to_wait(response: object, at_most_seconds: int) -> None:
    assert response.status_code == 429  # type: ignore[attr-defined]
    text = page_text(response)
    assert "Trop de tentatives" in text
    assert "Réessayez dans " in text
    wait = int(response.headers["Retry-After"])  # type: ignore[attr-defined]
    assert 0 < wait <= at_most_seconds


@pytest.mark.parametrize("path", ["/mot-de-passe-oublie", "/premiere-connexion"])
def test_asking_for_a_link_again_and_again_is_refused_for_the_hour(
    client: FlaskClient, path: str
) -> None:
    statuses = [
        client.post(path, data={"email": "claire.petit@ac-paris.fr"}).status_code for _ in range(3)
    ]
    assert statuses == [302] * 3
    refused = client.post(path, data={"email": "claire.petit@ac-paris.fr"})
    assert_told_to_wait(refused, 3600)
    assert "Réessayez dans 60 minutes." in page_text(refused)


def test_the_pages_links_open_are_limited_per_network_address(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guessing links, or making the server hash passwords, costs the guesser's address."""
    monkeypatch.setitem(app.config, "LINK_PAGES_PER_ADDRESS", "4 per hour")
    waiting = services.create_user("attend@ac-lyon.fr", "Attend")
    token = services.activation_token(waiting)
    statuses = [client.get(f"/activation/{token}").status_code for _ in range(2)]
    statuses += [client.get(f"/mot-de-passe/devine-{n}").status_code for n in range(2)]
    assert statuses == [200, 200, 410, 410]
    assert_told_to_wait(client.get(f"/activation/{token}"), 3600)
    elsewhere = client.get(f"/activation/{token}", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert elsewhere.status_code == 200
