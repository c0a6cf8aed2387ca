"""The licences API: reading a vendor's licences, confirming or refusing their
provisioning, uploading activation codes; each vendor sees only its own."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from app.accounts.models import ApiToken
from app.core import audit
from app.core.db import utcnow
from app.extensions import db
from app.licences import channels
from app.licences import services as licences
from app.licences.models import Licence, LicenceStatus
from app.products.models import Channel, PlanKind, Product
from app.vendors.models import Vendor
from tests import factories
from tests.api.conftest import make_licence, run_jobs

ISO = "%Y-%m-%dT%H:%M:%S%z"


def invalid_fields(response: Any) -> dict[str, list[str]]:
    """The fields a 422 names, with their reasons."""
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert error["message"]
    details: dict[str, list[str]] = error["details"]
    return details


# --- reading ------------------------------------------------------------------------------


def test_a_licence_as_the_vendor_reads_it(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(product)

    response = client.get(f"/api/v1/licences/{licence.id}", headers=headers)

    assert response.status_code == 200
    body = response.json
    assert body == {
        "id": licence.id,
        "status": "pending",
        "product_id": product.id,
        "product_title": "Fractions en jeu",
        "plan": "teacher",
        "seats": 1,
        "school_uai": licence.school.uai,
        "teacher_pseudonym": channels.teacher_pseudonym(licence),
        "valid_from": "2026-09-01",
        "valid_until": "2027-08-31",
        "access_url": None,
        "external_id": None,
        "activation_code": None,
        "status_reason": None,
        "opened_at": None,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert body["updated_at"].endswith("+00:00")


def test_the_list_is_paginated_oldest_change_first(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    made = [make_licence(product) for _ in range(3)]
    made[0].updated_at = utcnow() + timedelta(seconds=5)  # changed last
    db.session.commit()

    first = client.get("/api/v1/licences?per_page=2", headers=headers)
    second = client.get("/api/v1/licences?per_page=2&page=2", headers=headers)

    assert first.status_code == second.status_code == 200
    assert [item["id"] for item in first.json["items"]] == [made[1].id, made[2].id]
    assert [item["id"] for item in second.json["items"]] == [made[0].id]
    assert first.json["total"] == 3
    assert first.json["pages"] == 2
    assert first.json["page"] == 1
    assert first.json["per_page"] == 2
    pagination = json.loads(first.headers["X-Pagination"])
    assert pagination["total"] == 3
    assert pagination["next_page"] == 2
    assert "next_page" not in json.loads(second.headers["X-Pagination"])


def test_filters_by_status_and_by_last_change(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    waiting, confirmed = make_licence(product), make_licence(product)
    licences.confirm(None, confirmed, access_url="https://cartable.example/l/1", external_id=None)
    db.session.commit()
    later = (utcnow() + timedelta(hours=1)).strftime(ISO)

    active = client.get("/api/v1/licences?status=active", headers=headers)
    recent = client.get("/api/v1/licences", query_string={"updated_since": later}, headers=headers)
    # A "+" left unencoded in the query string arrives as a space: still understood.
    since_2020 = client.get(
        "/api/v1/licences?updated_since=2020-01-01T08:00:00+02:00", headers=headers
    )

    assert [item["id"] for item in active.json["items"]] == [confirmed.id]
    assert recent.json["items"] == []
    assert recent.json["total"] == 0
    assert {item["id"] for item in since_2020.json["items"]} == {waiting.id, confirmed.id}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=perdue", "status"),
        ("updated_since=hier", "updated_since"),
        ("updated_since=2026-09-01T08:00:00", "updated_since"),  # no time zone
        ("per_page=201", "per_page"),
        ("page=0", "page"),
        ("page=9223372036854775807", "page"),  # past PostgreSQL's bigint: no 500
        ("page=1&statut=active", "statut"),  # a misspelt filter is not silently ignored
    ],
)
def test_bad_filters_are_422_naming_the_field(
    client: FlaskClient, headers: dict[str, str], query: str, field: str
) -> None:
    details = invalid_fields(client.get(f"/api/v1/licences?{query}", headers=headers))

    assert list(details) == [field]
    assert details[field][0]


# --- one vendor never sees another's ------------------------------------------------------


def test_a_token_sees_nothing_of_another_vendor(
    client: FlaskClient,
    product: Product,
    other_product: Product,
    headers: dict[str, str],
) -> None:
    mine = make_licence(product)
    theirs = make_licence(other_product)

    listing = client.get("/api/v1/licences", headers=headers)
    read = client.get(f"/api/v1/licences/{theirs.id}", headers=headers)
    confirm = client.post(
        f"/api/v1/licences/{theirs.id}/provisioning",
        json={"access_url": "https://pirate.example/"},
        headers=headers,
    )
    fail = client.post(
        f"/api/v1/licences/{theirs.id}/failure", json={"message": "Non."}, headers=headers
    )
    codes = client.post(
        f"/api/v1/products/{other_product.id}/codes",
        json={"plan": "teacher", "codes": ["VOL-1"]},
        headers=headers,
    )

    assert [item["id"] for item in listing.json["items"]] == [mine.id]
    for response in (read, confirm, fail, codes):
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
    assert read.json == client.get("/api/v1/licences/999999", headers=headers).json
    db.session.refresh(theirs)
    assert theirs.status is LicenceStatus.PENDING
    assert theirs.access_url is None
    assert licences.code_stock(other_product.vendor)[0].available == 0


# --- provisioning -------------------------------------------------------------------------


@pytest.fixture
def webhook_product(vendor: Vendor) -> Product:
    return factories.product(vendor, title="Classe virtuelle", channel=Channel.WEBHOOK)


def test_confirming_activates_a_pending_licence(
    client: FlaskClient, webhook_product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(webhook_product)

    response = client.post(
        f"/api/v1/licences/{licence.id}/provisioning",
        json={"access_url": "https://classe.example/acces/42", "external_id": "CL-42"},
        headers=headers,
    )

    assert response.status_code == 200
    assert response.json["status"] == "active"
    assert response.json["access_url"] == "https://classe.example/acces/42"
    assert response.json["external_id"] == "CL-42"
    db.session.refresh(licence)
    assert licence.status is LicenceStatus.ACTIVE
    assert licence.activated_at is not None


def test_confirming_with_only_an_external_id_activates_with_the_product_s_address(
    client: FlaskClient, webhook_product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(webhook_product)

    response = client.post(
        f"/api/v1/licences/{licence.id}/provisioning",
        json={"external_id": "CL-42"},
        headers=headers,
    )

    assert response.status_code == 200
    assert response.json["status"] == "active"
    assert response.json["external_id"] == "CL-42"
    assert response.json["access_url"] == webhook_product.listed.access_url  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "   "}, "external_id"),
        ({"external_id": None}, "access_url"),
        ({"access_url": "http://classe.example/acces/42"}, "access_url"),
        ({}, "access_url"),
        ({"access_url": "https://x.example/" + "a" * 500}, "access_url"),
        ({"external_id": "CL-42", "couleur": "bleu"}, "couleur"),
    ],
)
def test_a_bad_confirmation_is_422_naming_the_field(
    client: FlaskClient,
    webhook_product: Product,
    headers: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    licence = make_licence(webhook_product)

    response = client.post(
        f"/api/v1/licences/{licence.id}/provisioning", json=body, headers=headers
    )

    assert field in invalid_fields(response)
    db.session.refresh(licence)
    assert licence.status is LicenceStatus.PENDING


def test_a_cancelled_licence_cannot_be_confirmed(
    client: FlaskClient, webhook_product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(webhook_product)
    licences.revoke(None, licence, "Commande annulée")
    db.session.commit()

    response = client.post(
        f"/api/v1/licences/{licence.id}/provisioning",
        json={"external_id": "CL-42"},
        headers=headers,
    )

    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    message = response.json["error"]["message"]
    assert message == f"La licence {licence.id} est annulée : rien à confirmer."  # not "revoked"


def test_reporting_a_failure_marks_the_licence_failed(
    client: FlaskClient, webhook_product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(webhook_product)

    response = client.post(
        f"/api/v1/licences/{licence.id}/failure",
        json={"message": "  Établissement inconnu de notre service.  "},
        headers=headers,
    )

    assert response.status_code == 200
    assert response.json["status"] == "failed"
    assert response.json["status_reason"] == "Établissement inconnu de notre service."
    db.session.refresh(licence)
    assert licence.status is LicenceStatus.FAILED


@pytest.mark.parametrize("body", [{}, {"message": "   "}, {"message": None}])
def test_a_failure_needs_its_message(
    client: FlaskClient, webhook_product: Product, headers: dict[str, str], body: dict[str, Any]
) -> None:
    licence = make_licence(webhook_product)

    response = client.post(f"/api/v1/licences/{licence.id}/failure", json=body, headers=headers)

    assert list(invalid_fields(response)) == ["message"]


# --- first use (GAR) -----------------------------------------------------------------------


@pytest.fixture
def gar_product(vendor: Vendor) -> Product:
    return factories.product(
        vendor, title="Atlas du GAR", channel=Channel.GAR, gar_resource_id="ark:/12345/atlas"
    )


def active_licence(product: Product) -> Licence:
    licence = make_licence(product)
    licences.confirm(None, licence, access_url="https://gar.example/atlas", external_id=None)
    licence.created_at = utcnow() - timedelta(hours=1)  # bought an hour ago
    db.session.commit()
    return licence


def test_the_vendor_confirms_the_first_use_of_a_gar_licence(
    client: FlaskClient, gar_product: Product, headers: dict[str, str]
) -> None:
    licence = active_licence(gar_product)
    assert not licences.opened(licence)

    response = client.post(f"/api/v1/licences/{licence.id}/first-use", json={}, headers=headers)

    assert response.status_code == 200
    assert response.json["opened_at"] is not None
    db.session.refresh(licence)
    first = licence.opened_at
    assert first is not None
    assert abs((utcnow() - first).total_seconds()) < 60
    assert licences.opened(licence)

    later = (utcnow() - timedelta(seconds=1)).isoformat()
    again = client.post(
        f"/api/v1/licences/{licence.id}/first-use", json={"opened_at": later}, headers=headers
    )
    assert again.status_code == 200
    db.session.refresh(licence)
    assert licence.opened_at == first  # the first confirmation is kept


def test_a_first_use_may_be_dated_but_not_in_the_future(
    client: FlaskClient, gar_product: Product, headers: dict[str, str]
) -> None:
    licence = active_licence(gar_product)
    url = f"/api/v1/licences/{licence.id}/first-use"

    future = client.post(
        url, json={"opened_at": (utcnow() + timedelta(days=1)).isoformat()}, headers=headers
    )
    naive = client.post(url, json={"opened_at": "2026-09-01T08:00:00"}, headers=headers)
    before_buying = (utcnow() - timedelta(days=2)).isoformat()
    too_early = client.post(url, json={"opened_at": before_buying}, headers=headers)

    assert "opened_at" in invalid_fields(future)
    assert "opened_at" in invalid_fields(naive)
    assert "opened_at" in invalid_fields(too_early)
    when = utcnow() - timedelta(seconds=30)
    dated = client.post(url, json={"opened_at": when.isoformat()}, headers=headers)
    assert dated.status_code == 200
    db.session.refresh(licence)
    assert licence.opened_at is not None
    assert abs((licence.opened_at - when).total_seconds()) < 1


def test_only_an_active_gar_licence_of_the_vendor_takes_a_first_use(
    client: FlaskClient,
    product: Product,
    gar_product: Product,
    other_product: Product,
    headers: dict[str, str],
) -> None:
    codes = make_licence(product)  # opened through Compte Ressources (code, link)
    pending = make_licence(gar_product)
    not_ours = make_licence(other_product)

    def first_use(licence: Licence) -> Any:
        return client.post(f"/api/v1/licences/{licence.id}/first-use", json={}, headers=headers)

    assert first_use(codes).status_code == 409
    assert first_use(pending).status_code == 409
    assert first_use(not_ours).status_code == 404
    for licence in (codes, pending, not_ours):
        db.session.refresh(licence)
        assert licence.opened_at is None


# --- activation codes ---------------------------------------------------------------------


def test_uploaded_codes_reach_the_licences_waiting_for_them(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    licence = make_licence(product)
    run_jobs()
    db.session.refresh(licence)
    assert licence.status is LicenceStatus.PENDING
    assert licence.status_reason

    response = client.post(
        f"/api/v1/products/{product.id}/codes",
        json={"plan": "teacher", "codes": ["FRAC-0001", "FRAC-0002"]},
        headers=headers,
    )
    assert response.status_code == 201
    assert response.json == {"added": 2}
    run_jobs()

    read = client.get(f"/api/v1/licences/{licence.id}", headers=headers).json
    assert read["status"] == "active"
    assert read["activation_code"] == "FRAC-0001"
    stock = licences.code_stock(product.vendor)
    assert [(s.plan_kind, s.available, s.waiting) for s in stock] == [(PlanKind.TEACHER, 1, 0)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan": "teacher", "codes": []}, "codes"),
        ({"plan": "teacher"}, "codes"),
        ({"plan": "teacher", "codes": "FRAC-1"}, "codes"),
        ({"plan": "teacher", "codes": ["FRAC-1", "FRAC-2", "FRAC-1"]}, "codes[2]"),
        ({"plan": "teacher", "codes": ["FRAC-1", "FRAC 2"]}, "codes[1]"),
        ({"plan": "teacher", "codes": ["FRAC-1", "  "]}, "codes[1]"),
        ({"plan": "teacher", "codes": ["F" * 201]}, "codes[0]"),
        ({"plan": "classe", "codes": ["FRAC-1"]}, "plan"),
        ({"codes": ["FRAC-1"]}, "plan"),
    ],
)
def test_bad_codes_are_422_naming_the_code_and_nothing_is_kept(
    client: FlaskClient,
    product: Product,
    headers: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.post(f"/api/v1/products/{product.id}/codes", json=body, headers=headers)

    details = invalid_fields(response)
    assert field in details, details
    assert licences.code_stock(product.vendor)[0].available == 0


def test_a_duplicate_names_the_first_occurrence(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    response = client.post(
        f"/api/v1/products/{product.id}/codes",
        json={"plan": "teacher", "codes": ["FRAC-1", "FRAC-2", "FRAC-1"]},
        headers=headers,
    )

    assert invalid_fields(response) == {"codes[2]": ["code en double (déjà codes[0])"]}


def test_codes_with_csv_characters_are_kept_as_sent(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    codes = ['"QUOTED"', "A;B", "code"]

    response = client.post(
        f"/api/v1/products/{product.id}/codes",
        json={"plan": "teacher", "codes": codes},
        headers=headers,
    )

    assert response.status_code == 201, response.json
    licence = make_licence(product)
    run_jobs()
    db.session.refresh(licence)
    assert licence.activation_code == '"QUOTED"'


def conflict_fields(response: Any) -> dict[str, list[str]]:
    """The fields a 409 names: well-formed data the resource's state refuses."""
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "conflict"
    details: dict[str, list[str]] = response.json["error"]["details"]
    return details


