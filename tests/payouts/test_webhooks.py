"""Stripe webhooks: signed by the SDK's own helper, verified before anything is read,
each event id processed once."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.extensions import db
from app.ledger.models import EntryKind
from app.payouts import services as payouts
from app.payouts.models import Payout, PayoutAccount, PayoutStatus, StripeEvent
from tests import factories
from tests.conftest import AuthActions
from tests.payouts.conftest import Market, connect
from tests.payouts.helpers import (
    account_object,
    assert_books_agree,
    buy,
    count,
    entries,
    failed_bank_payout,
    paid,
    paris,
    payable,
    reversed_transfer,
    settle,
    signature,
    stripe_event,
    visible_text,
)
from tests.payouts.stripe_transport import StripeTransport

URL = "/webhooks/stripe"


def post_event(client: FlaskClient, payload: str, header: str | None) -> Any:
    headers = {"Stripe-Signature": header} if header is not None else {}
    return client.post(URL, data=payload, headers=headers, content_type="application/json")


@pytest.fixture
def account(market: Market, stripe_api: StripeTransport, webhook_secret: str) -> PayoutAccount:
    """The sea vendor's Stripe account, created, onboarding not finished."""
    return connect(market.sea, payouts_enabled=False)


@pytest.fixture
def transferred(market: Market, account: PayoutAccount) -> Payout:
    """A 40 € payout transferred through Stripe to the sea vendor."""
    account.payouts_enabled = True
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    [payout] = settle(date(2026, 9, 30), now=paris(2026, 10, 5)).payouts
    assert payout.status is PayoutStatus.TRANSFERRED
    return payout


def vendor_page(client: FlaskClient, auth: AuthActions, market: Market) -> str:
    member = factories.vendor_member(market.sea)
    db.session.commit()
    auth.login(member.email)
    return visible_text(client.get(f"/editeur/{market.sea.id}/versements"))


# --- account.updated ---------------------------------------------------------------------


def test_account_updated_with_payouts_enabled_makes_the_vendor_payable(
    market: Market,
    account: PayoutAccount,
    webhook_secret: str,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    assert account.stripe_account_id is not None
    obj = account_object(account.stripe_account_id, payouts_enabled=True, disabled_reason=None)
    payload = stripe_event("account.updated", obj)

    response = post_event(client, payload, signature(payload, webhook_secret))

    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False}
    db.session.refresh(account)
    assert (account.payouts_enabled, account.details_submitted) == (True, True)
    assert account.status_reason is None
    assert "Virements possibles" in vendor_page(client, auth, market)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    [payout] = settle(date(2026, 9, 30), now=paris(2026, 10, 5)).payouts
    assert payout.status is PayoutStatus.TRANSFERRED


