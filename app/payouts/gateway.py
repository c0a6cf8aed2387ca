"""The payout gateway: how money reaches a vendor. Chosen by ``PAYOUT_GATEWAY``.

- ``manual`` (the embedded default): records the transfer for the accounting office,
  which pays by bank transfer, to the bank details the vendor gave, from the CSV export
  of the payouts to pay, then marks each one paid with the transfer's bank reference;
- ``stripe``: Stripe Connect with the official SDK's ``StripeClient``: an Express
  connected account per vendor, onboarded through an account link, and transfers from
  the platform balance in euros, with the payout id as ``Idempotency-Key``.

Stripe objects are read by attribute (the SDK's objects are not dicts). Every request
names the API version the code was written against (`STRIPE_API_VERSION`, the one the
pinned SDK major models), so a change of the account's default version or of the SDK
changes nothing unnoticed; the webhook endpoints are created with the same version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l
from stdnum import bic, iban
from stripe.params import AccountCreateParams

from app.extensions import db
from app.payouts.models import BankDetails, Payout, PayoutAccount
from app.vendors.models import Vendor

# The API version requests are made (and the webhook endpoints must be created) with: the
# version `stripe` 16.x is generated for. Moving to another one is a reviewed change.
STRIPE_API_VERSION = "2026-10-28.endive"


class GatewayError(Exception):
    """The gateway refused or could not be reached; the payout stays open for retry."""


@dataclass(frozen=True)
class Transfer:
    id: str


# How each gateway (`Payout.gateway`, `SettlementRun.gateway`) is named to people.
GATEWAY_LABELS = {
    "manual": _l("virement manuel par l’agence comptable"),
    "stripe": _l("Stripe Connect"),
}


def gateway_label(name: str) -> str:
    return str(GATEWAY_LABELS[name])


class PayoutGateway(Protocol):
    name: str

    def unusable_reason(self, vendor_id: int) -> str | None:
        """Why this vendor cannot be paid now, or None when it can."""

    def transfer(self, payout: Payout, account: PayoutAccount | None) -> Transfer: ...


class ManualGateway:
    """Payouts are made by hand by the accounting office from the CSV export."""

    name = "manual"

    def unusable_reason(self, vendor_id: int) -> str | None:
        details = db.session.get(BankDetails, vendor_id)
        if details is None:
            return (
                "Coordonnées bancaires manquantes : l'éditeur doit indiquer son IBAN et son BIC "
                "dans son espace (Coordonnées bancaires)."
            )
        if not (details.holder and iban.is_valid(details.iban) and bic.is_valid(details.bic)):
            return (
                "Coordonnées bancaires invalides : l'éditeur doit corriger son IBAN ou son BIC "
                "dans son espace (Coordonnées bancaires)."
            )
        return None

    def transfer(self, payout: Payout, account: PayoutAccount | None) -> Transfer:
        return Transfer(id=f"manuel-{payout.id}")


class StripeGateway:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    def unusable_reason(self, vendor_id: int) -> str | None:
        account = db.session.get(PayoutAccount, vendor_id)
        if account is None or account.stripe_account_id is None:
            return "Compte de versement Stripe non créé : l'éditeur doit configurer ses virements."
        if not account.payouts_enabled:
            return account.status_reason or (
                "Inscription Stripe inachevée : les virements ne sont pas encore possibles."
            )
        return None

    def create_account(self, vendor: Vendor) -> str:
        params: AccountCreateParams = {
            "type": "express",
            "country": "FR",
            "business_type": "company",
            "capabilities": {"transfers": {"requested": True}},
            "business_profile": {"name": vendor.legal_name},
            "metadata": {"vendor_id": str(vendor.id), "siret": vendor.siret},
        }
        if vendor.contact_email:
            params["email"] = vendor.contact_email
        account = self.client.v1.accounts.create(
            params=params, options={"idempotency_key": f"account-vendor-{vendor.id}"}
        )
        return account.id

    def onboarding_link(self, account_id: str, refresh_url: str, return_url: str) -> str:
        link = self.client.v1.account_links.create(
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
        return link.url

    def transfer(self, payout: Payout, account: PayoutAccount | None) -> Transfer:
        if account is None or account.stripe_account_id is None:
            raise GatewayError("Compte de versement Stripe absent.")
        try:
            transfer = self.client.v1.transfers.create(
                params={
                    "amount": payout.amount_cents,
                    "currency": "eur",
                    "destination": account.stripe_account_id,
                    "transfer_group": f"payout-{payout.id}",
                    "description": f"Compte Ressources — versement {payout.number}",
                    "metadata": {"payout_id": str(payout.id), "vendor_id": str(payout.vendor_id)},
                },
                options={"idempotency_key": f"payout-{payout.id}"},
            )
        except stripe.StripeError as error:
            raise GatewayError(error.user_message or str(error)) from error
        return Transfer(id=transfer.id)

    def reverse(self, payout: Payout) -> str:
        """Take a transfer back (the operator's correction); the webhook records it."""
        if payout.transfer_id is None:
            raise GatewayError("Ce versement n'a pas de virement Stripe.")
        try:
            reversal = self.client.v1.transfers.reversals.create(
                payout.transfer_id,
                params={"metadata": {"payout_id": str(payout.id)}},
                options={"idempotency_key": f"reversal-{payout.id}"},
            )
        except stripe.StripeError as error:
            raise GatewayError(error.user_message or str(error)) from error
        return reversal.id

    def account(self, account_id: str) -> stripe.Account:
        """The connected account as Stripe holds it now (events may arrive out of order)."""
        try:
            return self.client.v1.accounts.retrieve(account_id)
        except stripe.StripeError as error:
            raise GatewayError(error.user_message or str(error)) from error


def stripe_client() -> stripe.StripeClient:
    config = current_app.config
    http_client = config.get("STRIPE_HTTP_CLIENT")  # tests plug a local transport here
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"] or "sk_test_not_configured",
        stripe_version=STRIPE_API_VERSION,
        http_client=http_client,
        max_network_retries=2,
    )


def live_mode() -> bool:
    """Whether the configured key is a live one (`sk_live_…`, `rk_live_…`), not a test one."""
    key: str = current_app.config["STRIPE_SECRET_KEY"]
    return key.startswith(("sk_live_", "rk_live_"))


def gateway() -> ManualGateway | StripeGateway:
    if current_app.config["PAYOUT_GATEWAY"] == "stripe":
        return StripeGateway(stripe_client())
    return ManualGateway()
