"""A settlement cut-off in the future or out of any sense (9999-12-31, year 1): refused
with a French message naming the field, and no `settlement_run` (nor anything) left."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts.models import Role
from app.core.errors import ValidationFailed
from app.extensions import db
from app.payouts import services as payouts
from app.payouts.models import Payout, SettlementRun
from tests import factories
from tests.conftest import AuthActions
from tests.payouts.conftest import Market
from tests.payouts.helpers import buy, count, paris, visible_text

# (cut-off, why it is refused)
ABSURD = [
    ("9999-12-31", "La date ne peut pas être après aujourd'hui"),
    ("2100-01-01", "La date ne peut pas être après aujourd'hui"),
    ("0001-01-01", "La date doit être le 01/01/2000 ou après."),
    ("1999-12-31", "La date doit être le 01/01/2000 ou après."),
]


@pytest.fixture
def sold(market: Market) -> Market:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    db.session.commit()
    return market


@pytest.mark.parametrize(("until", "why"), ABSURD)
def test_the_settlement_form_refuses_an_absurd_cut_off(
    sold: Market, client: FlaskClient, auth: AuthActions, until: str, why: str
) -> None:
    admin = factories.with_role(Role.ADMIN)
    db.session.commit()
    auth.login(admin.email)

    for confirmed in ("", "0" * 64):  # the summary step and the confirmation step
        response = client.post("/admin/versements", data={"until": until, "confirmed": confirmed})

        assert response.status_code == 422, (until, confirmed)
        assert "Ventes réglées jusqu’au (inclus)" in visible_text(response)
        assert why.replace("'", "’") in visible_text(response).replace("'", "’")
        assert count(SettlementRun) == 0
        assert count(Payout) == 0


@pytest.mark.parametrize(("until", "why"), ABSURD)
def test_flask_payouts_run_refuses_an_absurd_cut_off(
    app: Flask, sold: Market, until: str, why: str
) -> None:
    result = app.test_cli_runner().invoke(args=["payouts", "run", "--until", until])

    assert result.exit_code != 0
    assert "--until" in result.output
    assert why in result.output
    assert count(SettlementRun) == 0


@pytest.mark.parametrize("until", [date(9999, 12, 31), date(1, 1, 1)])
def test_the_service_writes_nothing_for_an_absurd_cut_off(sold: Market, until: date) -> None:
    with pytest.raises(ValidationFailed) as refused:
        payouts.start_run(None, until)

    assert refused.value.details["until"]
    assert count(SettlementRun) == 0
