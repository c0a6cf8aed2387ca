"""The information pages in Chromium, at a desktop's and a phone's width: reached from the
footer, the help's accordions opening, and nothing kept in the browser but the session
cookie and the DSFR's display preference."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from app.site.services import LOCAL_STORAGE_KEYS
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

PAGES = {
    "Plan du site": ("/plan-du-site", "Plan du site"),
    "Accessibilité : partiellement conforme": ("/accessibilite", "Déclaration d’accessibilité"),
    "Mentions légales": ("/mentions-legales", "Mentions légales"),
    "Données personnelles": ("/donnees-personnelles", "Données personnelles"),
    "Gestion des cookies": ("/cookies", "Gestion des cookies"),
    "Données ouvertes": ("/donnees-ouvertes", "Données ouvertes"),
    "Aide": ("/aide", "Aide"),
    "Contact": ("/contact", "Contact"),
}
WIDTHS = {"desktop": 1280, "phone": 375}


@pytest.mark.parametrize("device", WIDTHS)
def test_each_footer_link_opens_its_page(live_server: str, page: Page, device: str) -> None:
    page.set_viewport_size({"width": WIDTHS[device], "height": 900})
    for link, (path, title) in PAGES.items():
        page.goto(live_server + "/catalogue")
        footer = page.get_by_role("contentinfo")
        footer.get_by_role("link", name=link, exact=True).click()

        expect(page).to_have_url(live_server + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= WIDTHS[device], f"{path} scrolls sideways at {WIDTHS[device]} px"
        screenshot(page, f"site{path.replace('/', '-')}-{device}")


def test_the_help_opens_an_answer(live_server: str, page: Page) -> None:
    page.goto(live_server + "/aide")
    question = page.get_by_role("button", name="Puis-je annuler un achat ?")
    answer = page.get_by_text("pendant 14 jours après la commande")

    expect(answer).to_be_hidden()
    question.click()

    expect(question).to_have_attribute("aria-expanded", "true")
    expect(answer).to_be_visible()


def test_a_teacher_keeps_only_what_the_cookies_page_lists(live_server: str, page: Page) -> None:
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse électronique").fill("camille.enseignante@ac-paris.fr")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(live_server + "/mon-compte")
    page.goto(live_server + "/catalogue")
    page.goto(live_server + "/plan-du-site")
    screenshot(page, "site-plan-du-site-teacher")

    page.goto(live_server + "/cookies")
    listed = page.locator("#cookies tbody th").all_inner_texts()
    cookies = {cookie["name"] for cookie in page.context.cookies()}
    stored = set(page.evaluate("Object.keys(window.localStorage)"))

    assert cookies
    assert cookies <= set(listed)
    assert stored <= set(LOCAL_STORAGE_KEYS)
