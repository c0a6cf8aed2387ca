"""The Stripe Connect gateway, through the official SDK talking to a local transport that
answers with Stripe's own example objects: what is sent (method, path, parameters,
`Idempotency-Key`) and what the app does with the answers and the refusals."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from app.accounts.models import User
from app.extensions import db
from app.ledger.models import EntryKind
from app.payouts.gateway import GatewayError, StripeGateway, stripe_client
from app.payouts.models import PayoutAccount, PayoutStatus
from app.payouts.services import NothingToPay
from tests import factories
from tests.conftest import AuthActions
from tests.payouts.conftest import Market, connect
from tests.payouts.helpers import (
    assert_books_agree,
    buy,
    entries,
    on_sale,
    paris,
    settle,
    visible_text,
)
from tests.payouts.stripe_transport import StripeTransport

SEPTEMBER = date(2026, 9, 30)
OCTOBER_5 = paris(2026, 10, 5)


def test_onboarding_creates_the_express_account_once_and_sends_the_vendor_to_stripe(
    market: Market, stripe_api: StripeTransport, client: FlaskClient, auth: AuthActions
) -> None:
    vendor = market.sea
    vendor.contact_email = "compta@editions-mer.fr"
    member = factories.vendor_member(vendor)
    db.session.commit()
    auth.login(member.email)
    page = f"/editeur/{vendor.id}/versements"
    assert "Compte de versement Stripe non créé" in visible_text(client.get(page))

    response = client.post(f"{page}/inscription")

    [account_id] = stripe_api.accounts
    [created] = stripe_api.calls("POST", "/v1/accounts")
    assert created.idempotency_key == f"account-vendor-{vendor.id}"
    assert created.params == {
        "type": "express",
        "country": "FR",
        "business_type": "company",
        "capabilities": {"transfers": {"requested": "true"}},
        "business_profile": {"name": "Éditions de la Mer SAS"},
        "metadata": {"vendor_id": str(vendor.id), "siret": vendor.siret},
        "email": "compta@editions-mer.fr",
    }
    assert created.headers["Authorization"] == "Bearer sk_test_compte_ressources"
    assert created.headers["Content-Type"] == "application/x-www-form-urlencoded"
    [link] = stripe_api.calls("POST", "/v1/account_links")
    assert link.params == {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": f"http://localhost{page}",
        "return_url": f"http://localhost{page}",
    }
    assert response.status_code == 302
    assert response.location == (
        f"https://sangeekp-15t6ai--manage-mydev.dev.stripe.me/setup/s/{account_id}/MerI6itPZo2K"
    )
    account = db.session.get(PayoutAccount, vendor.id)
    assert account is not None
    assert (account.stripe_account_id, account.payouts_enabled) == (account_id, False)
    assert "Inscription Stripe inachevée" in visible_text(client.get(page))

    # Coming back later: a new link to the same account, no second account.
    again = client.post(f"{page}/inscription")

    assert again.status_code == 302
    assert len(stripe_api.calls("POST", "/v1/accounts")) == 1
    assert [call.params["account"] for call in stripe_api.calls("POST", "/v1/account_links")] == [
        account_id,
        account_id,
    ]


def test_onboarding_refused_by_stripe_keeps_nothing_and_says_so(
    market: Market, stripe_api: StripeTransport, client: FlaskClient, auth: AuthActions
) -> None:
    member = factories.vendor_member(market.sea)
    db.session.commit()
    auth.login(member.email)
    stripe_api.refuse("POST", "/v1/accounts", "Connect is not enabled on this platform.")

    response = client.post(f"/editeur/{market.sea.id}/versements/inscription")

    assert response.status_code == 302
    assert response.location == f"/editeur/{market.sea.id}/versements"
    assert stripe_api.calls("POST", "/v1/account_links") == []
    account = db.session.get(PayoutAccount, market.sea.id)
    assert account is None or account.stripe_account_id is None
    page = visible_text(client.get(response.location))
    assert "Stripe ne répond pas pour l’instant" in page


def test_another_vendor_cannot_onboard_in_its_place(
    market: Market, stripe_api: StripeTransport, client: FlaskClient, auth: AuthActions
) -> None:
    member = factories.vendor_member(market.stars)
    db.session.commit()
    auth.login(member.email)

    response = client.post(f"/editeur/{market.sea.id}/versements/inscription")

    assert response.status_code == 403
    assert stripe_api.requests == []


def test_each_payout_is_transferred_in_euro_cents_with_the_payout_as_idempotency_key(
    market: Market, stripe_api: StripeTransport
) -> None:
    sea_account = connect(market.sea)
    stars_account = connect(market.stars)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.lab, paris(2026, 9, 11))
    buy(market.teacher, market.planets, paris(2026, 9, 12))

    run = settle(SEPTEMBER, now=OCTOBER_5)

    sea, stars = run.payouts
    transfers = stripe_api.calls("POST", "/v1/transfers")
    assert [(t.idempotency_key, t.params) for t in transfers] == [
        (
            f"payout-{sea.id}",
            {
                "amount": "10000",
                "currency": "eur",
                "destination": sea_account.stripe_account_id,
                "transfer_group": f"payout-{sea.id}",
                "description": f"Compte Ressources — versement {sea.number}",
                "metadata": {"payout_id": str(sea.id), "vendor_id": str(market.sea.id)},
            },
        ),
        (
            f"payout-{stars.id}",
            {
                "amount": "2500",
                "currency": "eur",
                "destination": stars_account.stripe_account_id,
                "transfer_group": f"payout-{stars.id}",
                "description": f"Compte Ressources — versement {stars.number}",
                "metadata": {"payout_id": str(stars.id), "vendor_id": str(market.stars.id)},
            },
        ),
    ]
    for payout in (sea, stars):
        assert payout.status is PayoutStatus.TRANSFERRED
        assert payout.gateway == "stripe"
        assert payout.transfer_id in stripe_api.transfers
        assert stripe_api.transfers[payout.transfer_id]["amount"] == payout.amount_cents
        assert payout.statement_key is not None
        assert_books_agree(payout)

    with pytest.raises(NothingToPay):
        settle(SEPTEMBER, now=paris(2026, 10, 6))

    assert len(stripe_api.calls("POST", "/v1/transfers")) == 2


def test_a_vendor_without_a_usable_stripe_account_is_skipped_with_the_reason_shown(
    market: Market,
    stripe_api: StripeTransport,
    admin: User,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    connect(market.sea)
    pending = connect(market.stars, payouts_enabled=False)
    pending.status_reason = "Stripe : requirements.past_due"
    no_account = factories.VendorFactory(legal_name="Sans Compte SARL")
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 9, 10))
    buy(market.teacher, on_sale(no_account, "Cartes muettes", 15_00), paris(2026, 9, 10))

    run = settle(SEPTEMBER, now=OCTOBER_5)

    [paid] = run.payouts
    assert (paid.vendor_id, paid.amount_cents) == (market.sea.id, 40_00)
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 1
    assert entries(EntryKind.PAYOUT) == 1
    assert run.skipped == {
        str(market.stars.id): "Stripe : requirements.past_due",
        str(no_account.id): (
            "Compte de versement Stripe non créé : l'éditeur doit configurer ses virements."
        ),
    }
    auth.login(admin.email)
    page = visible_text(client.get(f"/admin/versements/reglements/{run.id}"))
    assert "Éditeurs non payés" in page
    assert "Ludo Sciences SAS : Stripe : requirements.past_due" in page
    assert "Sans Compte SARL : Compte de versement Stripe non créé" in page

    # Once the account can receive, the next run pays what waited.
    pending.payouts_enabled = True
    pending.status_reason = None
    db.session.commit()
    [payout] = settle(SEPTEMBER, now=paris(2026, 10, 6)).payouts
    assert (payout.vendor_id, payout.amount_cents, payout.status) == (
        market.stars.id,
        25_00,
        PayoutStatus.TRANSFERRED,
    )


def test_a_refused_transfer_fails_with_the_reason_and_is_retried_with_the_same_key(
    market: Market,
    stripe_api: StripeTransport,
    admin: User,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    connect(market.sea)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    stripe_api.refuse(
        "POST",
        "/v1/transfers",
        "You have insufficient funds in your Stripe account.",
        code="balance_insufficient",
    )

    first = settle(SEPTEMBER, now=OCTOBER_5)

    [payout] = first.payouts
    assert payout.status is PayoutStatus.FAILED
    assert payout.failure_reason == "You have insufficient funds in your Stripe account."
    assert payout.transfer_id is None
    assert entries(EntryKind.PAYOUT) == 1  # owed by the ledger, not transferred yet
    auth.login(admin.email)
    page = visible_text(client.get(f"/admin/versements/reglements/{first.id}"))
    assert "Virement en échec You have insufficient funds in your Stripe account." in page

    second = settle(SEPTEMBER, now=paris(2026, 10, 6))

    assert second.payouts == []  # nothing new to pay: the open payout is retried
    refused, retried = stripe_api.calls("POST", "/v1/transfers")
    assert refused.idempotency_key == retried.idempotency_key == f"payout-{payout.id}"
    assert refused.params == retried.params
    db.session.refresh(payout)
    assert payout.status is PayoutStatus.TRANSFERRED
    assert payout.failure_reason is None
    assert payout.transfer_id == next(iter(stripe_api.transfers))
    assert entries(EntryKind.PAYOUT) == 1
    assert_books_agree(payout)


def test_the_gateway_reverses_a_transfer_with_the_payout_as_idempotency_key(
    market: Market, stripe_api: StripeTransport
) -> None:
    connect(market.sea)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    [payout] = settle(SEPTEMBER, now=OCTOBER_5).payouts
    gateway = StripeGateway(stripe_client())

    reversal_id = gateway.reverse(payout)
    assert gateway.reverse(payout) == reversal_id  # Stripe replays the same key

    first, second = stripe_api.calls("POST", r"/v1/transfers/[^/]+/reversals")
    assert first.path == f"/v1/transfers/{payout.transfer_id}/reversals"
    assert first.idempotency_key == second.idempotency_key == f"reversal-{payout.id}"
    assert first.params == {"metadata": {"payout_id": str(payout.id)}}
    assert stripe_api.transfers[payout.transfer_id]["amount_reversed"] == 40_00
    # The money comes back to the books only when Stripe's transfer.reversed arrives.
    assert payout.status is PayoutStatus.TRANSFERRED


def test_a_refused_reversal_is_a_gateway_error_with_stripe_s_message(
    market: Market, stripe_api: StripeTransport
) -> None:
    connect(market.sea)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    [payout] = settle(SEPTEMBER, now=OCTOBER_5).payouts
    stripe_api.refuse(
        "POST", r"/v1/transfers/[^/]+/reversals", "The transfer has already been reversed."
    )

    with pytest.raises(GatewayError, match="The transfer has already been reversed."):
        StripeGateway(stripe_client()).reverse(payout)


def test_without_an_account_the_gateway_refuses_before_calling_stripe(
    market: Market, stripe_api: StripeTransport
) -> None:
    connect(market.sea)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    [payout] = settle(SEPTEMBER, now=OCTOBER_5).payouts
    stripe_api.requests.clear()

    with pytest.raises(GatewayError, match="Compte de versement Stripe absent"):
        StripeGateway(stripe_client()).transfer(payout, None)
    assert stripe_api.requests == []


def test_the_operator_asks_stripe_to_take_a_transfer_back_from_the_run_page(
    market: Market, stripe_api: StripeTransport, client: FlaskClient, auth: AuthActions, admin: User
) -> None:
    connect(market.sea)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    run = settle(SEPTEMBER, now=OCTOBER_5)
    [payout] = run.payouts
    auth.login(admin.email)
    run_page = f"/admin/versements/reglements/{run.id}"
    assert "Annuler le virement" in visible_text(client.get(run_page))

    response = client.post(f"/admin/versements/{payout.id}/annuler-virement")

    assert response.status_code == 302
    [reversal] = stripe_api.calls("POST", r"/v1/transfers/[^/]+/reversals")
    assert reversal.idempotency_key == f"reversal-{payout.id}"
    assert "Annulation demandée à Stripe" in visible_text(client.get(run_page))
    # The books move only when Stripe confirms (the transfer.reversed webhook).
    db.session.refresh(payout)
    assert payout.status is PayoutStatus.TRANSFERRED
