"""The operator reads the payout gateway and the payouts' statuses in words, never their
codes (`manual`, `transferred`)."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient

from app.accounts.models import User
from tests.conftest import AuthActions
from tests.payouts.conftest import Market
from tests.payouts.helpers import buy, paris, settle, visible_text


def test_the_gateway_and_the_statuses_are_named_in_words(
    market: Market, admin: User, client: FlaskClient, auth: AuthActions
) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    run = settle(date(2026, 9, 30), now=paris(2026, 10, 5))
    auth.login(admin.email)

    listing = visible_text(client.get("/admin/versements"))
    details = visible_text(client.get(f"/admin/versements/reglements/{run.id}"))

    assert "Mode de versement : virement manuel par l’agence comptable." in listing
    assert "manual" not in listing
    assert "Enregistré, virement manuel" in details
    assert "transferred" not in details
