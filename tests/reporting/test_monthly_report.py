"""The monthly PDF report of an academy: the month's orders and refunds, then the year's
figures, under a title naming the month and the academy, set in Marianne (embedded)."""

from __future__ import annotations

import html
import io
import re

import pikepdf
from flask.testing import FlaskClient

from app.extensions import db
from app.reporting import services
from tests.documents.tagged import assert_tagged, structure
from tests.helpers import pdf_text
from tests.reporting import expected
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import YEAR, euros, visible_text


def test_the_monthly_report_is_a_pdf_of_the_academys_figures(
    world: World, paris_manager: FlaskClient
) -> None:
    services.refresh(YEAR)
    db.session.commit()

    response = paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-10")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=rapport-{PARIS}-2026-10.pdf"
    )
    text = pdf_text(response.get_data())
    assert text.count("Rapport mensuel — octobre 2026") >= 2  # the heading, each page's foot
    assert "Académie de Paris · année scolaire 2026-2027" in text
    orders, bought, refunded = expected.month(PARIS, "2026-10")
    # Alice's quiz and Bruno's order; Bruno's sciences line cancelled on the 10th.
    assert (orders, bought, refunded) == (2, 12_50 + 85_00, 55_00)
    assert f"Commandes du mois {orders}" in text
    assert f"Achats du mois {euros(bought)}" in text
    assert f"Remboursements du mois {euros(refunded)}" in text
    year = expected.ledger(YEAR, PARIS)
    assert f"Reçu de l’État {euros(year['received'])}" in text
    assert f"Reste à répartir (enveloppe) {euros(year['pool'])}" in text
    assert f"Restant {euros(year['pool'] + year['teachers'])}" in text
    assert "Lumière" not in text


def test_a_month_without_orders_reports_zero(world: World, paris_manager: FlaskClient) -> None:
    text = pdf_text(paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-12").get_data())

    assert "Le mois de décembre 2026" in text
    assert "Commandes du mois 0" in text
    assert f"Achats du mois {euros(0)}" in text


def test_the_monthly_report_is_a_tagged_pdf_in_french_whose_charts_have_a_text(
    world: World, paris_manager: FlaskClient
) -> None:
    services.refresh(YEAR)
    db.session.commit()

    pdf = paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-10").get_data()

    kinds = assert_tagged(pdf, title="Rapport mensuel — octobre 2026 — Académie de Paris")
    assert kinds.count("Figure") >= 1  # the weeks' chart, with its text (checked above)


def fonts_of(pdf: bytes) -> set[str]:
    """The base names of the fonts of the PDF's pages, and whether each is embedded."""
    found = set()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            for font in page.Resources.get("/Font", {}).values():
                descendants = font.get("/DescendantFonts")
                described = descendants[0] if descendants is not None else font
                descriptor = described.get("/FontDescriptor", {})
                embedded = any(
                    key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
                )
                name = str(font.BaseFont).split("+")[-1]
                found.add(f"{name}{'' if embedded else ' (not embedded)'}")
    return found


def test_the_monthly_report_is_set_in_marianne_embedded(
    world: World, paris_manager: FlaskClient
) -> None:
    pdf = paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-10").get_data()

    fonts = fonts_of(pdf)
    assert fonts, "no font at all"
    assert {font.split("-")[0] for font in fonts} == {"Marianne"}, fonts
    assert "(not embedded)" not in " ".join(fonts)
    assert "Marianne-Bold" in fonts
    assert "Marianne" in fonts


def test_no_caption_repeats_the_heading_before_it(world: World, paris_manager: FlaskClient) -> None:
    pdf = paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-10").get_data()

    with pikepdf.open(io.BytesIO(pdf)) as document:
        kinds = [str(e.S)[1:] for e in structure(document.Root.StructTreeRoot)]
    assert "Caption" not in kinds  # each table is named by the heading before it, once
    text = pdf_text(pdf)
    for title in (
        "Dépenses par discipline",
        "Dépenses par éditeur",
        "Ressources les plus achetées",
    ):
        assert text.count(title) == 1, title


def test_a_bad_month_is_refused_in_french_naming_it(paris_manager: FlaskClient) -> None:
    response = paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-13")

    assert response.status_code == 400
    assert "Paramètre « mois » : un mois au format AAAA-MM est attendu" in visible_text(response)


def test_the_dashboard_offers_the_report_of_the_month_chosen(
    world: World, paris_manager: FlaskClient
) -> None:
    page = paris_manager.get(f"/academies/{PARIS}/tableau-de-bord?periode=mois&mois=2026-11")

    link = re.search(r'<a [^>]*id="monthly-report" href="([^"]+)">([^<]+)</a>', page.get_data(True))
    assert link is not None
    assert html.unescape(link[1]) == f"/academies/{PARIS}/rapport.pdf?mois=2026-11"
    assert link[2] == "Rapport mensuel de novembre 2026 (PDF)"


def test_every_bar_of_the_report_has_its_whole_label_and_amount(
    world: World, paris_manager: FlaskClient
) -> None:
    """Labels and amounts are text in table cells, which wrap: none is cut or shortened."""
    world.schools["jean_moulin"].name = "Collège d’enseignement général Jean Moulin de Paris"
    services.refresh(YEAR)
    db.session.commit()

    text = pdf_text(paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-10").get_data())

    assert "…" not in text
    for name, ranking in services.dashboard(YEAR, PARIS).rankings.items():
        for bar in ranking.with_rest:
            assert f"{bar.label} {bar.count} {euros(bar.cents)}" in text, (name, bar)
