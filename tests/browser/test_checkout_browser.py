"""A teacher in a hurry, in a real browser: search, add to the cart, check the summary, buy,
get the receipt."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_catalogue_browser import login

pytestmark = pytest.mark.browser


def test_demo_teacher_searches_buys_and_downloads_the_receipt(live_server: str, page: Page) -> None:
    login(page, live_server, "camille.enseignante@ac-paris.fr")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Catalogue"
    ).click()
    page.get_by_label("Rechercher une ressource").fill("geometrie")
    page.get_by_role("button", name="Rechercher").first.click()
    page.get_by_role("link", name="Géométrie animée 4e-3e").click()

    page.get_by_label("Licence enseignant").check(force=True)
    page.get_by_role("button", name="Ajouter au panier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon panier")
    expect(page.get_by_text("Ajouté au panier.")).to_be_visible()

    page.get_by_role("button", name="Vérifier ma commande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Récapitulatif de la commande")
    expect(page.get_by_role("cell", name="Géométrie animée 4e-3e")).to_be_visible()
    expect(page.get_by_text("Crédit après la commande")).to_be_visible()
    assert screenshot(page, "teacher-order-summary").stat().st_size > 0
    page.get_by_role("button", name="Confirmer et payer").click()
    expect(page.get_by_text("validée : vos ressources arrivent")).to_be_visible()
    expect(page.get_by_role("cell", name="Géométrie animée 4e-3e")).to_be_visible()
    number = page.get_by_role("heading", level=1).inner_text().removeprefix("Commande ")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le reçu (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"recu-{number}.pdf"
    assert download.path().read_bytes().startswith(b"%PDF")

    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mes commandes"
    ).click()
    expect(page.get_by_role("link", name=number)).to_be_visible()
    assert screenshot(page, "teacher-orders").stat().st_size > 0
