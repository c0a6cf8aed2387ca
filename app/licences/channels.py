"""Provisioning channels: how a licence reaches the teacher.

Each channel takes a pending licence and answers with an :class:`Outcome`, or raises
:class:`~app.core.jobs.RetryLater` when the peer cannot answer now (timeout, 5xx,
connection refused): the job is retried with backoff.

- ``codes``: the next unused activation code the vendor uploaded for the product's plan
  (taken with ``FOR UPDATE SKIP LOCKED``; a unique constraint makes a code go to one
  licence only). No code left: the licence waits, the vendor sees an alert.
- ``webhook``: a signed POST to the vendor's provisioning URL (see ``signing.py``); the
  vendor answers with the access URL or its own id, or ``202`` and confirms later through
  the API. A 4xx is a refusal: the licence fails with the vendor's message.
- ``gar``: a subscription (abonnement) sent to the GAR with ``PUT {base}/{idAbonnement}``
  (a ``409``, the subscription already there, is answered by the update ``POST``), for
  schools not known to stay out of the GAR (``School.uses_gar``).

A cancelled licence is withdrawn at its channel (:func:`withdraw`, run by a job of the
outbox): the vendor receives a signed ``licence.revoked`` call on the same URL, signed
and keyed the same way; the GAR subscription is deleted (``DELETE {base}/{idAbonnement}``,
or, should the GAR refuse, updated to end at the revocation); a code needs no call (it
was never revealed: an opened resource cannot be cancelled). An expired licence needs no
call either: its subscription ends at the GAR on the licence's last day (``finValidite``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app
from sqlalchemy import func, select, update

from app.core.jobs import GiveUp, RetryLater
from app.extensions import db
from app.licences import gar, signing, targets
from app.licences.models import ActivationCode, Licence
from app.products.models import Channel

MESSAGE_LIMIT = 500
EVENT_HEADER = "X-CR-Event"


@dataclass(frozen=True)
class Outcome:
    """What a channel achieved: `active` with an access, or still `waiting` (with why),
    or `refused` by the peer (with its message)."""

    state: str  # "active" | "waiting" | "refused"
    access_url: str | None = None
    external_id: str | None = None
    reason: str | None = None


def deliver(licence: Licence) -> Outcome:
    channel = licence.version.channel
    if channel is Channel.CODES:
        return deliver_code(licence)
    if channel is Channel.WEBHOOK:
        return call_vendor(licence)
    return send_to_gar(licence)


# --- codes ------------------------------------------------------------------------------


def deliver_code(licence: Licence) -> Outcome:
    if licence.code is None:
        available = (
            select(ActivationCode.id)
            .where(
                ActivationCode.product_id == licence.product_id,
                ActivationCode.plan_kind == licence.plan_kind,
                ActivationCode.licence_id.is_(None),
            )
            .order_by(ActivationCode.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        taken = db.session.execute(
            update(ActivationCode)
            .where(ActivationCode.id == available.scalar_subquery())
            .values(licence_id=licence.id)
            .returning(ActivationCode.id)
            .execution_options(synchronize_session=False)
        ).scalar()
        tell_code_stock(licence)
        if taken is None:
            return Outcome(
                "waiting",
                reason="Plus aucun code d'activation disponible : l'éditeur a été prévenu.",
            )
        db.session.expire(licence, ["code"])
    return Outcome("active", access_url=licence.version.access_url)


def tell_code_stock(licence: Licence) -> None:
    """After a code is taken (or none was left): the vendor's staff are told once when the
    codes left for the product's plan fall below their threshold, and once when none is
    left. Both keys hold the number of codes uploaded so far: a new upload re-arms them."""
    from app import notifications
    from app.vendors import services as vendors

    counted = db.session.execute(
        select(
            func.count(),
            func.count().filter(ActivationCode.licence_id.is_(None)),
        ).where(
            ActivationCode.product_id == licence.product_id,
            ActivationCode.plan_kind == licence.plan_kind,
        )
    ).one()
    uploaded, left = int(counted[0]), int(counted[1])
    if left == 0:
        name = "codes_out"
    elif left < licence.vendor.code_alert_threshold:
        name = "codes_low"
    else:
        return
    stock = f"{licence.product_id}:{licence.plan_kind.value}:{uploaded}"
    notifications.notify(
        name,
        {"product": licence.product_id, "plan": licence.plan_kind.value, "left": left},
        users=vendors.member_ids(licence.vendor_id),
        key=f"{name.replace('_', '-')}:{stock}",
    )


# --- webhook ----------------------------------------------------------------------------


def teacher_pseudonym(licence: Licence) -> str:
    """The teacher's id for this vendor: stable, and different for each vendor, so two
    vendors cannot match their users."""
    key = str(current_app.config["PSEUDONYM_KEY"] or current_app.config["SECRET_KEY"]).encode()
    message = f"teacher:{licence.vendor_id}:{licence.teacher_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def webhook_body(licence: Licence) -> dict[str, Any]:
    """What the vendor is told: no more personal data than its declaration says it
    collects about teachers (a pseudonym always; the e-mail or the name only if declared)."""
    declared = set(licence.version.declaration.get("teacher_data", []))
    teacher: dict[str, str] = {"id": teacher_pseudonym(licence)}
    if "email" in declared:
        teacher["email"] = licence.teacher.email
    if "identity" in declared:
        teacher["name"] = licence.teacher.name
    return {
        "event": "licence.created",
        "licence_id": licence.id,
        "product": {
            "id": licence.product_id,
            "version": licence.version.number,
            "title": licence.version.title,
        },
        "plan": licence.plan_kind.value,
        "seats": licence.seats,
        "school_uai": licence.school.uai,
        "teacher": teacher,
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat(),
    }


def _peer_message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            if isinstance(data.get(key), str):
                return str(data[key])[:MESSAGE_LIMIT]
    return (response.text or response.reason or "")[:MESSAGE_LIMIT]


def post_to_vendor(
    licence: Licence, body: dict[str, Any], idempotency_key: str, event: str
) -> requests.Response:
    """A signed POST of `body` to the vendor's provisioning URL (HMAC-SHA256 over the
    timestamp and the body, see ``signing.py``; the same idempotency key on every retry).
    Raises RetryLater when the vendor cannot be reached."""
    vendor = licence.vendor
    if not vendor.provisioning_url or not vendor.webhook_secret:
        raise RetryLater("L'éditeur n'a pas encore configuré son adresse de livraison.")
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        EVENT_HEADER: event,
        signing.SIGNATURE_HEADER: signing.signature_header(vendor.webhook_secret, data),
        "User-Agent": "CompteRessources/1.0",
    }
    try:
        # Resolved again now, every address public, the connection pinned to the one
        # checked (targets.py): a DNS answer changed since the URL was saved cannot
        # turn the call inwards.
        return targets.post(
            vendor.provisioning_url,
            data=data,
            headers=headers,
            timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"],
            allow_redirects=False,
        )
    except targets.TargetRefused as refused:
        raise GiveUp(f"Appel à l'éditeur refusé : {refused.reason}.") from refused
    except requests.RequestException as error:
        raise RetryLater(f"Serveur de l'éditeur injoignable : {type(error).__name__}") from error


def call_vendor(licence: Licence) -> Outcome:
    response = post_to_vendor(
        licence, webhook_body(licence), f"licence-{licence.id}", "licence.created"
    )
    if response.status_code >= 500 or response.status_code == 429:
        raise RetryLater(f"Le serveur de l'éditeur a répondu {response.status_code}.")
    if response.status_code >= 400:
        return Outcome("refused", reason=_peer_message(response) or str(response.status_code))
    if response.status_code >= 300:
        return Outcome("refused", reason=f"Redirection refusée ({response.status_code}).")
    try:
        data = response.json() if response.content else {}
    except ValueError:
        data = {}
    access_url = data.get("access_url") if isinstance(data, dict) else None
    external_id = data.get("external_id") if isinstance(data, dict) else None
    if access_url and not str(access_url).startswith("https://"):
        return Outcome("refused", reason="L'adresse d'accès doit commencer par https://.")
    if not access_url and not external_id:
        return Outcome("waiting", reason="L'éditeur prépare l'accès et le confirmera.")
    return Outcome(
        "active",
        access_url=str(access_url)[:500] if access_url else None,
        external_id=str(external_id)[:200] if external_id else None,
    )


# --- GAR --------------------------------------------------------------------------------


def subscription(licence: Licence) -> gar.Subscription:
    return gar.for_licence(
        licence_id=licence.id,
        id_abonnement=licence.gar_subscription_id or "",
        ark=licence.version.gar_resource_id or "",
        title=licence.version.title,
        uai=licence.school.uai,
        school_kind=licence.school.kind,
        plan_kind=licence.plan_kind.value,
        seats=licence.seats,
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        distributor_id=current_app.config["GAR_DISTRIBUTOR_ID"],
    )


def call_gar(
    method: str, url: str, headers: dict[str, str], body: bytes | None = None
) -> requests.Response:
    """One call to the GAR with our client certificate. Raises RetryLater when the GAR
    cannot be reached or answers 5xx/429; any other answer is the caller's to read."""
    config = current_app.config
    cert = (config["GAR_CERT_FILE"], config["GAR_KEY_FILE"]) if config["GAR_CERT_FILE"] else None
    try:
        response = requests.request(
            method,
            url,
            data=body,
            headers=headers,
            cert=cert,
            verify=config["GAR_CA_FILE"] or True,
            timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
        )
    except requests.RequestException as error:
        raise RetryLater(f"GAR injoignable : {type(error).__name__}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise RetryLater(f"Le GAR a répondu {response.status_code}.")
    return response


def _gar_base_url() -> str:
    config = current_app.config
    if not config["GAR_BASE_URL"] or not config["GAR_DISTRIBUTOR_ID"]:
        raise RetryLater("Le point d'accès du GAR n'est pas configuré.")
    return str(config["GAR_BASE_URL"])


def _invalid(error: gar.InvalidSubscription) -> str:
    reasons = "; ".join(f"{field} : {reason}" for field, reason in error.errors)
    return f"Abonnement GAR invalide — {reasons}"


def send_to_gar(licence: Licence) -> Outcome:
    """``PUT`` the licence's subscription; a ``409`` (the GAR already holds it: an earlier
    ``PUT`` timed out after the GAR created it) is answered by the update (``POST``)."""
    base_url = _gar_base_url()
    if licence.school.uses_gar is False:
        return Outcome(
            "refused",
            reason=f"L'établissement {licence.school.uai} n'utilise pas le GAR "
            "(il n'est pas dans la liste des établissements du GAR).",
        )
    try:
        sub = subscription(licence)
        url, body, headers = gar.put_request(base_url, sub)
        response = call_gar("PUT", url, headers, body)
        if response.status_code == 409:
            url, body, headers = gar.update_request(base_url, sub)
            response = call_gar("POST", url, headers, body)
    except gar.InvalidSubscription as error:
        return Outcome("refused", reason=_invalid(error))
    if response.status_code >= 400:
        return Outcome("refused", reason=f"Refusé par le GAR : {_peer_message(response)}")
    return Outcome("active", access_url=licence.version.access_url, external_id=sub.id_abonnement)


# --- withdrawing a cancelled licence ------------------------------------------------------


def withdraw(licence: Licence) -> None:
    """Tell the licence's channel that the licence is revoked. Raises RetryLater when the
    peer cannot answer now, GiveUp when it refuses for good (an admin sees the job)."""
    channel = licence.version.channel
    if channel is Channel.WEBHOOK:
        announce_revocation(licence)
    elif channel is Channel.GAR:
        delete_from_gar(licence)
    # codes: nothing to call; the code, never revealed, stays bound to the revoked licence.


def revocation_body(licence: Licence) -> dict[str, Any]:
    """What the vendor is told of a cancelled licence: which one, and since when."""
    return {
        "event": "licence.revoked",
        "licence_id": licence.id,
        "external_id": licence.external_id,
        "product": {"id": licence.product_id, "version": licence.version.number},
        "school_uai": licence.school.uai,
        "teacher": {"id": teacher_pseudonym(licence)},
        "revoked_at": licence.updated_at.isoformat(timespec="seconds"),
        "reason": "cancelled",
    }


def announce_revocation(licence: Licence) -> None:
    if not licence.vendor.provisioning_url:
        return  # no delivery address: the vendor was never told of the licence either
    response = post_to_vendor(
        licence, revocation_body(licence), f"licence-{licence.id}-revoked", "licence.revoked"
    )
    status = response.status_code
    if status >= 500 or status == 429:
        raise RetryLater(f"Le serveur de l'éditeur a répondu {status}.")
    if status in (404, 410) or 200 <= status < 300:
        return  # withdrawn, or never known to the vendor
    raise GiveUp(
        f"L'éditeur a refusé le retrait de la licence ({status}) : "
        f"{_peer_message(response) or 'sans message'}"
    )


def delete_from_gar(licence: Licence) -> None:
    """``DELETE`` the licence's subscription. Should the GAR refuse the deletion, the
    subscription is updated (``POST``) to end now, so that access ends all the same."""
    base_url = _gar_base_url()
    try:
        url, headers = gar.delete_request(base_url, licence.gar_subscription_id or "")
    except gar.InvalidSubscription as error:
        raise GiveUp(_invalid(error)) from error
    response = call_gar("DELETE", url, headers)
    status = response.status_code
    if status == 404 or 200 <= status < 300:
        return  # deleted, or never created (the licence was not delivered)
    refusal = _peer_message(response) or str(status)
    try:
        shortened = gar.ended(subscription(licence), licence.updated_at)
        url, body, headers = gar.update_request(base_url, shortened)
    except gar.InvalidSubscription as error:
        raise GiveUp(f"Le GAR a refusé la suppression ({refusal}) ; {_invalid(error)}") from error
    response = call_gar("POST", url, headers, body)
    if not 200 <= response.status_code < 300:
        raise GiveUp(
            f"Le GAR a refusé la suppression ({refusal}) puis la fin anticipée de "
            f"l'abonnement : {_peer_message(response) or response.status_code}"
        )
