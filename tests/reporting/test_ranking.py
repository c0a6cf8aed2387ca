"""Rankings show the first ten, then the rest grouped as "Autres" with its sum."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.extensions import db
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from app.reporting import services
from app.reporting.models import NATIONAL
from tests import factories
from tests.conftest import AuthActions
from tests.reporting.conftest import PARIS
from tests.reporting.helpers import YEAR, allocate, at, buy, euros, fund, visible_text

PRICES = [(n + 1) * 5_00 for n in range(12)]  # 5 €, 10 €, … 60 €: twelve vendors


@pytest.fixture
def twelve_vendors(session: Session) -> list[Product]:
    """Twelve vendors, one product each at its price; a Paris teacher bought them all."""
    school = factories.SchoolFactory(academy_code=PARIS)
    teacher = factories.teacher(school)
    products = [
        factories.product(
            factories.VendorFactory(legal_name=f"Éditeur {cents // 100:02d} €"),
            title=f"Ressource à {cents // 100:02d} €",
            plans=[PlanDraft(PlanKind.SCHOOL, cents, 2000)],
        )
        for cents in PRICES
    ]
    fund(PARIS, sum(PRICES))
    allocate(factories.academy_manager(PARIS), teacher, school, sum(PRICES))
    buy(teacher, products, at("2026-10-05"))
    services.refresh(YEAR)
    db.session.commit()
    return products


@pytest.mark.parametrize("academy", [PARIS, NATIONAL])
@pytest.mark.parametrize("dimension", ["vendor", "product"])
def test_ten_bars_then_the_others(
    twelve_vendors: list[Product], academy: str, dimension: str
) -> None:
    ranking = services.dashboard(YEAR, academy).rankings[dimension]

    assert [bar.cents for bar in ranking.bars] == PRICES[:1:-1]  # 60 €, 55 €, … 15 €
    assert (ranking.rest_cents, ranking.rest_count) == (5_00 + 10_00, 2)
    assert ranking.with_rest[-1] == services.Bar("Autres", 15_00, 2)
    assert len(ranking.with_rest) == 11
    assert ranking.total_cents == sum(PRICES)


def test_no_others_when_there_are_ten_or_fewer(twelve_vendors: list[Product]) -> None:
    ranking = services.dashboard(YEAR, PARIS).rankings["level"]  # all of cycle 3

    assert [(bar.label, bar.cents) for bar in ranking.with_rest] == [
        ("Cycle 3 — consolidation", sum(PRICES))
    ]


def test_the_page_shows_the_others_in_the_ranking_table(
    twelve_vendors: list[Product], client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(factories.academy_manager(PARIS).email)

    source = client.get(f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}").get_data(as_text=True)

    panel = re.search(r'<div id="academy-panel-vendor".*?</table>', source, re.S)
    assert panel is not None
    assert panel.group().count("<rect") == 11  # ten bars, then the others
    page = visible_text(source)
    # 15 € of 390 €: 4 % of the total each.
    assert f"Éditeur 15 € 1 {euros(15_00)} 4 % Autres 2 {euros(15_00)} 4 %" in page
    assert "Éditeur 10 €" not in page
    assert "Ressource à 10 €" not in page
