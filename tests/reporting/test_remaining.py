"""« Restant » means one thing, defined once (app.budgets.services.remaining_cents): the
national dashboard (from the summary) and the academies' funding page (from the ledger)
show, for each academy, that definition applied to the same data, and say it."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.budgets import services as budgets
from app.extensions import db
from app.reporting import services
from tests.conftest import AuthActions
from tests.reporting import expected
from tests.reporting.conftest import LYON, PARIS, World
from tests.reporting.helpers import YEAR, euros, squeeze, visible_text

HINT = (
    "Restant : ce que l’académie a reçu et qui n’est pas encore dépensé, soit son enveloppe "
    "(reste à répartir) plus le crédit non dépensé de ses enseignants."
)


def remaining_cells(source: str) -> dict[str, str]:
    """Each academy's « Restant » cell, by academy code."""
    cells = {}
    for code, row in re.findall(r'<tr id="academy-(\d\w)">(.*?)</tr>', source, re.S):
        cell = re.search(r"<td[^>]*data-remaining>(.*?)</td>", row, re.S)
        assert cell is not None, code
        cells[code] = visible_text(cell[1])
    return cells


def test_both_pages_show_the_one_definition_of_restant(
    world: World, session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    services.refresh(YEAR)
    db.session.commit()
    auth.login(world.admin.email)

    national = client.get(f"/admin/tableau-de-bord?annee={YEAR}").get_data(as_text=True)
    fundings = client.get(f"/admin/academies?annee={YEAR}").get_data(as_text=True)

    for code in (PARIS, LYON):
        figures = expected.ledger(YEAR, code)  # hand-written SQL over the ledger
        remaining = budgets.remaining_cents(figures["pool"], figures["teachers"])
        assert remaining_cells(national)[code] == euros(remaining), code
        assert remaining_cells(fundings)[code] == euros(remaining), code
        # What the definition says: received less what was spent net of refunds.
        spent = figures["spent"] - figures["refunded"]
        assert remaining == figures["received"] - spent - figures["expired"], code
    assert remaining_cells(national) == remaining_cells(fundings)  # every academy
    for source in (national, fundings):
        assert HINT in squeeze(visible_text(source))


def test_the_national_total_of_restant_is_the_same_definition(
    world: World, client: FlaskClient, auth: AuthActions
) -> None:
    services.refresh(YEAR)
    db.session.commit()
    auth.login(world.admin.email)

    page = visible_text(client.get(f"/admin/tableau-de-bord?annee={YEAR}"))

    country = expected.ledger(YEAR)
    total = budgets.remaining_cents(country["pool"], country["teachers"])
    assert (
        f"Crédit non dépensé des enseignants {euros(country['teachers'])} Restant {euros(total)}"
        in page
    )
