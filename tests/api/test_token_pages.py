"""The vendor's page « Accès à l'API »: a token is shown once, listed by its first
characters after, revocable; another vendor's members see none of it."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from app.accounts import tokens
from app.accounts.models import ApiToken, User
from app.core import audit
from app.extensions import db
from app.vendors.models import Vendor
from tests import factories
from tests.api.conftest import bearer
from tests.conftest import AuthActions
from tests.helpers import page_text

RAW_TOKEN = re.compile(r"cr_[A-Za-z0-9_-]{43}")


def login_member(auth: AuthActions, vendor: Vendor) -> User:
    user = factories.vendor_member(vendor)
    auth.login(user.email)
    return user


def test_a_new_token_is_shown_once_then_only_its_prefix(
    client: FlaskClient, auth: AuthActions, vendor: Vendor
) -> None:
    login_member(auth, vendor)
    url = f"/editeur/{vendor.id}/api"
    assert "Aucun jeton" in page_text(client.get(url))

    created = client.post(url, data={"name": "Logiciel de gestion des licences"})

    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    shown = RAW_TOKEN.findall(page_text(created))
    assert len(shown) == 1
    raw = shown[0]
    token = db.session.query(ApiToken).filter_by(vendor_id=vendor.id).one()
    assert token.token_sha256 == tokens.digest(raw)
    assert token.name == "Logiciel de gestion des licences"
    assert [event.action for event in audit.history("api_token", token.id)] == ["api_token.created"]

    listed = page_text(client.get(url))
    assert raw not in listed
    assert not RAW_TOKEN.search(listed)
    assert f"{token.prefix}…" in listed
    assert "Logiciel de gestion des licences" in listed
    assert client.get("/api/v1/licences", headers=bearer(raw)).status_code == 200


def test_a_token_needs_a_name(client: FlaskClient, auth: AuthActions, vendor: Vendor) -> None:
    login_member(auth, vendor)

    response = client.post(f"/editeur/{vendor.id}/api", data={"name": "   "})

    assert response.status_code == 422
    assert not RAW_TOKEN.search(page_text(response))
    assert tokens.vendor_tokens(vendor) == []


def test_revoking_a_token_closes_the_api_to_it(
    client: FlaskClient, auth: AuthActions, vendor: Vendor
) -> None:
    member = login_member(auth, vendor)
    token, raw = tokens.create_token(member, vendor, "Ancien logiciel")
    db.session.commit()

    response = client.post(f"/editeur/{vendor.id}/api/{token.id}/revoquer")

    assert response.status_code == 302
    assert response.location.endswith(f"/editeur/{vendor.id}/api")
    assert token.revoked_at is not None
    assert audit.history("api_token", token.id)[-1].action == "api_token.revoked"
    assert client.get("/api/v1/licences", headers=bearer(raw)).status_code == 401
    page = page_text(client.get(f"/editeur/{vendor.id}/api"))
    assert "est révoqué" in page
    assert "Révoqué le" in page


def test_another_vendor_sees_nor_revokes_the_tokens(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, other_vendor: Vendor
) -> None:
    token, raw = tokens.create_token(factories.vendor_member(vendor), vendor, "Logiciel A")
    login_member(auth, other_vendor)

    page = client.get(f"/editeur/{vendor.id}/api")
    revoke_there = client.post(f"/editeur/{vendor.id}/api/{token.id}/revoquer")
    revoke_here = client.post(f"/editeur/{other_vendor.id}/api/{token.id}/revoquer")
    own_page = page_text(client.get(f"/editeur/{other_vendor.id}/api"))

    assert page.status_code == revoke_there.status_code == 403
    assert revoke_here.status_code == 404
    assert token.revoked_at is None
    assert token.prefix not in own_page
    assert "Logiciel A" not in own_page
    assert client.get("/api/v1/licences", headers=bearer(raw)).status_code == 200


def test_the_page_needs_a_login(client: FlaskClient, vendor: Vendor) -> None:
    response = client.get(f"/editeur/{vendor.id}/api")

    assert response.status_code == 302
    assert "/connexion" in response.location


def test_the_vendor_space_links_to_the_page(
    client: FlaskClient, auth: AuthActions, vendor: Vendor
) -> None:
    login_member(auth, vendor)

    page = page_text(client.get(f"/editeur/{vendor.id}"))

    assert f'href="/editeur/{vendor.id}/api"' in page
    assert "Accès à l’API" in page