def test_codes_already_uploaded_are_a_conflict(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    url = f"/api/v1/products/{product.id}/codes"
    first = client.post(url, json={"plan": "teacher", "codes": ["A1"]}, headers=headers)
    assert first.status_code == 201

    again = client.post(url, json={"plan": "teacher", "codes": ["A2", "A1"]}, headers=headers)

    assert "code A1" in conflict_fields(again)
    assert licences.code_stock(product.vendor)[0].available == 1


def test_a_plan_the_product_does_not_have_is_a_conflict(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    """Valid by the document (schemathesis sends it), refused by the product: 409, not 422."""
    url = f"/api/v1/products/{product.id}/codes"
    response = client.post(url, json={"plan": "school", "codes": ["A1"]}, headers=headers)

    assert list(conflict_fields(response)) == ["plan"]
    assert licences.code_stock(product.vendor)[0].available == 0


def test_api_actions_are_audited_with_the_token_as_actor(
    client: FlaskClient,
    product: Product,
    headers: dict[str, str],
    token: tuple[ApiToken, str],
) -> None:
    licence = make_licence(product)
    url = f"/api/v1/licences/{licence.id}/failure"
    assert client.post(url, json={"message": "Compte inconnu"}, headers=headers).status_code == 200
    codes = {"plan": "teacher", "codes": ["A1"]}
    assert client.post(f"/api/v1/products/{product.id}/codes", json=codes, headers=headers)

    api_token = token[0]
    actor = {"id": api_token.id, "name": "Logiciel de livraison"}
    by_token = [
        (event.object_type, event.action, event.actor_id, event.details["api_token"])
        for event in audit.history("licence", licence.id) + audit.history("product", product.id)
        if "api_token" in event.details
    ]
    assert by_token == [
        ("licence", "licence.failed", None, actor),
        ("product", "codes.uploaded", None, actor),
    ]


@pytest.mark.parametrize(
    ("method", "url"),
    [("put", "/api/v1/licences"), ("get", "/api/v1/licences/1/failure")],
)
def test_a_method_not_allowed_says_which_are(
    client: FlaskClient, headers: dict[str, str], method: str, url: str
) -> None:
    response = client.open(url, method=method.upper(), headers=headers)

    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    allowed = {"put": {"GET", "HEAD", "OPTIONS"}, "get": {"POST", "OPTIONS"}}[method]
    assert set(response.headers["Allow"].split(", ")) == allowed


def test_a_page_of_licences_is_read_in_a_few_queries(
    client: FlaskClient, product: Product, headers: dict[str, str]
) -> None:
    def queries_for_a_page() -> int:
        statements: list[str] = []

        def count(*args: object) -> None:
            if str(args[2]).startswith("SELECT"):  # not the test's savepoints
                statements.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get("/api/v1/licences?per_page=200", headers=headers)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements)

    make_licence(product)
    queries_for_a_page()  # the token's first use is written once
    with_one = queries_for_a_page()
    for _ in range(5):
        make_licence(product)

    assert queries_for_a_page() == with_one
