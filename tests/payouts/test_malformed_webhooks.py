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
    CONNECT_URL,
    PLATFORM_URL,
    account_object,
    count,
    failed_bank_payout,
    reversed_transfer,
    signature,
    stripe_event,
)
from tests.payouts.stripe_transport import StripeTransport


def _events(account_id: str) -> dict[str, dict[str, Any]]:
    """A well-formed event of each handled type (as dicts)."""
    return {
        "account.updated": json.loads(
            stripe_event(
                "account.updated",
                account_object(account_id, payouts_enabled=True, disabled_reason=None),
                account=account_id,
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
    for name in ("id", "type", "livemode", "data"):
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
        "account.updated": ("id",),
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


def post(client: FlaskClient, event: dict[str, Any], secrets: dict[str, str]) -> Any:
    """To the endpoint Stripe sends this event to, signed with its secret."""
    url = CONNECT_URL if "account" in event else PLATFORM_URL
    payload = json.dumps(event)
    return client.post(
        url,
        data=payload,
        headers={"Stripe-Signature": signature(payload, secrets[url])},
        content_type="application/json",
    )


@pytest.fixture
def secrets(webhook_secret: str, connect_webhook_secret: str) -> dict[str, str]:
    return {PLATFORM_URL: webhook_secret, CONNECT_URL: connect_webhook_secret}


def test_malformed_events_are_refused_with_a_400_and_nothing_written(
    client: FlaskClient,
    account: PayoutAccount,
    secrets: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert account.stripe_account_id is not None
    before = (count(StripeEvent), count(AuditEvent))
    tried = 0
    for event in _events(account.stripe_account_id).values():
        for what, broken in _malformed(event):
            response = post(client, broken, secrets)
            tried += 1
            assert response.status_code == 400, (event["type"], what, response.status_code)
            error = response.get_json()["error"]
            assert error["code"] == "malformed_event", what
            assert "Événement Stripe incomplet" in error["message"], what
            assert (count(StripeEvent), count(AuditEvent)) == before, what
    assert tried == 3 * 13 + 1 * 3 + 2 * 3 + 1 * 3
    assert "Stripe event refused" in caplog.text
    assert account.payouts_enabled is False


@pytest.mark.parametrize("url", [PLATFORM_URL, CONNECT_URL])
@pytest.mark.parametrize("body", ["{}", "[]", "null", '"evt"', "12"])
def test_an_event_that_is_not_an_object_is_a_400(
    client: FlaskClient, secrets: dict[str, str], body: str, url: str
) -> None:
    response = client.post(
        url,
        data=body,
        headers={"Stripe-Signature": signature(body, secrets[url])},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert count(StripeEvent) == 0


@pytest.mark.parametrize("event_type", ["account.updated", "transfer.reversed", "payout.failed"])
def test_a_well_formed_event_still_goes_through(
    client: FlaskClient, account: PayoutAccount, secrets: dict[str, str], event_type: str
) -> None:
    assert account.stripe_account_id is not None
    response = post(client, _events(account.stripe_account_id)[event_type], secrets)
    assert response.status_code == 200
    assert count(StripeEvent) == 1
