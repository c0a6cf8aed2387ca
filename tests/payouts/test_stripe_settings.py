"""How the app is set up to talk to Stripe: the secrets production requires, the API
version every request names, the SDK versions the code is written for."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest
import stripe
from packaging.requirements import Requirement

from app import create_app
from app.payouts.gateway import STRIPE_API_VERSION
from tests.core.test_config import PRODUCTION as PRODUCTION_WITHOUT_STRIPE
from tests.payouts.conftest import Market, connect
from tests.payouts.helpers import buy, paris, settle
from tests.payouts.stripe_transport import StripeTransport

PRODUCTION = {
    **PRODUCTION_WITHOUT_STRIPE,
    "PAYOUT_GATEWAY": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_compte_ressources",
    "STRIPE_WEBHOOK_SECRET": "whsec_plateforme",
    "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_comptes_connectes",
}
STRIPE_SETTINGS = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_CONNECT_WEBHOOK_SECRET"]


@pytest.mark.parametrize("missing", STRIPE_SETTINGS)
def test_production_with_stripe_refuses_to_start_without_each_secret(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=missing):
        create_app("production")


def test_production_reads_both_webhook_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app("production")
    assert app.config["STRIPE_WEBHOOK_SECRET"] == "whsec_plateforme"
    assert app.config["STRIPE_CONNECT_WEBHOOK_SECRET"] == "whsec_comptes_connectes"


def test_every_request_names_the_pinned_api_version(
    market: Market, stripe_api: StripeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another SDK release defaults to another version (StripeClient reads this class).
    monkeypatch.setattr(stripe._api_version._ApiVersion, "CURRENT", "2099-01-01.later")
    connect(market.sea)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    settle(date(2026, 9, 30), now=paris(2026, 10, 5))

    assert {r.path for r in stripe_api.requests} == {"/v1/accounts", "/v1/transfers"}
    assert {r.headers["Stripe-Version"] for r in stripe_api.requests} == {STRIPE_API_VERSION}


def test_the_pinned_api_version_is_the_one_the_installed_sdk_models() -> None:
    """Upgrading `stripe` to a release generated for another API version fails here: move
    STRIPE_API_VERSION (and the webhook endpoints' version) on purpose, after reading
    Stripe's changelog, and the bound in pyproject.toml with it."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    [requirement] = [
        Requirement(line)
        for line in pyproject["project"]["dependencies"]
        if Requirement(line).name == "stripe"
    ]
    assert requirement.specifier.contains(stripe.VERSION)
    assert not requirement.specifier.contains("99")  # an upper bound
    assert stripe.api_version == STRIPE_API_VERSION
