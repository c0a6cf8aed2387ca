"""The monthly PDF report of an academy: the month's orders and refunds, then the year's
figures, under the academy's name."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.extensions import db
from app.reporting import services
from tests.documents.tagged import assert_tagged
from tests.reporting import expected
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import YEAR, euros, pdf_text


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
    assert "Rapport budgétaire — Académie de Paris" in text
    assert "Mois de octobre 2026" in text
    orders, bought, refunded = expected.month(PARIS, "2026-10")
    # Alice's quiz and Bruno's order; Bruno's sciences line cancelled on the 10th.
    assert (orders, bought, refunded) == (2, 12_50 + 85_00, 55_00)
    assert f"Commandes du mois {orders}" in text
    assert f"Achats du mois {euros(bought)}" in text
    assert f"Remboursements du mois {euros(refunded)}" in text
    year = expected.ledger(YEAR, PARIS)
    assert f"Reçu de l’État {euros(year['received'])}" in text
    assert f"Restant dans l’enveloppe {euros(year['pool'])}" in text
    assert "Lumière" not in text


def test_a_month_without_orders_reports_zero(world: World, paris_manager: FlaskClient) -> None:
    text = pdf_text(paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-12").get_data())

    assert "Mois de décembre 2026" in text
    assert "Commandes du mois 0" in text
    assert f"Achats du mois {euros(0)}" in text


def test_the_monthly_report_is_a_tagged_pdf_in_french_whose_charts_have_a_text(
    world: World, paris_manager: FlaskClient
) -> None:
    services.refresh(YEAR)
    db.session.commit()

    pdf = paris_manager.get(f"/academies/{PARIS}/rapport.pdf?mois=2026-10").get_data()

    kinds = assert_tagged(pdf, title="Rapport mensuel — Académie de Paris")
    assert kinds.count("Figure") >= 2  # the charts, each with its text (checked above)
