"""A request body over the limit is refused with 413 before the server reads it."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import CountingStream, page_text


def test_the_default_limit_is_10_mb_and_the_api_limit_1_mb(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024
    assert app.config["API_MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_an_oversized_form_post_is_refused_unread_with_a_french_page(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 512 * 1024)
    body = CountingStream(b"email=" + b"a" * (2 * 1024 * 1024))
    response = client.post(
        "/connexion",
        input_stream=body,
        content_type="application/x-www-form-urlencoded",
        content_length=len(body.getvalue()),
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    text = page_text(response)
    assert "<h1>Envoi trop volumineux</h1>" in text
    assert "L'envoi dépasse 512 Ko, la taille maximale acceptée." in text
    assert body.read_bytes == 0  # refused on its announced length, not after reading it


def test_a_file_sent_without_announced_length_is_refused_at_the_limit(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunked upload (no Content-Length): read up to the limit, then 413."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    body = CountingStream(
        b"--limite\r\n"
        b'Content-Disposition: form-data; name="fichier"; filename="gros.csv"\r\n\r\n'
        + b"a;1;0750654D\r\n" * 100_000
        + b"\r\n--limite--\r\n"
    )
    response = client.post(
        "/connexion",
        input_stream=body,
        content_type="multipart/form-data; boundary=limite",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn says of chunked
    )
    assert response.status_code == 413
    assert body.read_bytes <= 128 * 1024  # up to the limit, not the 1.4 MB sent


def test_the_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import DevelopmentConfig

    monkeypatch.setenv("MAX_CONTENT_LENGTH", "20971520")
    monkeypatch.setenv("API_MAX_CONTENT_LENGTH", "65536")
    assert DevelopmentConfig.from_environment()["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024
    assert DevelopmentConfig.from_environment()["API_MAX_CONTENT_LENGTH"] == 65536
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "10 Mo")
    with pytest.raises(RuntimeError, match="MAX_CONTENT_LENGTH doit être un nombre entier"):
        DevelopmentConfig.from_environment()
