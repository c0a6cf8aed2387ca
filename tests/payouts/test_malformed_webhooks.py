"""Stripe events missing what their handler reads: a 400 (Stripe sends them again), a
warning in the log, nothing written. The variants are derived from Stripe's own example
objects (/work/shared/stripe fixtures, through the tests' helpers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.core.audit import AuditEvent
from app.payouts.models import PayoutAccount, StripeEvent
from tests.payouts.conftest import Market, connect
from tests.payouts.helpers import (
    account_object,
    count,
    failed_bank_payout,
    reversed_transfer,
    signature,
    stripe_event,
)
from tests.payouts.stripe_transport import StripeTransport

URL = "/webhooks/stripe"


def _events(account_id: str) -> dict[str, dict[str, Any]]:
    """A well-formed event of each handled type (as dicts)."""
    return {
        "account.updated": json.loads(
            stripe_event(
                "account.updated",
                account_object(account_id, payouts_enabled=True, disabled_reason=None),
            )
        ),
        "transfer.reversed": json.loads(
            stripe_event("transfer.reversed", reversed_transfer("tr_inconnu", 40_00, 40_00))
        ),
        "payout.failed": json.loads(
            stripe_event(
                "payout.failed",
                failed_bank_payout("Compte clôturé", "account_closed"),
                account=account_id,
            )
        ),
    }


def _malformed(event: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(what is wrong, the event) for each field the handler reads: gone, null, mistyped."""
    for name in ("id", "type", "data"):
        for label, value in (("manquant", ...), ("null", None), ("mal typé", 12)):
            broken = json.loads(json.dumps(event))
            if value is ...:
                del broken[name]
            else:
                broken[name] = value
            yield f"{name} {label}", broken
    broken = json.loads(json.dumps(event))
    broken["data"] = {"previous_attributes": {}}
    yield "data.object manquant", broken
    fields = {
        "account.updated": ("id", "payouts_enabled", "details_submitted"),
        "transfer.reversed": ("id", "amount_reversed"),
        "payout.failed": ("id",),
    }[event["type"]]
    for name in fields:
        for label, value in (("manquant", ...), ("null", None), ("mal typé", [])):
            broken = json.loads(json.dumps(event))
            if value is ...:
                del broken["data"]["object"][name]
            else:
                broken["data"]["object"][name] = value
            yield f"data.object.{name} {label}", broken


@pytest.fixture
def account(market: Market, stripe_api: StripeTransport, webhook_secret: str) -> PayoutAccount:
    return connect(market.sea, payouts_enabled=False)


def test_malformed_events_are_refused_with_a_400_and_nothing_written(
    client: FlaskClient,
    account: PayoutAccount,
    webhook_secret: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert account.stripe_account_id is not None
    before = (count(StripeEvent), count(AuditEvent))
    tried = 0
    for event in _events(account.stripe_account_id).values():
        for what, broken in _malformed(event):
            payload = json.dumps(broken)
            response = client.post(
                URL,
                data=payload,
                headers={"Stripe-Signature": signature(payload, webhook_secret)},
                content_type="application/json",
            )
            tried += 1
            assert response.status_code == 400, (event["type"], what, response.status_code)
            error = response.get_json()["error"]
            assert error["code"] == "malformed_event", what
            assert "Événement Stripe incomplet" in error["message"], what
            assert (count(StripeEvent), count(AuditEvent)) == before, what
    assert tried == 3 * 10 + 3 * 3 + 2 * 3 + 1 * 3
    assert "Stripe event refused" in caplog.text
    assert account.payouts_enabled is False


@pytest.mark.parametrize("body", ["{}", "[]", "null", '"evt"', "12"])
def test_an_event_that_is_not_an_object_is_a_400(
    client: FlaskClient, webhook_secret: str, body: str
) -> None:
    response = client.post(
        URL,
        data=body,
        headers={"Stripe-Signature": signature(body, webhook_secret)},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert count(StripeEvent) == 0


def test_a_well_formed_event_still_goes_through(
    client: FlaskClient, account: PayoutAccount, webhook_secret: str
) -> None:
    assert account.stripe_account_id is not None
    payload = json.dumps(_events(account.stripe_account_id)["account.updated"])
    response = client.post(
        URL,
        data=payload,
        headers={"Stripe-Signature": signature(payload, webhook_secret)},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert count(StripeEvent) == 1
