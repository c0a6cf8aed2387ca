"""Each figure is written once on a page: a ranking is one table (its bars drawn beside
the figures, not a second list of them), and the academy's budget is on its home page,
not again on its dashboard."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from app.extensions import db
from app.reporting import services
from tests.conftest import AuthActions
from tests.reporting import expected
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import YEAR, euros, visible_text


def test_each_label_and_amount_of_the_academy_dashboard_is_written_once(
    world: World, paris_manager: FlaskClient
) -> None:
    services.refresh(YEAR)
    db.session.commit()
    dash = services.dashboard(YEAR, PARIS)

    page = visible_text(paris_manager.get(f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}"))

    for dimension, ranking in dash.rankings.items():
        for bar in ranking.with_rest:
            assert len(re.findall(rf"\b{re.escape(bar.label)} \d", page)) == 1, (dimension, bar)


def test_the_academy_budget_is_on_the_home_page_once_and_not_on_the_dashboard(
    world: World, paris_manager: FlaskClient
) -> None:
    services.refresh(YEAR)
    db.session.commit()
    figures = expected.ledger(YEAR, PARIS)

    home = visible_text(paris_manager.get(f"/academies/{PARIS}?annee={YEAR}"))
    dashboard = visible_text(paris_manager.get(f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}"))

    for key in ("received", "allocated", "spent", "pool", "teachers"):
        assert home.count(euros(figures[key])) == 1, key
    # (What was spent in the year is also the purchases of the year, the dashboard's
    # default period: a figure of the period, not the budget's.)
    for key in ("received", "allocated", "pool", "teachers"):
        assert euros(figures[key]) not in dashboard, key


def test_each_national_total_is_written_once(
    world: World, client: FlaskClient, auth: AuthActions
) -> None:
    services.refresh(YEAR)
    db.session.commit()
    auth.login(world.admin.email)
    country = expected.ledger(YEAR)

    page = visible_text(client.get(f"/admin/tableau-de-bord?annee={YEAR}"))

    # (The country's refunds, 85 €, are also Beta's net sales: another figure.)
    for key in ("received", "allocated", "spent", "pool", "teachers"):
        assert page.count(euros(country[key])) == 1, key
    assert page.count(f"Remboursé (annulations) {euros(country['refunded'])}") == 1
    assert page.count(euros(country["pool"] + country["teachers"])) == 1
