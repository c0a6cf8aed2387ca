"""Paying vendors in a real browser: the vendor gives its bank details, the operator
confirms the summary of a settlement and marks the transfer paid, the vendor downloads
the statement of its payout."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.core import dates
from tests.browser.conftest import screenshot
from tests.browser.test_catalogue_browser import login, logout

pytestmark = pytest.mark.browser


def test_admin_runs_a_settlement_and_the_vendor_downloads_the_statement(
    live_server: str, page: Page
) -> None:
    login(page, live_server, "vendor@demo.test")
    page.get_by_role("link", name="Coordonnées bancaires").click()
    page.get_by_label("Titulaire du compte").fill("Éditions Lumière SAS")
    page.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 189")
    page.get_by_label("BIC").fill("AGRIFRPP")
    page.get_by_role("button", name="Enregistrer les coordonnées bancaires").click()
    expect(page.get_by_text("Coordonnées bancaires enregistrées")).to_be_visible()
    expect(page.get_by_text("FR76 •••• •••• •••• 0189")).to_be_visible()
    assert screenshot(page, "vendor-bank-details").stat().st_size > 0
    logout(page)

    login(page, live_server, "admin@demo.test")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Versements"
    ).click()
    page.get_by_label("Ventes réglées jusqu’au (inclus)").fill(dates.today().isoformat())
    page.get_by_role("button", name="Voir le récapitulatif").click()
    expect(page.get_by_role("cell", name="Éditions Lumière SAS")).to_be_visible()
    assert screenshot(page, "admin-settlement-summary").stat().st_size > 0
    page.get_by_role("button", name="Confirmer le paiement").click()
    expect(page.get_by_text("terminé")).to_be_visible()
    expect(page.get_by_role("cell", name="Éditions Lumière SAS")).to_be_visible()
    page.get_by_label("Référence du virement").first.fill("VIR-2026-0001")
    page.get_by_role("button", name="Marquer comme payé").first.click()
    expect(page.get_by_text("marqué payé")).to_be_visible()
    logout(page)

    login(page, live_server, "vendor@demo.test")
    page.get_by_role("link", name="Versements").click()
    expect(page.get_by_role("heading", name="Vos versements")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Relevé PDF").first.click()
    download = download_info.value
    assert download.suggested_filename.startswith("releve-VRS-")
    assert download.path().read_bytes().startswith(b"%PDF")
    assert screenshot(page, "vendor-payouts").stat().st_size > 0