def test_account_updated_without_payouts_shows_stripe_s_reason(
    market: Market,
    account: PayoutAccount,
    webhook_secret: str,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    account.payouts_enabled = True
    db.session.commit()
    assert account.stripe_account_id is not None
    obj = account_object(
        account.stripe_account_id, payouts_enabled=False, disabled_reason="requirements.past_due"
    )
    payload = stripe_event("account.updated", obj)

    response = post_event(client, payload, signature(payload, webhook_secret))

    assert response.status_code == 200
    db.session.refresh(account)
    assert account.payouts_enabled is False
    assert account.status_reason == "Stripe : requirements.past_due"
    page = vendor_page(client, auth, market)
    assert "Stripe : requirements.past_due" in page
    assert "Configurer mes virements avec Stripe" in page


# --- refused ---------------------------------------------------------------------------


def enabling_payload(account: PayoutAccount) -> str:
    assert account.stripe_account_id is not None
    obj = account_object(account.stripe_account_id, payouts_enabled=True, disabled_reason=None)
    return stripe_event("account.updated", obj)


def assert_refused(response: Any, account: PayoutAccount) -> None:
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in {"bad_signature", "not_configured"}
    db.session.refresh(account)
    assert account.payouts_enabled is False
    assert count(StripeEvent) == 0


def test_a_tampered_body_is_refused_and_changes_nothing(
    account: PayoutAccount, webhook_secret: str, client: FlaskClient
) -> None:
    assert account.stripe_account_id is not None
    genuine = stripe_event(
        "account.updated",
        account_object(account.stripe_account_id, payouts_enabled=False, disabled_reason=None),
    )
    header = signature(genuine, webhook_secret)
    tampered = genuine.replace('"payouts_enabled": false', '"payouts_enabled": true')
    assert tampered != genuine

    assert_refused(post_event(client, tampered, header), account)


def test_a_signature_made_with_another_secret_is_refused(
    account: PayoutAccount, webhook_secret: str, client: FlaskClient
) -> None:
    payload = enabling_payload(account)

    response = post_event(client, payload, signature(payload, "whsec_someone_else"))

    assert_refused(response, account)


def test_a_stale_timestamp_is_refused(
    account: PayoutAccount, webhook_secret: str, client: FlaskClient
) -> None:
    payload = enabling_payload(account)
    stale = int(time.time()) - 301  # the SDK's tolerance is 300 seconds

    assert_refused(post_event(client, payload, signature(payload, webhook_secret, stale)), account)


@pytest.mark.parametrize("header", [None, "", "t=1700000000", "garbage"])
def test_a_missing_or_malformed_signature_is_refused(
    account: PayoutAccount, webhook_secret: str, client: FlaskClient, header: str | None
) -> None:
    assert_refused(post_event(client, enabling_payload(account), header), account)


def test_a_signed_body_that_is_not_json_is_refused(
    webhook_secret: str, client: FlaskClient, session: Session
) -> None:
    payload = "not json"

    response = post_event(client, payload, signature(payload, webhook_secret))

    assert response.status_code == 400
    assert count(StripeEvent) == 0


def test_without_a_configured_secret_every_event_is_refused(
    app: Flask, account: PayoutAccount, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", "")
    payload = enabling_payload(account)

    response = post_event(client, payload, signature(payload, ""))

    assert_refused(response, account)
    assert response.get_json()["error"]["code"] == "not_configured"


# --- transfer.reversed -----------------------------------------------------------------


def test_transfer_reversed_gives_the_money_back_to_the_vendor_payable(
    market: Market, transferred: Payout, webhook_secret: str, client: FlaskClient
) -> None:
    assert transferred.transfer_id is not None
    obj = reversed_transfer(transferred.transfer_id, 40_00, amount_reversed=40_00)
    payload = stripe_event("transfer.reversed", obj, event_id="evt_reversed_1")

    response = post_event(client, payload, signature(payload, webhook_secret))

    assert response.status_code == 200
    db.session.refresh(transferred)
    assert transferred.status is PayoutStatus.REVERSED
    assert transferred.reversal_entry_id is not None
    assert entries(EntryKind.REVERSAL) == 1
    assert (payable(market.sea), paid(market.sea)) == (40_00, 0)
    assert_books_agree(transferred)
    [line] = payouts.reconcile(date(2026, 1, 1), date(2030, 12, 31)).lines
    assert line.reversed_cents == 40_00


def test_a_replayed_event_is_acknowledged_and_processed_once(
    market: Market, transferred: Payout, webhook_secret: str, client: FlaskClient
) -> None:
    assert transferred.transfer_id is not None
    obj = reversed_transfer(transferred.transfer_id, 40_00, amount_reversed=40_00)
    payload = stripe_event("transfer.reversed", obj, event_id="evt_reversed_1")

    first = post_event(client, payload, signature(payload, webhook_secret))
    replay = post_event(client, payload, signature(payload, webhook_secret, int(time.time()) + 1))

    assert first.get_json() == {"received": True, "duplicate": False}
    assert replay.status_code == 200
    assert replay.get_json() == {"received": True, "duplicate": True}
    assert entries(EntryKind.REVERSAL) == 1
    assert count(StripeEvent) == 1
    assert (payable(market.sea), paid(market.sea)) == (40_00, 0)


def test_two_partial_reversals_give_back_what_was_reversed(
    market: Market, transferred: Payout, webhook_secret: str, client: FlaskClient
) -> None:
    assert transferred.transfer_id is not None
    # Stripe sends transfer.reversed for each reversal, the transfer as it is after it.
    for event_id, reversed_so_far in [("evt_partial_1", 10_00), ("evt_partial_2", 30_00)]:
        obj = reversed_transfer(transferred.transfer_id, 40_00, amount_reversed=reversed_so_far)
        payload = stripe_event("transfer.reversed", obj, event_id=event_id)
        assert post_event(client, payload, signature(payload, webhook_secret)).status_code == 200

    assert (payable(market.sea), paid(market.sea)) == (30_00, 10_00)


def test_transfer_reversed_of_an_unknown_transfer_is_acknowledged_and_changes_nothing(
    transferred: Payout, webhook_secret: str, client: FlaskClient
) -> None:
    obj = reversed_transfer("tr_not_ours", 40_00, amount_reversed=40_00)
    payload = stripe_event("transfer.reversed", obj)

    response = post_event(client, payload, signature(payload, webhook_secret))

    assert response.status_code == 200
    assert entries(EntryKind.REVERSAL) == 0
    db.session.refresh(transferred)
    assert transferred.status is PayoutStatus.TRANSFERRED


# --- payout.failed ---------------------------------------------------------------------


def test_a_failed_bank_payout_is_shown_on_the_vendor_s_page(
    market: Market,
    account: PayoutAccount,
    webhook_secret: str,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    bank_payout = failed_bank_payout("Le compte bancaire a été clôturé.", "account_closed")
    payload = stripe_event("payout.failed", bank_payout, account=account.stripe_account_id)

    response = post_event(client, payload, signature(payload, webhook_secret))

    assert response.status_code == 200
    db.session.refresh(account)
    expected = f"Virement bancaire {bank_payout['id']} en échec : Le compte bancaire a été clôturé."
    assert account.last_bank_failure == expected
    assert expected in vendor_page(client, auth, market)


def test_an_event_of_another_type_is_acknowledged_and_ignored(
    account: PayoutAccount, webhook_secret: str, client: FlaskClient
) -> None:
    payload = stripe_event("plan.created", {"id": "price_1", "object": "plan"})

    response = post_event(client, payload, signature(payload, webhook_secret))

    assert response.status_code == 200
    assert count(StripeEvent) == 1
    db.session.refresh(account)
    assert account.payouts_enabled is False
