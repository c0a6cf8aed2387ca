"""The API's OpenAPI document: valid, every operation described and behind the token."""

from __future__ import annotations

from flask.testing import FlaskClient
from openapi_spec_validator import validate

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
