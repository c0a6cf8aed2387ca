"""Stripe webhooks: verified by signature before anything is read, each event once.

Stripe sends a Connect platform's events to two endpoints, each signing with its own
secret (docs.stripe.com/connect/webhooks):

- the platform's (`PLATFORM`, /webhooks/stripe, ``STRIPE_WEBHOOK_SECRET``): activity on
  our own account, made with our key: ``transfer.reversed`` (the money is owed to the
  vendor again: a reversal entry, the payout flagged);
- the Connect one (`CONNECT`, /webhooks/stripe/connect, ``STRIPE_CONNECT_WEBHOOK_SECRET``):
  activity on the vendors' connected accounts, each event naming the account in its
  top-level ``account``: ``account.updated`` (can the vendor receive payouts?) and
  ``payout.failed`` (a connected account's bank payout failed: shown to the vendor and
  the operator).

Each endpoint refuses (400, logged, nothing written) what Stripe never sends there: an
event with ``account`` on the platform's, one without on the Connect one, a type handled
by the other endpoint; and on both, an event whose ``livemode`` is not the configured
key's (a production Connect endpoint also receives the connected accounts' test events).
Other event types are acknowledged and ignored.

Stripe does not deliver events in order: ``account.updated`` re-reads the account from
Stripe and records it as it is now, so an older event handled after a newer one cannot
bring back an older state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import select

from app.core import audit
from app.core.db import insert_or_ignore
from app.core.errors import BadRequest
from app.extensions import db
from app.payouts import services
from app.payouts.gateway import StripeGateway, live_mode, stripe_client
from app.payouts.models import PayoutAccount, StripeEvent

# The fields each handled event must carry, and their type (JSON). An event without them
# is refused with a 400 before anything is written: Stripe sends it again, and the log
# says what was missing.
EVENT_FIELDS: dict[str, type] = {"id": str, "type": str, "livemode": bool, "data": dict}
OBJECT_FIELDS: dict[str, dict[str, type]] = {
    "account.updated": {"id": str},
    "transfer.reversed": {"id": str, "amount_reversed": int},
    "payout.failed": {"id": str},
}
JSON_TYPES = {str: "chaîne", bool: "booléen", int: "entier", dict: "objet"}


@dataclass(frozen=True)
class Endpoint:
    """Where Stripe sends one family of events, and the setting holding its secret."""

    name: str
    secret_setting: str
    connect: bool  # events of connected accounts, which carry `account`
    handled: frozenset[str]


PLATFORM = Endpoint(
    "platform", "STRIPE_WEBHOOK_SECRET", connect=False, handled=frozenset({"transfer.reversed"})
)
CONNECT = Endpoint(
    "connect",
    "STRIPE_CONNECT_WEBHOOK_SECRET",
    connect=True,
    handled=frozenset({"account.updated", "payout.failed"}),
)
HANDLED = PLATFORM.handled | CONNECT.handled


def _wrong(fields: dict[str, type], found: dict[str, Any], prefix: str) -> dict[str, list[str]]:
    wrong = {}
    for name, kind in fields.items():
        value = found.get(name)
        if value is None:
            wrong[prefix + name] = ["champ manquant"]
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            wrong[prefix + name] = [f"{JSON_TYPES[kind]} attendu"]
    return wrong


def checked(event: stripe.Event | None, endpoint: Endpoint) -> stripe.Event:
    """The event, unless it misses what its handler reads (or is no event at all, None),
    does not belong to this endpoint or is of the other mode (live / test): then
    `BadRequest` (400), before anything is written."""
    found = event.to_dict() if event is not None else {}
    _check(found)
    assert event is not None  # an empty event misses every field
    _check_endpoint(found, endpoint)
    if found["livemode"] != live_mode():
        mode, key = ("réel", "de test") if found["livemode"] else ("de test", "réelle")
        raise BadRequest(
            f"Événement Stripe en mode {mode} refusé : la clé configurée est une clé {key}.",
            code="wrong_mode",
            details={"livemode": [f"{str(not found['livemode']).lower()} attendu"]},
        )
    return event


def _check_endpoint(event: dict[str, Any], endpoint: Endpoint) -> None:
    """Refuse what Stripe never sends to this endpoint (it was misrouted or forged)."""
    account = event.get("account")
    other = "/webhooks/stripe" if endpoint.connect else "/webhooks/stripe/connect"
    if endpoint.connect and not (isinstance(account, str) and account):
        field, reason = "account", "absent : l'événement ne concerne pas un compte connecté"
    elif not endpoint.connect and account is not None:
        field, reason = "account", "présent : l'événement concerne un compte connecté"
    elif event["type"] in HANDLED and event["type"] not in endpoint.handled:
        field, reason = "type", f"{event['type']} n'est pas envoyé à cette adresse"
    else:
        return
    raise BadRequest(
        f"Événement Stripe refusé ({field} {reason}) : il est attendu sur {other}.",
        code="wrong_endpoint",
        details={field: [reason]},
    )


def _check(event: dict[str, Any]) -> None:
    wrong = _wrong(EVENT_FIELDS, event, "")
    obj = event["data"].get("object") if not wrong else None
    if not wrong and not isinstance(obj, dict):
        wrong["data.object"] = ["objet attendu"]
    if not wrong and isinstance(obj, dict):
        wrong = _wrong(OBJECT_FIELDS.get(event["type"], {}), obj, "data.object.")
    if wrong:
        fields = ", ".join(wrong)
        raise BadRequest(
            f"Événement Stripe incomplet ou mal formé ({fields}) : ignoré.",
            code="malformed_event",
            details=wrong,
        )


def _first_time(event: stripe.Event) -> bool:
    """Claim the event id; False when it was processed already (or is being now)."""
    inserted = db.session.execute(
        insert_or_ignore(db.session, StripeEvent)
        .values(id=event.id, type=event.type)
        .on_conflict_do_nothing()
        .returning(StripeEvent.id)
    ).scalar()
    return inserted is not None


def _account(stripe_account_id: str | None) -> PayoutAccount | None:
    if not stripe_account_id:
        return None
    query = select(PayoutAccount).where(PayoutAccount.stripe_account_id == stripe_account_id)
    return db.session.scalar(query)


def handle(event: stripe.Event) -> bool:
    """Apply one verified event (`checked` first); False when it had been processed before.
    `GatewayError` when Stripe cannot be reached to re-read an account."""
    if not _first_time(event):
        return False
    data: Any = event.data.object
    if event.type == "account.updated":
        account = _account(data.id)
        if account is not None:
            # The account as it is now, not as the event saw it (GatewayError: unreachable).
            now = StripeGateway(stripe_client()).account(data.id)
            account.payouts_enabled = bool(now.payouts_enabled)
            account.details_submitted = bool(now.details_submitted)
            requirements = getattr(now, "requirements", None)
            disabled = getattr(requirements, "disabled_reason", None) if requirements else None
            account.status_reason = (
                None
                if account.payouts_enabled
                else f"Stripe : {disabled or 'inscription en cours'}"
            )
            audit.record(
                None,
                "payout_account.updated",
                "vendor",
                account.vendor_id,
                payouts_enabled=account.payouts_enabled,
            )
    elif event.type == "transfer.reversed":
        services.record_reversal(data.id, int(data.amount_reversed or 0), event.id)
    elif event.type == "payout.failed":
        account = _account(getattr(event, "account", None))
        if account is not None:
            reason = data.failure_message or data.failure_code or "raison non précisée"
            account.last_bank_failure = f"Virement bancaire {data.id} en échec : {reason}"
            audit.record(
                None, "payout_account.bank_failure", "vendor", account.vendor_id, reason=reason
            )
    return True
