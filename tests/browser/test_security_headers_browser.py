"""Every role's main pages under the Content-Security-Policy, in Chromium: the DSFR's
scripts and styles load from this site and nothing is refused. The `page` fixture
(tests/browser/conftest.py) fails the test on any violation or JavaScript error."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_catalogue_browser import login, logout

pytestmark = pytest.mark.browser

# Links not to follow while walking: downloads, sign-out, language, and the licence
# opening that ends the right to cancel.
SKIPPED = re.compile(r"\.(pdf|csv)$|/deconnexion|/langue/|/ouvrir$")


def dsfr_is_running(page: Page) -> None:
    """The DSFR's JavaScript marks the page once it has started (`data-fr-js`)."""
    expect(page.locator("html")).to_have_attribute("data-fr-js", "true")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def walk(page: Page, base: str) -> list[str]:
    """Visit each link of the main menu, then each kind of page those link to (one of
    each: the first product, the first order…). Returns the paths seen."""
    seen: set[str] = set()
    visited: list[str] = []

    def links(selector: str) -> list[str]:
        hrefs = page.locator(f"{selector} a[href^='/']").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))"
        )
        return [str(href) for href in hrefs]

    def visit(path: str) -> bool:
        path = urlsplit(path).path
        kind = re.sub(r"\d+", "N", path)
        if kind in seen or SKIPPED.search(path):
            return False
        seen.add(kind)
        page.goto(base + path)
        dsfr_is_running(page)
        visited.append(path)
        return True

    for top in links("#navigation-principale"):
        if visit(top):
            for inner in links("main"):
                if visit(inner):  # a link skipped was not followed: nothing to go back from
                    page.go_back()
    return visited


def test_each_roles_pages_load_under_the_policy(live_server: str, page: Page) -> None:
    login(page, live_server, "camille.enseignante@ac-paris.fr")
    teacher_pages = walk(page, live_server)
    assert {"/catalogue", "/mes-ressources", "/panier"} <= set(teacher_pages)
    assert any(re.fullmatch(r"/catalogue/\d+", path) for path in teacher_pages)
    # the cart and the checkout summary, reached by their forms
    page.goto(live_server + "/catalogue")
    page.get_by_role("link", name="Géométrie animée 4e-3e").click()
    page.get_by_label("Licence enseignant").check(force=True)
    page.get_by_role("button", name="Ajouter au panier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon panier")
    page.get_by_role("button", name="Vérifier ma commande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Récapitulatif de la commande")
    dsfr_is_running(page)
    logout(page)

    login(page, live_server, "vendor@demo.test")
    vendor_pages = walk(page, live_server)
    assert any(path.endswith("/licences") for path in vendor_pages)
    assert any(re.search(r"/produits/\d+$", path) for path in vendor_pages)
    logout(page)

    for email, home in (
        ("academy@demo.test", "/academies/01"),
        ("reviewer@demo.test", "/commission"),
        ("admin@demo.test", "/admin"),
    ):
        login(page, live_server, email)
        assert any(path.startswith(home) for path in walk(page, live_server)), email
        logout(page)


def test_the_dsfr_menu_opens_on_a_phone(live_server: str, page: Page) -> None:
    """The DSFR's modal menu: its JavaScript sets styles (scroll lock) as it opens."""
    page.set_viewport_size({"width": 375, "height": 800})
    login(page, live_server, "admin@demo.test")
    page.get_by_role("button", name="Menu").click()
    menu = page.get_by_role("navigation", name="Menu principal")
    expect(menu).to_be_visible()
    menu.get_by_role("link", name="Versements").click()
    dsfr_is_running(page)
