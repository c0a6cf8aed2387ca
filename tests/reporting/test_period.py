"""The academy dashboard's period is chosen with a GET form (a school year, a month or
dates, read by app/core/args.py): the page shows the period's orders, purchases and
refunds, and its exports and monthly report for that period; a refused field is named in
French under it, with what was typed kept, and status 400."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from tests.reporting import expected
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import YEAR, euros, visible_text

DASHBOARD = f"/academies/{PARIS}/tableau-de-bord"


def links(source: str) -> dict[str, str]:
    """The period's downloads: their text → their address."""
    return {
        visible_text(text): html.unescape(href)
        for href, text in re.findall(r'<a class="fr-btn[^"]*"[^>]*href="([^"]+)">(.*?)</a>', source)
    }


def figures_of(page: str) -> tuple[str, str, str]:
    found = re.search(r"Commandes (\d+) Achats (.+?) Remboursements (.+?) Télécharger", page)
    assert found is not None, page
    return found[1], found[2], found[3]


def test_without_a_choice_the_period_is_the_current_school_year(
    world: World, paris_manager: FlaskClient
) -> None:
    response = paris_manager.get(f"{DASHBOARD}?annee={YEAR}")

    assert response.status_code == 200
    source = response.get_data(as_text=True)
    assert 'id="periode-annee" name="periode" value="annee" checked' in source
    page = visible_text(source)
    assert '<h2 id="periode-choisie">Année scolaire 2026-2027</h2>' in source
    # Paris's four orders of the year (one line refunded in October).
    assert figures_of(page) == ("4", euros(40_00 + 25_00 + 12_50 + 85_00 + 40_00), euros(55_00))
    exports = links(source)
    assert exports["Achats (CSV)"] == (
        f"/academies/{PARIS}/exports/achats.csv?du=2026-09-01&au=2027-08-31"
    )


def test_a_month_shows_its_figures_its_exports_and_its_report(
    world: World, paris_manager: FlaskClient
) -> None:
    response = paris_manager.get(f"{DASHBOARD}?periode=mois&mois=2026-10")

    assert response.status_code == 200
    source = response.get_data(as_text=True)
    page = visible_text(source)
    assert '<h2 id="periode-choisie">Octobre 2026</h2>' in source
    orders, bought, refunded = expected.month(PARIS, "2026-10")
    assert figures_of(page) == (str(orders), euros(bought), euros(refunded))
    exports = links(source)
    assert exports["Remboursements (CSV)"] == (
        f"/academies/{PARIS}/exports/remboursements.csv?du=2026-10-01&au=2026-10-31"
    )
    assert exports["Rapport mensuel de octobre 2026 (PDF)"] == (
        f"/academies/{PARIS}/rapport.pdf?mois=2026-10"
    )
    assert 'value="2026-10"' in source  # the month chosen, kept in its field


def test_dates_show_the_figures_of_those_days(world: World, paris_manager: FlaskClient) -> None:
    response = paris_manager.get(f"{DASHBOARD}?periode=dates&du=2026-10-06&au=2026-10-07")

    page = visible_text(response)
    assert "Du 6 octobre 2026 au 7 octobre 2026" in page
    # Alice's quiz (12,50 €) on the 6th, Bruno's order (85 €) on the 7th; the refund of
    # his sciences line came on the 10th, out of the period.
    assert figures_of(page) == ("2", euros(12_50 + 85_00), euros(0))
    exports = links(response.get_data(as_text=True))
    assert exports["Attributions (CSV)"].endswith("?du=2026-10-06&au=2026-10-07")


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (
            "periode=dates&du=2026-11-30&au=2026-10-01",
            "Date de fin : elle ne peut pas précéder la date de début.",
        ),
        ("periode=dates&au=2026-10-01", "Date de début : choisissez une date."),
        (
            "periode=dates&du=2026-02-30&au=2026-10-01",
            "Date de début : une date au format AAAA-MM-JJ est attendue (ex. 2026-10-01).",
        ),
        (
            "periode=dates&du=1999-12-31&au=2026-10-01",
            "Date de début : la date doit être comprise entre le 01/01/2000 et le 31/12/2099.",
        ),
        (
            "periode=dates&du=2026-10-01&au=2027-09-01",
            "Date de fin : la période doit tenir dans une année scolaire (du 1er septembre au "
            "31 août) : choisissez une date de fin au plus tard le 31/08/2027.",
        ),
        (
            "periode=mois&mois=2026-13",
            "Mois : un mois au format AAAA-MM est attendu (ex. 2026-11).",
        ),
        ("periode=mois", "Mois : choisissez un mois."),
        ("periode=annee&annee=2026-2028", "Année scolaire : une année scolaire comme 2026-2027"),
        ("periode=semaine", "Période : choisissez l’année scolaire, un mois ou des dates."),
    ],
)
def test_a_refused_period_is_named_in_french_on_its_field(
    world: World, paris_manager: FlaskClient, query: str, error: str
) -> None:
    response = paris_manager.get(f"{DASHBOARD}?{query}")

    assert response.status_code == 400
    page = visible_text(response)
    assert "La période n’a pas pu être lue : corrigez le champ signalé." in page
    assert error in page
    assert "Télécharger pour cette période" not in page  # no figures of a period not read
    assert "Les dépenses de l’année scolaire" in page  # the rest of the page is there


def test_a_refused_field_keeps_what_was_typed_and_is_tied_to_its_error(
    world: World, paris_manager: FlaskClient
) -> None:
    source = paris_manager.get(f"{DASHBOARD}?periode=dates&du=2026-11-30&au=2026-10-01").get_data(
        as_text=True
    )

    assert 'id="periode-dates" name="periode" value="dates" checked' in source
    assert 'name="du" value="2026-11-30"' in source
    field = re.search(r'<input class="fr-input fr-input--error" type="date" id="au"[^>]*>', source)
    assert field is not None
    assert 'value="2026-10-01"' in field.group()
    assert 'aria-describedby="au-errors"' in field.group()
