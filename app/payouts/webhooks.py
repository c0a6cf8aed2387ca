"""Stripe webhooks: verified by signature before anything is read, each event once.

Handled: ``account.updated`` (can the vendor receive payouts?), ``transfer.reversed``
(the money is owed to the vendor again: a reversal entry, the payout flagged) and
``payout.failed`` (a connected account's bank payout failed: shown to the vendor and
the operator). Other events are acknowledged and ignored.
"""

from __future__ import annotations

from typing import Any

import stripe
from sqlalchemy import select

from app.core import audit
from app.core.db import insert_or_ignore
from app.core.errors import BadRequest
from app.extensions import db
from app.payouts import services
from app.payouts.models import PayoutAccount, StripeEvent

# The fields each handled event must carry, and their type (JSON). An event without them
# is refused with a 400 before anything is written: Stripe sends it again, and the log
# says what was missing.
EVENT_FIELDS: dict[str, type] = {"id": str, "type": str, "data": dict}
OBJECT_FIELDS: dict[str, dict[str, type]] = {
    "account.updated": {"id": str, "payouts_enabled": bool, "details_submitted": bool},
    "transfer.reversed": {"id": str, "amount_reversed": int},
    "payout.failed": {"id": str},
}
JSON_TYPES = {str: "chaîne", bool: "booléen", int: "entier", dict: "objet"}


def _wrong(fields: dict[str, type], found: dict[str, Any], prefix: str) -> dict[str, list[str]]:
    wrong = {}
    for name, kind in fields.items():
        value = found.get(name)
        if value is None:
            wrong[prefix + name] = ["champ manquant"]
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            wrong[prefix + name] = [f"{JSON_TYPES[kind]} attendu"]
    return wrong


def checked(event: stripe.Event | None) -> stripe.Event:
    """The event, unless it misses what its handler reads (or is no event at all, None):
    then `BadRequest` (400), before anything is written."""
    _check(event.to_dict() if event is not None else {})
    assert event is not None  # an empty event misses every field
    return event


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
    """Apply one verified event (`check`ed first); False when it had been processed before."""
    if not _first_time(event):
        return False
    data: Any = event.data.object
    if event.type == "account.updated":
        account = _account(data.id)
        if account is not None:
            account.payouts_enabled = bool(data.payouts_enabled)
            account.details_submitted = bool(data.details_submitted)
            requirements = getattr(data, "requirements", None)
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
