"""An « achat groupé » in a real browser: three demo teachers of one school pay a school
licence together (1280 px), and the page holds at 375 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_catalogue_browser import login, logout

pytestmark = pytest.mark.browser

TITLE = "English Time CM1-CM2"  # a school plan at 240 €, activation codes


def _menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name=name).click()


def _product_page(page: Page) -> None:
    _menu(page, "Catalogue")
    page.get_by_label("Rechercher une ressource").fill("english time")
    page.get_by_role("button", name="Rechercher").first.click()
    page.get_by_role("link", name=TITLE).click()


def test_three_teachers_of_a_school_buy_a_school_licence_together(
    live_server: str, page: Page
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    # Camille starts it from the product page, with 80 €.
    login(page, live_server, "camille.enseignante@ac-paris.fr")
    _product_page(page)
    page.get_by_role("link", name="Lancer un achat groupé").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lancer un achat groupé")
    page.get_by_label("Votre participation (en euros)").fill("80")
    page.get_by_role("button", name="Lancer l’achat groupé").click()
    expect(page.get_by_text("Votre achat groupé est lancé")).to_be_visible()
    expect(page.get_by_text("80,00 € réunis sur 240,00 €")).to_be_visible()
    logout(page)

    # Dominique finds it in « Achats groupés », tries too much, then joins with 70,50 €.
    login(page, live_server, "dominique.enseignant@ac-paris.fr")
    _menu(page, "Achats groupés")
    expect(page.get_by_role("heading", level=1)).to_have_text("Achats groupés de mon établissement")
    page.get_by_role("link", name=TITLE).click()
    page.get_by_label("Votre participation (en euros)").fill("200")
    page.get_by_role("button", name="Participer").click()
    expect(page.get_by_text("Participation : au plus 160,00 €").first).to_be_visible()
    page.get_by_label("Votre participation (en euros)").fill("70,50")
    page.get_by_role("button", name="Participer").click()
    expect(page.get_by_text("Votre participation est enregistrée.")).to_be_visible()
    expect(page.get_by_text("150,50 € réunis sur 240,00 €")).to_be_visible()
    # …withdraws it (confirmation modal), and joins again with 80 €.
    page.get_by_role("button", name="Retirer ma participation").click()
    page.get_by_role("dialog").get_by_role("button", name="Retirer ma participation").click()
    expect(page.get_by_text("Votre participation vous a été rendue.")).to_be_visible()
    page.get_by_label("Votre participation (en euros)").fill("80")
    page.get_by_role("button", name="Participer").click()
    expect(page.get_by_text("160,00 € réunis sur 240,00 €")).to_be_visible()
    assert screenshot(page, "pooled-purchase-open").stat().st_size > 0
    logout(page)

    # Sacha sees it on the product page and puts in the last 80 €: it is bought.
    login(page, live_server, "sacha.enseignante@ac-paris.fr")
    _product_page(page)
    expect(page.get_by_text("160,00 € réunis sur 240,00 €")).to_be_visible()
    page.get_by_role("link", name="Participer").click()
    page.set_viewport_size({"width": 375, "height": 800})
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the pooled purchase page scrolls sideways at 375 px"
    assert screenshot(page, "pooled-purchase-phone").stat().st_size > 0
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Votre participation (en euros)").fill("80")
    page.get_by_role("button", name="Participer").click()
    expect(
        page.get_by_text("Le prix est réuni : la licence établissement est commandée.")
    ).to_be_visible()
    _menu(page, "Mes ressources")
    expect(page.get_by_text(TITLE).first).to_be_visible()
    logout(page)

    # Camille, who started it, finds the resource and the order too.
    login(page, live_server, "camille.enseignante@ac-paris.fr")
    _menu(page, "Mes ressources")
    expect(page.get_by_text(TITLE).first).to_be_visible()
    _menu(page, "Achats groupés")
    expect(page.get_by_text("Financé")).to_be_visible()

    # Her account names the pooled purchase her share went to, and leads back to it.
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server}/mon-compte")
    share = page.get_by_role("link", name=f"Participation à l’achat groupé de « {TITLE} »")
    expect(share).to_be_visible()
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "Mon compte scrolls sideways at 375 px"
    movements = page.get_by_role("table").first  # every amount in sight, without scrolling
    assert movements.evaluate("table => table.scrollWidth <= table.clientWidth")
    assert screenshot(page, "pooled-purchase-my-account-phone").stat().st_size > 0
    share.click()
    expect(page.get_by_text("Financé")).to_be_visible()
