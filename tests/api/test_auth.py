"""Who may call the API: a vendor's token, not revoked, of a vendor in good standing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts import tokens
from app.accounts.models import ApiToken, Role, User
from app.core.db import utcnow
from app.extensions import db
from app.products.models import Product
from app.vendors import services as vendors
from app.vendors.models import Vendor, VendorStatus
from tests import factories
from tests.api.conftest import bearer, make_licence

ENDPOINTS = [
    ("get", "/api/v1/licences"),
    ("get", "/api/v1/licences/1"),
    ("post", "/api/v1/licences/1/provisioning"),
    ("post", "/api/v1/licences/1/failure"),
    ("post", "/api/v1/products/1/codes"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_no_token_is_401_with_a_bearer_challenge(
    client: FlaskClient, method: str, url: str
) -> None:
    response = getattr(client, method)(url, json={})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Compte Ressources"'
    error = response.json["error"]
    assert error["code"] == "unauthorized"
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer cr_not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "cr_without_scheme"],
)
def test_a_wrong_token_is_401(
    client: FlaskClient, headers: dict[str, str], authorization: str
) -> None:
    response = client.get("/api/v1/licences", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_revoked_token_is_401(
    client: FlaskClient, member: User, token: tuple[ApiToken, str]
) -> None:
    api_token, raw = token
    assert client.get("/api/v1/licences", headers=bearer(raw)).status_code == 200

    tokens.revoke_token(member, api_token)
    response = client.get("/api/v1/licences", headers=bearer(raw))

    assert response.status_code == 401
    assert response.json["error"]["message"] == "Ce jeton d'accès a été révoqué."
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_suspended_vendor_is_403(
    client: FlaskClient, vendor: Vendor, product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(product)
    vendors.suspend(factories.with_role(Role.ADMIN), vendor, "Déclaration mensongère")
    db.session.commit()

    listing = client.get("/api/v1/licences", headers=headers)
    failure = client.post(
        f"/api/v1/licences/{licence.id}/failure", json={"message": "Non."}, headers=headers
    )

    assert listing.status_code == failure.status_code == 403
    assert listing.json["error"]["code"] == "forbidden"
    assert "Suspendu" in listing.json["error"]["message"]
    assert licence.status.value == "pending"


def test_a_vendor_waiting_for_approval_is_told_so_by_the_api(
    client: FlaskClient, vendor: Vendor, headers: dict[str, str]
) -> None:
    vendor.status = VendorStatus.PENDING
    db.session.commit()

    listing = client.get("/api/v1/licences", headers=headers)

    assert listing.status_code == 403
    assert listing.json["error"]["message"] == (
        "L'API est fermée à votre entreprise (statut : « En attente de validation »)."
    )


def test_last_use_is_recorded_to_the_minute(
    client: FlaskClient, token: tuple[ApiToken, str]
) -> None:
    api_token, raw = token
    assert api_token.last_used_at is None

    client.get("/api/v1/licences", headers=bearer(raw))
    first_use = api_token.last_used_at
    assert first_use is not None
    client.get("/api/v1/licences", headers=bearer(raw))
    assert api_token.last_used_at == first_use  # not written again within the minute

    api_token.last_used_at = utcnow() - timedelta(minutes=2)
    db.session.flush()
    client.get("/api/v1/licences", headers=bearer(raw))
    assert api_token.last_used_at > first_use


def test_tokens_are_stored_as_their_digest(token: tuple[ApiToken, str]) -> None:
    api_token, raw = token

    assert raw.startswith("cr_")
    assert len(raw) == 46
    assert api_token.token_sha256 == tokens.digest(raw) != raw
    assert api_token.prefix == raw[:10]


def test_the_api_needs_no_csrf_token(
    app: Flask, client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(product)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(
            f"/api/v1/licences/{licence.id}/failure",
            json={"message": "Compte enseignant introuvable chez nous."},
            headers=headers,
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False

    assert response.status_code == 200
