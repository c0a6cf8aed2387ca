"""Security headers on every kind of response: pages, the JSON API, PDFs, static files;
HSTS only in production; nothing personal kept in a cache, static files still cacheable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.core import storage
from app.core.security_headers import content_security_policy
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.core.test_config import PRODUCTION
from tests.orders.conftest import Shop, shop, teacher_client  # noqa: F401
from tests.orders.helpers import buy

APP = Path(__file__).resolve().parents[2] / "app"
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS = ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()")


def assert_security_headers(response: TestResponse) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    for feature in PERMISSIONS:
        assert feature in headers["Permissions-Policy"].split(", ")
    assert "Strict-Transport-Security" not in headers  # not outside production


def test_an_html_page(client: FlaskClient) -> None:
    response = client.get("/connexion")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"  # a form with a CSRF token


def test_an_error_page(client: FlaskClient) -> None:
    response = client.get("/page-qui-n-existe-pas")

    assert response.status_code == 404
    assert_security_headers(response)


def test_the_json_api(client: FlaskClient) -> None:
    refused = client.get("/api/v1/licences")  # no token: a JSON error
    described = client.get("/api/v1/openapi.json")

    assert refused.status_code == 401
    assert refused.mimetype == "application/json"
    assert described.status_code == 200
    for response in (refused, described):
        assert_security_headers(response)
        assert response.headers["Cache-Control"] == "no-store"


def test_a_static_file_stays_cacheable(client: FlaskClient) -> None:
    response = client.get("/static/app.css")

    assert response.status_code == 200
    assert_security_headers(response)
    assert "no-store" not in response.headers["Cache-Control"]
    assert response.headers["ETag"]


def test_a_signed_in_person_gets_no_store_but_static_files_and_logos_stay_cacheable(
    client: FlaskClient, auth: AuthActions
) -> None:
    teacher = factories.teacher()
    db.session.commit()
    auth.login(teacher.email)
    logo = storage.save("logos", b"\x89PNG\r\n\x1a\n logo", "png")

    page = client.get("/catalogue")
    dsfr = client.get("/static/dsfr/dsfr.min.css")
    served_logo = client.get(f"/fichiers/{logo}")

    assert page.status_code == 200
    assert teacher.name in page.get_data(as_text=True)  # really signed in
    assert page.headers["Cache-Control"] == "no-store"
    assert dsfr.status_code == 200
    assert "no-store" not in dsfr.headers["Cache-Control"]
    assert served_logo.status_code == 200
    assert served_logo.headers["Cache-Control"] == "public, max-age=31536000"
    for response in (page, dsfr, served_logo):
        assert_security_headers(response)


def test_a_receipt_pdf(teacher_client: FlaskClient, shop: Shop) -> None:  # noqa: F811
    order = buy(shop.teacher, shop.atlas)

    response = teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_only_in_production(monkeypatch: pytest.MonkeyPatch, client: FlaskClient) -> None:
    never_reached = "postgresql+psycopg://postgres@127.0.0.1:9/jamais-contactee"
    for name, value in {**PRODUCTION, "DATABASE_URL": never_reached}.items():
        monkeypatch.setenv(name, value)
    production = create_app("production")

    in_production = production.test_client().get("/static/app.css")
    in_tests = client.get("/static/app.css")

    assert in_production.headers["Strict-Transport-Security"] == (
        "max-age=63072000; includeSubDomains"
    )
    assert "Strict-Transport-Security" not in in_tests.headers


def test_form_action_names_proconnect_and_stripe_when_they_are_set_up(app: Flask) -> None:
    config = {
        **app.config,
        "PROCONNECT_ISSUER": "https://auth.agentconnect.gouv.fr/api/v2",
        "PAYOUT_GATEWAY": "stripe",
    }

    policy = content_security_policy(config)

    assert (
        "form-action 'self' https://auth.agentconnect.gouv.fr https://connect.stripe.com"
        in policy.split("; ")
    )
    assert "form-action 'self'" in content_security_policy(app.config).split("; ")


def test_the_demo_mailbox_frames_a_mail_under_its_own_narrow_policy(
    tmp_path: Path, app: Flask
) -> None:
    (tmp_path / "1.eml").write_text(
        "From: a@example.fr\nTo: b@example.fr\nSubject: Essai\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n\n"
        '<p style="color: #000091">Bonjour</p>\n'
    )
    dev = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        DEMO_PEERS=True,
        MAIL_URL=f"file://{tmp_path}",
    )
    client = dev.test_client()

    letter = client.get("/demo/courriels/1.eml")
    framed = client.get("/demo/courriels/1.eml/mise-en-forme")

    assert letter.headers["Content-Security-Policy"] == CSP
    assert 'src="/demo/courriels/1.eml/mise-en-forme"' in letter.get_data(as_text=True)
    assert framed.status_code == 200
    assert '<p style="color: #000091">Bonjour</p>' in framed.get_data(as_text=True)
    assert framed.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; "
        "sandbox allow-top-navigation-by-user-activation"
    )
    assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert framed.headers["X-Content-Type-Options"] == "nosniff"


JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)|<style|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.IGNORECASE
)


def test_the_pages_templates_carry_no_inline_script_handler_or_style() -> None:
    """What the policy would block. Mails and PDFs style themselves inline: they are
    never served as pages (the demo mailbox frames mails under their own policy)."""
    pages = [
        path
        for path in APP.glob("**/templates/**/*.html")
        if "mail" not in path.relative_to(APP).parts[-2:-1]
        and not path.is_relative_to(APP / "documents")
        and path != APP / "invoices/templates/invoices/invoice.html"  # a PDF
    ]
    found = [
        f"{path.relative_to(APP)}: {match.group(0)!r}"
        for path in pages
        for match in INLINE.finditer(JINJA_COMMENT.sub("", path.read_text()))
    ]

    assert len(pages) > 50
    assert found == []
