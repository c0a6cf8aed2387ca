"""Throwaway: screenshots of the pages this branch changed (not committed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import screenshot
from tests.browser.test_catalogue_browser import login, logout

pytestmark = pytest.mark.browser


def test_shots(live_server: str, page: Page) -> None:
    shots = {
        "camille.enseignante@ac-paris.fr": ["/mes-commandes", "/catalogue"],
        "admin@demo.test": ["/admin/exclusions", "/admin/editeurs/a-valider", "/admin/academies/01/dotations"],
        "reviewer@demo.test": ["/commission"],
        "academy@demo.test": ["/academies/01/tableau-de-bord", "/academies/01/enseignants"],
        "vendor@demo.test": ["/editeur/1/livraison", "/editeur/1/equipe"],
    }
    for email, urls in shots.items():
        login(page, live_server, email)
        for url in urls:
            for width in (1280, 375):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(live_server + url)
                if url == "/mes-commandes":
                    page.locator("table a").first.click()
                if url == "/catalogue":
                    page.locator("h3 a, .fr-card a").first.click()
                if url == "/commission":
                    page.locator("table a").first.click()
                name = "tmp" + url.replace("/", "-") + f"-{width}"
                screenshot(page, name)
                if url == "/mes-commandes" and page.get_by_role("button", name="Annuler et être remboursé").count():
                    page.get_by_role("button", name="Annuler et être remboursé").first.click()
                    page.wait_for_timeout(600)
                    screenshot(page, name + "-modal")
                if url == "/editeur/1/livraison":
                    page.get_by_role("button", name="Régénérer le secret").click()
                    page.wait_for_timeout(600)
                    screenshot(page, name + "-modal")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(live_server + "/")
        logout(page)
