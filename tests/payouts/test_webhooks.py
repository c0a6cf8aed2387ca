"""Stripe webhooks: signed by the SDK's own helper, verified with the secret of the endpoint
they reach before anything is read, each event id processed once. Events of the vendors'
connected accounts reach /webhooks/stripe/connect, the platform's own /webhooks/stripe."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.core.audit import AuditEvent
from app.extensions import db
from app.ledger.models import EntryKind
from app.payouts import services as payouts
from app.payouts.gateway import STRIPE_API_VERSION
from app.payouts.models import Payout, PayoutAccount, PayoutStatus, StripeEvent
from tests import factories
from tests.conftest import AuthActions
from tests.payouts.conftest import CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET, Market, connect
from tests.payouts.helpers import (
    CONNECT_URL,
    PLATFORM_URL,
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


def post_event(
    client: FlaskClient, payload: str, header: str | None, url: str = CONNECT_URL
) -> Any:
    headers = {"Stripe-Signature": header} if header is not None else {}
    return client.post(url, data=payload, headers=headers, content_type="application/json")


def account_updated(
    account: PayoutAccount,
    *,
    payouts_enabled: bool,
    disabled_reason: str | None = None,
    created: int | None = None,
) -> str:
    """The `account.updated` event Stripe sends the Connect endpoint about this account."""
    assert account.stripe_account_id is not None
    obj = account_object(
        account.stripe_account_id, payouts_enabled=payouts_enabled, disabled_reason=disabled_reason
    )
    return stripe_event("account.updated", obj, account=account.stripe_account_id, created=created)


@pytest.fixture
def account(
    market: Market, stripe_api: StripeTransport, connect_webhook_secret: str
) -> PayoutAccount:
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
    stripe_api: StripeTransport,
    connect_webhook_secret: str,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    assert account.stripe_account_id is not None
    stripe_api.set_account(account.stripe_account_id, payouts_enabled=True)
    payload = account_updated(account, payouts_enabled=True)

    response = post_event(client, payload, signature(payload, connect_webhook_secret))

    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False}
    [read] = stripe_api.calls("GET", f"/v1/accounts/{account.stripe_account_id}")
    assert read.headers["Stripe-Version"] == STRIPE_API_VERSION
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
    stripe_api: StripeTransport,
    connect_webhook_secret: str,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    account.payouts_enabled = True
    db.session.commit()
    assert account.stripe_account_id is not None
    stripe_api.set_account(
        account.stripe_account_id, payouts_enabled=False, disabled_reason="requirements.past_due"
    )
    payload = account_updated(
        account, payouts_enabled=False, disabled_reason="requirements.past_due"
    )

    response = post_event(client, payload, signature(payload, connect_webhook_secret))

    assert response.status_code == 200
    db.session.refresh(account)
    assert account.payouts_enabled is False
    assert account.status_reason == "Stripe : requirements.past_due"
    page = vendor_page(client, auth, market)
    assert "Stripe : requirements.past_due" in page
    assert "Configurer mes virements avec Stripe" in page


# --- refused ---------------------------------------------------------------------------


def enabling_payload(account: PayoutAccount, stripe_api: StripeTransport) -> str:
    """An `account.updated` saying payouts are enabled, as Stripe holds the account now."""
    assert account.stripe_account_id is not None
    stripe_api.set_account(account.stripe_account_id, payouts_enabled=True)
    return account_updated(account, payouts_enabled=True)


def assert_refused(response: Any, account: PayoutAccount, code: str = "bad_signature") -> None:
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    db.session.refresh(account)
    assert account.payouts_enabled is False
    assert count(StripeEvent) == 0


def test_a_tampered_body_is_refused_and_changes_nothing(
    account: PayoutAccount, connect_webhook_secret: str, client: FlaskClient
) -> None:
    genuine = account_updated(account, payouts_enabled=False)
    header = signature(genuine, connect_webhook_secret)
    tampered = genuine.replace('"payouts_enabled": false', '"payouts_enabled": true')
    assert tampered != genuine

    assert_refused(post_event(client, tampered, header), account)


def test_a_signature_made_with_another_secret_is_refused(
    account: PayoutAccount, stripe_api: StripeTransport, client: FlaskClient
) -> None:
    payload = enabling_payload(account, stripe_api)

    response = post_event(client, payload, signature(payload, "whsec_someone_else"))

    assert_refused(response, account)


def test_a_stale_timestamp_is_refused(
    account: PayoutAccount,
    stripe_api: StripeTransport,
    connect_webhook_secret: str,
    client: FlaskClient,
) -> None:
    payload = enabling_payload(account, stripe_api)
    stale = int(time.time()) - 301  # the SDK's tolerance is 300 seconds
    header = signature(payload, connect_webhook_secret, stale)

    assert_refused(post_event(client, payload, header), account)


@pytest.mark.parametrize("header", [None, "", "t=1700000000", "garbage"])
def test_a_missing_or_malformed_signature_is_refused(
    account: PayoutAccount, stripe_api: StripeTransport, client: FlaskClient, header: str | None
) -> None:
    assert_refused(post_event(client, enabling_payload(account, stripe_api), header), account)


@pytest.mark.parametrize("url", [PLATFORM_URL, CONNECT_URL])
def test_a_signed_body_that_is_not_json_is_refused(
    webhook_secret: str, connect_webhook_secret: str, client: FlaskClient, url: str
) -> None:
    payload = "not json"
    secret = connect_webhook_secret if url == CONNECT_URL else webhook_secret

    response = post_event(client, payload, signature(payload, secret), url)

    assert response.status_code == 400
    assert count(StripeEvent) == 0


@pytest.mark.parametrize("setting", ["STRIPE_WEBHOOK_SECRET", "STRIPE_CONNECT_WEBHOOK_SECRET"])
def test_without_a_configured_secret_every_event_is_refused(
    app: Flask,
    account: PayoutAccount,
    stripe_api: StripeTransport,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
) -> None:
    monkeypatch.setitem(app.config, setting, "")
    payload = enabling_payload(account, stripe_api)
    url = CONNECT_URL if setting == "STRIPE_CONNECT_WEBHOOK_SECRET" else PLATFORM_URL

    response = post_event(client, payload, signature(payload, ""), url)

    assert_refused(response, account, "not_configured")


# --- transfer.reversed -----------------------------------------------------------------


def test_transfer_reversed_gives_the_money_back_to_the_vendor_payable(
    market: Market, transferred: Payout, webhook_secret: str, client: FlaskClient
) -> None:
    assert transferred.transfer_id is not None
    obj = reversed_transfer(transferred.transfer_id, 40_00, amount_reversed=40_00)
    payload = stripe_event("transfer.reversed", obj, event_id="evt_reversed_1")

    response = post_event(client, payload, signature(payload, webhook_secret), PLATFORM_URL)

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

    first = post_event(client, payload, signature(payload, webhook_secret), PLATFORM_URL)
    later = signature(payload, webhook_secret, int(time.time()) + 1)
    replay = post_event(client, payload, later, PLATFORM_URL)

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
        response = post_event(client, payload, signature(payload, webhook_secret), PLATFORM_URL)
        assert response.status_code == 200

    assert (payable(market.sea), paid(market.sea)) == (30_00, 10_00)


def test_transfer_reversed_of_an_unknown_transfer_is_acknowledged_and_changes_nothing(
    transferred: Payout, webhook_secret: str, client: FlaskClient
) -> None:
    obj = reversed_transfer("tr_not_ours", 40_00, amount_reversed=40_00)
    payload = stripe_event("transfer.reversed", obj)

    response = post_event(client, payload, signature(payload, webhook_secret), PLATFORM_URL)

    assert response.status_code == 200
    assert entries(EntryKind.REVERSAL) == 0
    db.session.refresh(transferred)
    assert transferred.status is PayoutStatus.TRANSFERRED


# --- payout.failed ---------------------------------------------------------------------


def test_a_failed_bank_payout_is_shown_on_the_vendor_s_page(
    market: Market,
    account: PayoutAccount,
    connect_webhook_secret: str,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    bank_payout = failed_bank_payout("Le compte bancaire a été clôturé.", "account_closed")
    payload = stripe_event("payout.failed", bank_payout, account=account.stripe_account_id)

    response = post_event(client, payload, signature(payload, connect_webhook_secret))

    assert response.status_code == 200
    db.session.refresh(account)
    expected = f"Virement bancaire {bank_payout['id']} en échec : Le compte bancaire a été clôturé."
    assert account.last_bank_failure == expected
    assert expected in vendor_page(client, auth, market)


def test_an_event_of_another_type_is_acknowledged_and_ignored(
    account: PayoutAccount, webhook_secret: str, client: FlaskClient
) -> None:
    payload = stripe_event("plan.created", {"id": "price_1", "object": "plan"})

    response = post_event(client, payload, signature(payload, webhook_secret), PLATFORM_URL)

    assert response.status_code == 200
    assert count(StripeEvent) == 1
    db.session.refresh(account)
    assert account.payouts_enabled is False


# --- out of order ----------------------------------------------------------------------

T = 1_790_000_000  # when the older event was created (the newer: a minute later)


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first", "oldest first"])
@pytest.mark.parametrize("now_enabled", [True, False], ids=["now enabled", "now disabled"])
def test_account_updated_events_in_either_order_end_with_the_newest_state(
    account: PayoutAccount,
    stripe_api: StripeTransport,
    connect_webhook_secret: str,
    client: FlaskClient,
    newest_first: bool,
    now_enabled: bool,
) -> None:
    """Stripe does not deliver in order: the older event, handled last, must not bring its
    state back. The newer event says what Stripe holds now."""
    assert account.stripe_account_id is not None
    reason = None if now_enabled else "requirements.past_due"
    older_reason = "requirements.past_due" if now_enabled else None
    stripe_api.set_account(
        account.stripe_account_id, payouts_enabled=now_enabled, disabled_reason=reason
    )
    newer = account_updated(
        account, payouts_enabled=now_enabled, disabled_reason=reason, created=T + 60
    )
    older = account_updated(
        account, payouts_enabled=not now_enabled, disabled_reason=older_reason, created=T
    )

    for payload in [newer, older] if newest_first else [older, newer]:
        response = post_event(client, payload, signature(payload, connect_webhook_secret))
        assert response.get_json() == {"received": True, "duplicate": False}

    db.session.refresh(account)
    assert account.payouts_enabled is now_enabled
    assert account.status_reason == (None if now_enabled else "Stripe : requirements.past_due")
    assert count(StripeEvent) == 2


def test_when_stripe_cannot_be_reached_the_event_is_refused_for_a_later_retry(
    account: PayoutAccount,
    stripe_api: StripeTransport,
    connect_webhook_secret: str,
    client: FlaskClient,
) -> None:
    payload = enabling_payload(account, stripe_api)
    header = signature(payload, connect_webhook_secret)
    account_path = f"/v1/accounts/{account.stripe_account_id}"
    # Stripe answers 500 to the call and to the SDK's two retries.
    stripe_api.refuse(
        "GET", account_path, "Erreur interne.", error_type="api_error", status=500, times=3
    )

    refused = post_event(client, payload, header)

    assert refused.status_code == 503
    assert len(stripe_api.calls("GET", account_path)) == 3
    assert refused.get_json()["error"]["code"] == "stripe_unavailable"
    assert count(StripeEvent) == 0
    db.session.refresh(account)
    assert account.payouts_enabled is False
    retried = post_event(client, payload, header)  # Stripe sends it again
    assert retried.get_json() == {"received": True, "duplicate": False}
    db.session.refresh(account)
    assert account.payouts_enabled is True


# --- each event on its endpoint, signed with its secret ----------------------------------


def test_each_endpoint_checks_its_own_secret(
    account: PayoutAccount,
    stripe_api: StripeTransport,
    webhook_secret: str,
    connect_webhook_secret: str,
    client: FlaskClient,
) -> None:
    connect_event = enabling_payload(account, stripe_api)
    platform_event = stripe_event("transfer.reversed", reversed_transfer("tr_1", 40_00, 40_00))

    # Each event signed with the other endpoint's secret.
    assert WEBHOOK_SECRET != CONNECT_WEBHOOK_SECRET
    to_connect = post_event(client, connect_event, signature(connect_event, webhook_secret))
    to_platform = post_event(
        client, platform_event, signature(platform_event, connect_webhook_secret), PLATFORM_URL
    )

    assert_refused(to_connect, account)
    assert_refused(to_platform, account)


def _misrouted(account_id: str) -> dict[str, tuple[str, str, str]]:
    """(endpoint, event, field named) of events Stripe never sends to that endpoint."""
    enabled = account_object(account_id, payouts_enabled=True, disabled_reason=None)
    bank_payout = failed_bank_payout("Compte clôturé", "account_closed")
    transfer = reversed_transfer("tr_1", 40_00, 40_00)
    return {
        "a connected account's event on the platform's endpoint": (
            PLATFORM_URL,
            stripe_event("account.updated", enabled, account=account_id),
            "account",
        ),
        "a connected account's bank payout on the platform's endpoint": (
            PLATFORM_URL,
            stripe_event("payout.failed", bank_payout, account=account_id),
            "account",
        ),
        "the platform's own account.updated on the platform's endpoint": (
            PLATFORM_URL,
            stripe_event("account.updated", enabled),
            "type",
        ),
        "the platform's transfer on the Connect endpoint": (
            CONNECT_URL,
            stripe_event("transfer.reversed", transfer),
            "account",
        ),
        "an account.updated without account on the Connect endpoint": (
            CONNECT_URL,
            stripe_event("account.updated", enabled),
            "account",
        ),
        "a connected account's transfer on the Connect endpoint": (
            CONNECT_URL,
            stripe_event("transfer.reversed", transfer, account=account_id),
            "type",
        ),
    }


def test_each_endpoint_refuses_the_events_stripe_sends_to_the_other(
    account: PayoutAccount,
    stripe_api: StripeTransport,
    webhook_secret: str,
    connect_webhook_secret: str,
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert account.stripe_account_id is not None
    stripe_api.set_account(account.stripe_account_id, payouts_enabled=True)
    before = (count(StripeEvent), count(AuditEvent))
    for what, (url, payload, field) in _misrouted(account.stripe_account_id).items():
        secret = connect_webhook_secret if url == CONNECT_URL else webhook_secret

        response = post_event(client, payload, signature(payload, secret), url)

        assert response.status_code == 400, what
        error = response.get_json()["error"]
        assert error["code"] == "wrong_endpoint", what
        assert list(error["details"]) == [field], what
        assert "Événement Stripe refusé" in error["message"], what
        assert (count(StripeEvent), count(AuditEvent)) == before, what
    assert caplog.text.count("Stripe event refused on the") == 6
    assert stripe_api.calls("GET", ".*") == []
    db.session.refresh(account)
    assert account.payouts_enabled is False


# --- live or test ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "livemode"), [("sk_test_compte_ressources", True), ("sk_live_compte_ressources", False)]
)
def test_an_event_of_the_other_mode_than_the_key_is_refused(
    app: Flask,
    account: PayoutAccount,
    stripe_api: StripeTransport,
    connect_webhook_secret: str,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    key: str,
    livemode: bool,
) -> None:
    assert account.stripe_account_id is not None
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", key)
    stripe_api.set_account(account.stripe_account_id, payouts_enabled=True)
    obj = account_object(account.stripe_account_id, payouts_enabled=True, disabled_reason=None)
    payload = stripe_event(
        "account.updated", obj, account=account.stripe_account_id, livemode=livemode
    )

    response = post_event(client, payload, signature(payload, connect_webhook_secret))

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "wrong_mode"
    assert count(StripeEvent) == 0
    assert "Stripe event refused on the connect endpoint" in caplog.text
    db.session.refresh(account)
    assert account.payouts_enabled is False


def test_a_live_event_is_processed_with_a_live_key(
    app: Flask,
    account: PayoutAccount,
    stripe_api: StripeTransport,
    connect_webhook_secret: str,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert account.stripe_account_id is not None
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_live_compte_ressources")
    stripe_api.set_account(account.stripe_account_id, payouts_enabled=True)
    obj = account_object(account.stripe_account_id, payouts_enabled=True, disabled_reason=None)
    payload = stripe_event("account.updated", obj, account=account.stripe_account_id, livemode=True)

    response = post_event(client, payload, signature(payload, connect_webhook_secret))

    assert response.status_code == 200
    db.session.refresh(account)
    assert account.payouts_enabled is True
