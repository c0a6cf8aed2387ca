"""The API's JSON bodies are capped at API_MAX_CONTENT_LENGTH (1 MB): 413 in JSON, unread."""

from __future__ import annotations

import io
import json
import time

from flask.testing import FlaskClient

from app.extensions import db
from app.licences.models import ActivationCode
from app.products.models import Channel
from app.vendors.models import Vendor
from tests import factories
from tests.helpers import CountingStream


def test_an_oversized_json_body_is_refused_at_once_in_json(
    client: FlaskClient, vendor: Vendor, headers: dict[str, str]
) -> None:
    product = factories.product(vendor, channel=Channel.CODES)
    codes = [f"CODE-{n:08d}" for n in range(100_000)]  # 1.6 MB: over the API's 1 MB
    body = CountingStream(json.dumps({"plan": "teacher", "codes": codes}).encode())
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/products/{product.id}/codes",
        input_stream=body,
        content_type="application/json",
        content_length=len(body.getvalue()),
        headers=headers,
    )
    assert time.perf_counter() - started < 2
    assert response.status_code == 413
    assert response.json == {
        "error": {
            "code": "too_large",
            "message": "Le corps de la requête dépasse 1 Mo, la taille maximale acceptée.",
            "details": {"max_bytes": 1024 * 1024},
        }
    }
    assert body.read_bytes == 0
    assert db.session.query(ActivationCode).count() == 0


def test_a_json_body_under_the_limit_is_read(
    client: FlaskClient, vendor: Vendor, headers: dict[str, str]
) -> None:
    product = factories.product(vendor, channel=Channel.CODES)
    codes = [f"CODE-{n:08d}" for n in range(50_000)]  # 0.8 MB
    response = client.post(
        f"/api/v1/products/{product.id}/codes",
        data=io.BytesIO(json.dumps({"plan": "teacher", "codes": codes}).encode()),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 201, response.json
    assert response.json == {"added": 50_000}
