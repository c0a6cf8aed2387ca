"""PDF documents are built from our own data only: the URL fetcher lets nothing but inline
``data:`` URLs through, so no ``file://`` is read and no host is called, whatever ends up
in the HTML."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask
from weasyprint import HTML

from app.documents import services as documents
from tests.helpers import pdf_text


@pytest.fixture
def requests_seen() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 that notes every path asked for: (its URL, the paths)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/hostname",
        "http://127.0.0.1:9/logo.png",
        "https://example.org/x.css",
        # Beside the DSFR's fonts, or out of their folder: refused too.
        documents.font_url("Marianne-Regular.woff2"),
        documents.font_url("../dsfr.min.css"),
        documents.font_url("Marianne-Regular.woff").replace("/fonts/", "/fonts/../../"),
    ],
)
def test_the_fetcher_refuses_anything_but_data_urls_and_the_dsfr_fonts(url: str) -> None:
    with pytest.raises(ValueError, match="disallowed protocol|not allowed in a document"):
        documents.url_fetcher().fetch(url)


def test_the_fetcher_reads_the_dsfr_fonts() -> None:
    response = documents.url_fetcher().fetch(documents.font_url("Marianne-Regular.woff"))
    assert response.read(4) == b"wOFF"
    response.close()


def test_the_fetcher_accepts_inline_data() -> None:
    assert documents.url_fetcher().fetch("data:text/plain,bonjour") is not None


def test_a_document_reads_no_local_file_and_calls_no_host(
    app: Flask,
    tmp_path: Path,
    requests_seen: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, seen = requests_seen
    secret = tmp_path / "secret.css"
    secret.write_text('body::after { content: "SECRET-FROM-DISK"; }')
    page = (
        "<html><head>"
        f'<link rel="stylesheet" href="{secret.as_uri()}">'
        f'<link rel="stylesheet" href="{server}/remote.css">'
        '<link rel="stylesheet" href="data:text/css,body::before{content:%22INLINE-OK%22}">'
        "</head><body><p>Reçu</p>"
        '<img src="file:///etc/hostname">'
        f'<img src="{server}/pixel.png">'
        "</body></html>"
    )
    monkeypatch.setattr(documents, "render_html", lambda template, **context: page)

    with app.app_context():
        pdf = documents.render_pdf("documents/anything.html")

    text = pdf_text(pdf)
    assert "INLINE-OK" in text  # inline data is used
    assert "SECRET-FROM-DISK" not in text
    assert seen == []
    # What the test would see with WeasyPrint's own fetcher: the file read, the host called.
    unguarded = pdf_text(HTML(string=page, base_url=None).write_pdf())
    assert "SECRET-FROM-DISK" in unguarded
    assert sorted(seen) == ["/pixel.png", "/remote.css"]
