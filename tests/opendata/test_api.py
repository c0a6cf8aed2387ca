"""The public open-data API: the rows of the last generation, paginated, cacheable, no
token, documented."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from app.extensions import db
from app.opendata import services
from tests.opendata.conftest import World
from tests.opendata.helpers import files_of, json_rows
from tests.reporting.helpers import at, buy

CATALOGUE = "/api/v1/donnees-ouvertes/catalogue"
SPENDING = "/api/v1/donnees-ouvertes/depenses"


@pytest.fixture
def published(world: World) -> services.OpenDataGeneration:
    generation = services.publish()
    db.session.commit()  # a refused request rolls back to here, not further
    return generation


def test_nothing_published_yet_answers_404_in_json(client: FlaskClient) -> None:
    response = client.get(CATALOGUE)

    assert response.status_code == 404
    assert response.json["error"]["message"] == (
        "Les données ouvertes n'ont pas encore été publiées."
    )


@pytest.mark.parametrize(("path", "name"), [(CATALOGUE, "catalogue"), (SPENDING, "depenses")])
def test_the_api_serves_the_rows_of_the_files_page_by_page(
    client: FlaskClient, published: services.OpenDataGeneration, path: str, name: str
) -> None:
    expected = json_rows(files_of(published)[f"{name}.json"])
    assert len(expected) > 3

    served = []
    page = 1
    while True:
        response = client.get(path, query_string={"page": page, "per_page": 3})
        assert response.status_code == 200
        body = response.json
        served += body["items"]
        pagination = json.loads(response.headers["X-Pagination"])
        assert pagination["total"] == body["total"] == len(expected)
        if "next_page" not in pagination:
            break
        page = pagination["next_page"]

    assert served == expected
    assert body["pages"] == page == -(-len(expected) // 3)
    assert body["genere_le"].startswith(published.generated_at.date().isoformat())


def test_etag_and_cache_control(
    client: FlaskClient, published: services.OpenDataGeneration
) -> None:
    first = client.get(CATALOGUE)
    etag = first.headers["ETag"]

    assert first.headers["Cache-Control"] == "public, max-age=3600"
    again = client.get(CATALOGUE, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    weakened = client.get(CATALOGUE, headers={"If-None-Match": f"W/{etag}"})  # by a proxy
    assert weakened.status_code == 304
    other_page = client.get(CATALOGUE, query_string={"page": 2}, headers={"If-None-Match": etag})
    assert other_page.status_code == 200
    assert other_page.headers["ETag"] != etag
    # A new generation of the same rows: same file, same ETag, caches stay good.
    services.publish()
    assert client.get(CATALOGUE, headers={"If-None-Match": etag}).status_code == 304


def test_a_new_generation_with_other_rows_changes_the_etag(
    client: FlaskClient, world: World, published: services.OpenDataGeneration
) -> None:
    etag = client.get(SPENDING).headers["ETag"]

    buy(world.teachers[12], [world.products["maths"]], at("2026-09-16"))
    services.publish()

    response = client.get(SPENDING, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag


def test_wrong_query_is_refused_in_the_application_shape(
    client: FlaskClient, published: services.OpenDataGeneration
) -> None:
    response = client.get(CATALOGUE, query_string={"per_page": 0, "colonne": "x"})

    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"


def test_no_token_is_needed_and_the_api_is_documented(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json
    validate(document)

    for path in (CATALOGUE, SPENDING):
        operation = document["paths"][path]["get"]
        assert operation["security"] == []
        assert operation["summary"]
        assert operation["description"]
        headers = operation["responses"]["200"]["headers"]
        assert {"X-Pagination", "ETag", "Cache-Control"} <= set(headers)
        assert "304" in operation["responses"]
        parameters = {parameter["name"] for parameter in operation["parameters"]}
        assert parameters == {"page", "per_page"}


def test_the_api_is_limited_per_address(
    app: Flask,
    client: FlaskClient,
    published: services.OpenDataGeneration,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "OPENDATA_API_PER_ADDRESS", "2 per minute")

    assert client.get(CATALOGUE).status_code == 200
    assert client.get(SPENDING).status_code == 200  # one limit for both
    refused = client.get(CATALOGUE)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json["error"]["message"]
