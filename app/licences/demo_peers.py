"""Development stand-ins for the peers of the provisioning channels: a vendor's server
receiving the webhook, and the GAR receiving subscriptions. Registered only when
``DEMO_PEERS`` is set (the development configuration), never in production.

The vendor stand-in checks the signature as a real vendor must, and answers with an
access URL (or acknowledges a revocation). The GAR stand-in answers as the GAR's
subscription web service does (see ``gar.py``): ``PUT`` creates, and answers ``409``
« existe déjà » for an identifier it holds; ``POST`` updates a subscription it
holds, without ``uaiEtab`` and with its first ``debutValidite``; ``DELETE`` ends one, ``404``
for one it does not know. The tests run it over HTTP; they (or a developer) can ask it for
a fault or a late answer (:class:`DemoGar`).
"""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own documents, in development
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.extensions import csrf, db
from app.licences import signing
from app.licences.gar import NAMESPACE as GAR_NAMESPACE
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


# --- the GAR ----------------------------------------------------------------------------


@dataclass
class DemoGar:
    """What the GAR stand-in holds: the subscriptions by idAbonnement (their last document),
    the deleted ones, and the answers a test (or a developer) asks it to give next."""

    subscriptions: dict[str, ET.Element] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)
    # (method, status, text): the next call of that method gets this answer, untouched.
    faults: list[tuple[str, int, str]] = field(default_factory=list)
    # method → seconds: the next call of that method is carried out, then answered late
    # (long after a client's timeout: the GAR created the subscription, the client never
    # heard it).
    late: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, method: str, status: int, text: str = "") -> None:
        with self.lock:
            self.faults.append((method, status, text))

    def answer_late(self, method: str, seconds: float) -> None:
        with self.lock:
            self.late[method] = seconds

    def reset(self) -> None:
        with self.lock:
            self.subscriptions.clear()
            self.deleted.clear()
            self.calls.clear()
            self.faults.clear()
            self.late.clear()


def demo_gar() -> DemoGar:
    """The stand-in's state, one per application."""
    state = current_app.extensions.setdefault("demo_gar", DemoGar())
    assert isinstance(state, DemoGar)  # noqa: S101 - set just above
    return state


def _gar_answer(status: int, text: str = "") -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _gar_document(subscription_id: str) -> ET.Element | Response:
    try:
        root = ET.fromstring(request.get_data())  # noqa: S314 - our own XML, development only
    except ET.ParseError as error:
        return _gar_answer(400, f"XML invalide : {error}")
    if root.tag != f"{{{GAR_NAMESPACE}}}abonnement":
        return _gar_answer(400, "Élément racine « abonnement » attendu.")
    if root.findtext(f"{{{GAR_NAMESPACE}}}idAbonnement") != subscription_id:
        return _gar_answer(400, "idAbonnement diffère de l'adresse.")
    return root


@blueprint.route("/gar/abonnements/<subscription_id>", methods=["PUT", "POST", "DELETE"])
def gar_subscription(subscription_id: str) -> ResponseReturnValue:
    """PUT creates (409 « existe déjà » for a known id), POST updates a known one (without
    uaiEtab, with its first debutValidite), DELETE ends one (404 for an unknown one)."""
    gar = demo_gar()
    method = request.method
    with gar.lock:
        gar.calls.append((method, subscription_id))
        for fault in gar.faults:
            if fault[0] == method:
                gar.faults.remove(fault)
                return _gar_answer(fault[1], fault[2])
        answer = _gar_call(gar, method, subscription_id)
        delay = gar.late.pop(method, 0.0)
    if delay:
        time.sleep(delay)
    current_app.logger.info("Demo GAR: %s %s → %s", method, subscription_id, answer.status_code)
    return answer


def _gar_call(gar: DemoGar, method: str, subscription_id: str) -> Response:
    known = gar.subscriptions.get(subscription_id)
    if method == "DELETE":
        if known is None:
            return _gar_answer(404, f"Abonnement {subscription_id} inconnu.")
        del gar.subscriptions[subscription_id]
        gar.deleted.add(subscription_id)
        return _gar_answer(204)
    document = _gar_document(subscription_id)
    if isinstance(document, Response):
        return document
    has_uai = document.find(f"{{{GAR_NAMESPACE}}}uaiEtab") is not None
    if method == "PUT":
        if known is not None:
            return _gar_answer(409, f"L'abonnement {subscription_id} existe déjà.")
        if not has_uai:
            return _gar_answer(400, "uaiEtab est obligatoire à la création.")
        gar.subscriptions[subscription_id] = document
        return _gar_answer(201)
    if known is None:
        return _gar_answer(404, f"Abonnement {subscription_id} inconnu.")
    if has_uai:
        return _gar_answer(400, "uaiEtab ne se modifie pas.")
    start = f"{{{GAR_NAMESPACE}}}debutValidite"
    if document.findtext(start) != known.findtext(start):
        return _gar_answer(400, "debutValidite ne se modifie pas.")
    uai = known.find(f"{{{GAR_NAMESPACE}}}uaiEtab")
    if uai is not None:
        document.append(uai)  # kept from the creation
    gar.subscriptions[subscription_id] = document
    return _gar_answer(200)
