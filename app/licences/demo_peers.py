"""Development stand-ins for the peers of the provisioning channels: a vendor's server
receiving the webhook, and the GAR receiving subscriptions. Registered only when
``DEMO_PEERS`` is set (the development configuration), never in production.

The vendor stand-in checks the signature as a real vendor must, and answers with an
access URL (or acknowledges a revocation); the GAR stand-in accepts any well-formed
subscription, and its deletion.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own documents, in development

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.extensions import csrf, db
from app.licences import signing
from app.vendors.models import Vendor

blueprint = Blueprint("demo_peers", __name__, url_prefix="/demo")
csrf.exempt(blueprint)


@blueprint.post("/editeur/<int:vendor_id>/licences")
def vendor_webhook(vendor_id: int) -> ResponseReturnValue:
    vendor = db.session.get(Vendor, vendor_id)
    body = request.get_data()
    header = request.headers.get(signing.SIGNATURE_HEADER)
    if vendor is None or not signing.verify(vendor.webhook_secret or "", header, body):
        return jsonify(message="Signature invalide."), 401
    licence = json.loads(body)
    if licence.get("event") == "licence.revoked":
        current_app.logger.info(
            "Demo vendor %s withdraws licence %s", vendor_id, licence["licence_id"]
        )
        return jsonify(withdrawn=True), 200
    current_app.logger.info(
        "Demo vendor %s provisions licence %s (key %s)",
        vendor_id,
        licence["licence_id"],
        request.headers.get("Idempotency-Key"),
    )
    access = f"https://ressources.example/{vendor_id}/acces?licence={licence['licence_id']}"
    return jsonify(access_url=access, external_id=f"demo-{licence['licence_id']}"), 201


@blueprint.put("/gar/abonnements/<subscription_id>")
def gar_subscription(subscription_id: str) -> ResponseReturnValue:
    try:
        ET.fromstring(request.get_data())  # noqa: S314 - our own XML, development only
    except ET.ParseError:
        return Response("XML invalide", status=400, mimetype="text/plain")
    current_app.logger.info("Demo GAR receives subscription %s", subscription_id)
    return Response(status=201)


@blueprint.delete("/gar/abonnements/<subscription_id>")
def gar_subscription_deleted(subscription_id: str) -> ResponseReturnValue:
    current_app.logger.info("Demo GAR deletes subscription %s", subscription_id)
    return Response(status=204)
