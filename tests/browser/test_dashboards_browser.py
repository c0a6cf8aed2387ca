"""The dashboards in a real browser, at 1280 and 375 px: the demo's figures from the
first visit (the seed sums them), the period chosen with the form, the spending in tabs,
the academy's dashboard in about two screens, nothing wider than a phone."""

from __future__ import annotations

from datetime import date

import pytest
from babel.dates import format_date
from playwright.sync_api import Page, expect

from app.demo import DEMO_COLLEAGUE_BUYERS
from tests.browser.conftest import screenshot, settle
from tests.browser.test_catalogue_browser import login

pytestmark = pytest.mark.browser

WIDTHS = pytest.mark.parametrize("width", [1280, 375])


def height(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def assert_fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@WIDTHS
def test_the_academy_dashboard_chooses_its_period_with_the_form(
    live_server: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    login(page, live_server, "academy@demo.test")
    page.goto(f"{live_server}/academies/01/tableau-de-bord")

    expect(page.get_by_text("calcul en cours")).to_have_count(0)
    buyers = f"Enseignants ayant acheté au moins une fois : {1 + DEMO_COLLEAGUE_BUYERS} sur"
    expect(page.get_by_text(buyers)).to_be_visible()
    # Until the DSFR has drawn its tabs, every panel is shown one under the other.
    page.locator(".fr-tabs[style*='--tabs-height']").first.wait_for()
    settle(page)
    if width == 1280:
        assert height(page) <= 1850  # about two 900 px screens (3 242 px before the tabs)
    assert_fits(page, width)
    screenshot(page, f"academy-dashboard-{width}")

    page.get_by_role("tab", name="Par éditeur").click()
    expect(page.get_by_role("cell", name="Éditions Lumière SAS")).to_be_visible()

    month = date.today().replace(day=1)  # noqa: DTZ011 - the demo's orders are dated so
    page.locator("label[for=periode-mois]").click()  # the DSFR draws the radio on its label
    page.locator("#mois").fill(f"{month:%Y-%m}")
    page.get_by_role("button", name="Afficher").click()
    label = format_date(month, "MMMM y", locale="fr")
    expect(page.get_by_role("heading", name=label.capitalize(), exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Rapport mensuel de {label} (PDF)")).to_be_visible()
    assert "periode=mois" in page.url
    assert f"mois={month:%Y-%m}" in page.url

    page.locator("label[for=periode-dates]").click()
    page.get_by_label("Du", exact=True).fill(f"{month:%Y-%m}-20")
    page.get_by_label("Au", exact=True).fill(f"{month:%Y-%m}-10")
    page.get_by_role("button", name="Afficher").click()
    expect(
        page.get_by_text("Date de fin : elle ne peut pas précéder la date de début.")
    ).to_be_visible()
    assert_fits(page, width)
    screenshot(page, f"academy-dashboard-refused-{width}")


@WIDTHS
def test_the_national_dashboard_and_the_fundings_say_what_restant_is(
    live_server: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    login(page, live_server, "admin@demo.test")
    for path, name in (("/admin/tableau-de-bord", "national"), ("/admin/academies", "fundings")):
        page.goto(live_server + path)
        expect(page.locator("#remaining-hint")).to_contain_text(
            "Restant : ce que l’académie a reçu"
        )
        expect(page.locator("#academy-01 [data-remaining]")).not_to_have_text("0,00 €")
        screenshot(page, f"{name}-{width}")
