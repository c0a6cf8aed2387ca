"""Fixtures of the payout tests (on the rolled-back `session`): two vendors with products on
sale and bank details, a teacher of a Paris school with credit to buy them, the Stripe
gateway plugged on a local transport that answers like Stripe, and the secrets of the two
webhook endpoints (the platform's, the connected accounts')."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.budgets.models import School
from app.extensions import db
from app.payouts.gateway import StripeGateway, stripe_client
from app.payouts.models import PayoutAccount
from app.products.models import Product
from app.vendors.models import Vendor
from tests import factories
from tests.payouts.helpers import give_credit, on_sale, with_bank_details
from tests.payouts.stripe_transport import StripeTransport

WEBHOOK_SECRET = "whsec_test_compte_ressources"
CONNECT_WEBHOOK_SECRET = "whsec_test_compte_ressources_connect"


@dataclass
class Market:
    sea: Vendor  # Éditions de la Mer SAS
    atlas: Product  # 40 €
    lab: Product  # 60 €
    stars: Vendor  # Ludo Sciences SAS
    planets: Product  # 25 €
    school: School
    teacher: User  # 1 000 € of credit


@pytest.fixture
def market(session: Session) -> Market:
    sea = factories.VendorFactory(legal_name="Éditions de la Mer SAS")
    stars = factories.VendorFactory(legal_name="Ludo Sciences SAS")
    with_bank_details(sea)
    with_bank_details(stars, iban="FR1420041010050500013M02606", bic="PSSTFRPPPAR")
    school = factories.SchoolFactory(name="Collège Jean Moulin", city="Paris", academy_code="01")
    teacher = factories.teacher(school, name="Camille Durand", email="camille.durand@ac-paris.fr")
    give_credit(teacher, 1000_00)
    market = Market(
        sea=sea,
        atlas=on_sale(sea, "Atlas des océans", 40_00),
        lab=on_sale(sea, "Laboratoire de chimie", 60_00),
        stars=stars,
        planets=on_sale(stars, "Planètes en classe", 25_00),
        school=school,
        teacher=teacher,
    )
    db.session.commit()
    return market


@pytest.fixture
def stripe_api(app: Flask, monkeypatch: pytest.MonkeyPatch) -> StripeTransport:
    """The Stripe gateway, its SDK talking to the local transport (restored after)."""
    transport = StripeTransport()
    monkeypatch.setitem(app.config, "PAYOUT_GATEWAY", "stripe")
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_compte_ressources")
    monkeypatch.setitem(app.config, "STRIPE_HTTP_CLIENT", transport)
    return transport


@pytest.fixture
def webhook_secret(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return WEBHOOK_SECRET


@pytest.fixture
def connect_webhook_secret(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(app.config, "STRIPE_CONNECT_WEBHOOK_SECRET", CONNECT_WEBHOOK_SECRET)
    return CONNECT_WEBHOOK_SECRET


def connect(vendor: Vendor, *, payouts_enabled: bool = True) -> PayoutAccount:
    """The vendor's Stripe account as onboarding leaves it: created through the gateway
    (the transport's account), then enabled (or not) as `account.updated` says."""
    account_id = StripeGateway(stripe_client()).create_account(vendor)
    account = PayoutAccount(
        vendor_id=vendor.id,
        stripe_account_id=account_id,
        payouts_enabled=payouts_enabled,
        details_submitted=payouts_enabled,
    )
    db.session.add(account)
    db.session.commit()
    return account


@pytest.fixture
def admin(session: Session) -> User:
    return factories.with_role(Role.ADMIN, email="operateur@education.gouv.fr")
