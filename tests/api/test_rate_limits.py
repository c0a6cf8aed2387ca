"""The API is rate-limited per token: one busy program never slows another vendor's, and
the refusal is a JSON 429 in the application's error shape, with `Retry-After`."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts import tokens
from app.accounts.models import ApiToken, User
from app.vendors.models import Vendor
from tests import factories
from tests.api.conftest import bearer


@pytest.fixture
def three_per_minute(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "API_REQUESTS_PER_TOKEN", "3 per minute")


@pytest.mark.usefixtures("three_per_minute")
def test_a_token_is_limited_with_a_json_429(client: FlaskClient, headers: dict[str, str]) -> None:
    statuses = [client.get("/api/v1/licences", headers=headers).status_code for _ in range(3)]
    assert statuses == [200] * 3
    refused = client.get("/api/v1/licences/1", headers=headers)  # every endpoint counts

    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    error = refused.json["error"]
    assert error["code"] == "rate_limited"
    assert error["message"].startswith("Trop de tentatives en peu de temps. Réessayez dans ")
    assert error["details"] == {}


@pytest.mark.usefixtures("three_per_minute")
def test_each_token_has_its_own_count(
    client: FlaskClient, headers: dict[str, str], member: User, vendor: Vendor
) -> None:
    for _ in range(3):
        client.get("/api/v1/licences", headers=headers)
    assert client.get("/api/v1/licences", headers=headers).status_code == 429
    _second, raw = tokens.create_token(member, vendor, "Autre logiciel")
    other_vendor_token = tokens.create_token(
        factories.vendor_member(), factories.VendorFactory(), "Logiciel"
    )[1]
    assert client.get("/api/v1/licences", headers=bearer(raw)).status_code == 200
    assert client.get("/api/v1/licences", headers=bearer(other_vendor_token)).status_code == 200


@pytest.mark.usefixtures("three_per_minute")
def test_a_token_is_counted_whatever_the_address_it_calls_from(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    statuses = [
        client.get(
            "/api/v1/licences", headers=headers, environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.usefixtures("three_per_minute")
def test_requests_without_a_known_token_are_limited_per_address(
    client: FlaskClient, token: tuple[ApiToken, str]
) -> None:
    statuses = [
        client.get("/api/v1/licences", headers=bearer(f"cr_devine{n}")).status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    assert client.get("/api/v1/licences", headers=bearer(token[1])).status_code == 200


def test_the_limit_is_documented(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/licences"]["get"]
    assert operation["responses"]["429"] == {"$ref": "#/components/responses/API_RATE_LIMITED"}
