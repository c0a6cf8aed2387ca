from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_demo_teacher_logs_in_and_sees_the_french_home(live_server: str, page: Page) -> None:
    page.goto(live_server + "/")
    page.get_by_role("link", name="Se connecter").first.click()
    page.get_by_label("Adresse électronique").fill("camille.enseignante@ac-paris.fr")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page).to_have_url(live_server + "/mon-compte")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte ressources")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("navigation", name="Menu principal")).to_contain_text(
        "Mon compte ressources"
    )
    assert screenshot(page, "teacher-home").stat().st_size > 0


def test_after_too_many_wrong_passwords_the_form_says_how_long_to_wait(
    live_server: str, page: Page
) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    for _attempt in range(6):  # the sixth failure is over the limit
        page.goto(live_server + "/connexion")
        page.get_by_label("Adresse électronique").fill("camille.enseignante@ac-paris.fr")
        page.get_by_label("Mot de passe", exact=True).fill("pas-le-bon")
        page.get_by_role("button", name="Se connecter").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Trop de tentatives en peu de temps. Réessayez dans 15 minutes.")
    expect(page.get_by_label("Adresse électronique")).to_have_value(
        "camille.enseignante@ac-paris.fr"
    )
    expect(page.get_by_role("link", name="Mot de passe oublié ?")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert screenshot(page, "login-throttled-phone").stat().st_size > 0
