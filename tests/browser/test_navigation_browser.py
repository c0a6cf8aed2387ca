"""Finding one's way and not destroying by mistake, in a real browser at 1280 and 375 px:
the vendor side menu (collapsed behind a button on a phone), the breadcrumb, and the
confirmation modals in front of destructive actions."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_catalogue_browser import login

pytestmark = pytest.mark.browser

WIDTHS = [1280, 375]


def still(page: Page, name: str) -> None:
    """A screenshot once DSFR's opening transitions (collapse, modal) have ended."""
    page.wait_for_timeout(600)
    assert screenshot(page, name).stat().st_size > 0


@pytest.mark.parametrize("width", WIDTHS)
def test_vendor_moves_through_the_side_menu(live_server: str, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "vendor@demo.test")
    menu = page.get_by_role("navigation", name="Éditions Lumière SAS")
    orders = menu.get_by_role("link", name="Commandes")
    if width < 768:  # DSFR folds the menu behind a button on small screens
        expect(orders).to_be_hidden()
        assert screenshot(page, f"vendor-space-{width}").stat().st_size > 0
        menu.get_by_role("button", name="Dans cet espace").click()
    expect(menu.get_by_role("link", name="Produits")).to_have_attribute("aria-current", "page")
    still(page, f"vendor-menu-open-{width}")
    orders.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Commandes de vos produits")
    expect(page.locator("#vendor-menu a[aria-current]")).to_have_text("Commandes")  # folded or not
    crumbs = page.get_by_role("navigation", name="vous êtes ici :")
    if width < 768:
        crumbs.get_by_role("button", name="Voir le fil d’Ariane").click()
    expect(crumbs.locator("[aria-current=page]")).to_have_text("Commandes")
    still(page, f"vendor-orders-{width}")

    crumbs.get_by_role("link", name="Éditions Lumière SAS").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Éditions Lumière SAS")
    if width < 768:
        menu.get_by_role("button", name="Dans cet espace").click()
    menu.get_by_role("link", name="Équipe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Équipe")
    expect(page.get_by_text("Marc Éditeur — vendor@demo.test")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_revoking_an_api_token_asks_first(live_server: str, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "vendor@demo.test")
    page.goto(page.url + "/api")
    page.get_by_label("Nom du jeton").fill("Serveur de test")
    page.get_by_role("button", name="Créer le jeton").click()
    revoke = page.get_by_role("button", name="Révoquer « Serveur de test »")
    dialog = page.get_by_role("dialog", name="Révoquer le jeton « Serveur de test » ?")

    revoke.click()
    expect(dialog).to_be_visible()
    still(page, f"revoke-token-modal-{width}")
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_be_hidden()
    page.goto(page.url)  # read again (a reload would post the creation again)
    expect(revoke).to_be_visible()  # nothing was sent
    expect(page.get_by_text("Révoqué le")).to_have_count(0)

    revoke.click()
    dialog.get_by_role("button", name="Révoquer le jeton").click()
    expect(page.get_by_text("Le jeton « Serveur de test » est révoqué.")).to_be_visible()
    expect(page.get_by_text("Révoqué le")).to_be_visible()
    expect(revoke).to_have_count(0)


@pytest.mark.parametrize("width", WIDTHS)
def test_removing_from_the_cart_asks_first(live_server: str, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "camille.enseignante@ac-paris.fr")
    page.goto(live_server + "/catalogue?q=geometrie")
    page.get_by_role("link", name="Géométrie animée 4e-3e").click()
    page.get_by_label("Licence enseignant").check(force=True)
    page.get_by_role("button", name="Ajouter au panier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon panier")
    dialog = page.get_by_role("dialog", name="Retirer « Géométrie animée 4e-3e » du panier ?")

    page.get_by_role("button", name="Retirer", exact=True).click()
    expect(dialog).to_be_visible()
    still(page, f"cart-remove-modal-{width}")
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.get_by_role("cell", name="Géométrie animée 4e-3e")).to_be_visible()

    page.get_by_role("button", name="Retirer", exact=True).click()
    dialog.get_by_role("button", name="Retirer du panier").click()
    expect(page.get_by_text("Votre panier est vide.")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_suspending_a_vendor_asks_for_the_reason_in_the_modal(
    live_server: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "admin@demo.test")
    page.goto(live_server + "/admin/editeurs")
    opener = page.get_by_role("button", name="Suspendre").first
    name = opener.get_attribute("title") or ""
    vendor = name.removeprefix("Suspendre ")
    dialog = page.get_by_role("dialog", name=f"Suspendre {vendor} ?")

    opener.click()
    expect(dialog).to_be_visible()
    still(page, f"suspend-vendor-modal-{width}")
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_be_hidden()

    opener.click()
    dialog.get_by_label("Motif de la suspension").fill("Contrôle en cours")
    dialog.get_by_role("button", name="Suspendre l’éditeur").click()
    expect(page.get_by_text(f"{vendor} est suspendu")).to_be_visible()
    expect(page.get_by_text("Contrôle en cours")).to_be_visible()
