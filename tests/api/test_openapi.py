"""The API's OpenAPI document: valid, every operation described and behind the token."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from app.licences.schemas import NO_SPACE, NOT_BLANK

OPERATIONS = {
    ("/api/v1/licences", "get"),
    ("/api/v1/licences/{licence_id}", "get"),
    ("/api/v1/licences/{licence_id}/provisioning", "post"),
    ("/api/v1/licences/{licence_id}/failure", "post"),
    ("/api/v1/licences/{licence_id}/first-use", "post"),
    ("/api/v1/products/{product_id}/codes", "post"),
}


def test_the_document_is_valid_openapi_3(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_operation_is_described_and_needs_the_token(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json

    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    found = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if path.startswith(("/api/v1/licences", "/api/v1/products")) and method in ("get", "post")
    }
    assert found == OPERATIONS
    for path, method in OPERATIONS:
        operation = document["paths"][path][method]
        assert operation["summary"], (path, method)
        assert operation["description"], (path, method)
        assert operation["security"] == [{"bearerAuth": []}]
        assert operation["responses"]["401"] == {"$ref": "#/components/responses/API_UNAUTHORIZED"}


def test_errors_are_documented_in_the_application_shape(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json

    codes = document["paths"]["/api/v1/products/{product_id}/codes"]["post"]["responses"]
    assert codes["422"] == {"$ref": "#/components/responses/API_INVALID"}
    assert codes["404"] == {"$ref": "#/components/responses/API_NOT_FOUND"}
    error = document["components"]["schemas"]["ApiError"]["properties"]["error"]
    assert error == {"$ref": "#/components/schemas/ApiErrorBody"}
    body = document["components"]["schemas"]["ApiErrorBody"]["properties"]
    assert set(body) == {"code", "message", "details"}


def test_the_document_declares_what_the_server_enforces(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]

    assert document["servers"][0]["url"] == "/"  # the server the document was read from
    headers = document["paths"]["/api/v1/licences"]["get"]["responses"]["200"]["headers"]
    assert headers["X-Pagination"]["schema"] == {"type": "string"}  # JSON text, not an object
    assert schemas["Licence"]["properties"]["status"]["type"] == "string"
    assert schemas["Codes"]["properties"]["plan"]["type"] == "string"
    assert schemas["Failure"]["properties"]["message"]["minLength"] == 1
    assert schemas["Provisioning"]["properties"]["external_id"]["minLength"] == 1
    assert schemas["Codes"]["properties"]["codes"]["items"]["minLength"] == 1
    assert schemas["Codes"]["properties"]["codes"]["uniqueItems"] is True
    licence_id = document["paths"]["/api/v1/licences/{licence_id}"]["parameters"][0]
    assert licence_id["schema"]["maximum"] == 2**31 - 1  # larger: 404, not a database error


@pytest.mark.parametrize(
    ("value", "blank", "spaced"),
    [
        ("a", False, False),
        (" a ", False, True),
        ("\u3000\t", True, True),
        ("\x1d", True, True),  # a space for Python, not for ECMAScript's \s
        ("a\x00", True, True),  # NUL: refused in any string
        ("a\n", False, True),  # `$` would match before the newline in Python
    ],
)
def test_the_patterns_say_what_the_validators_refuse(value: str, blank: bool, spaced: bool) -> None:
    assert (re.search(NOT_BLANK["pattern"], value) is None) is blank
    assert (re.search(NO_SPACE["pattern"], value) is None) is spaced
