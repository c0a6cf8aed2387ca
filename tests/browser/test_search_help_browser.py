"""The catalogue's search helps in a real browser: suggestions fill the search field's
datalist as one types, a misspelt word is offered its correction, at 1280 and 375 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 375])
def test_suggestions_as_one_types_then_search(live_server: str, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/catalogue")
    field = page.get_by_label("Rechercher une ressource")
    field.press_sequentially("fractio", delay=40)

    options = page.locator("#q-suggestions option")
    expect(options.first).to_be_attached()
    labels = options.evaluate_all("options => options.map(o => [o.value, o.label])")
    assert ["Les Fractions en images", "Ressource"] in labels
    assert all(kind in ("Discipline", "Ressource", "Éditeur") for _, kind in labels)
    assert len(labels) <= 8
    screenshot(page, f"search-suggestions-{width}")

    field.fill("Les Fractions en images")  # what choosing the suggestion writes
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"/catalogue\?q=Les\+Fractions\+en\+images&"))
    expect(page.get_by_role("link", name="Les Fractions en images")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("trouvée")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_misspelt_word_is_offered_its_correction(
    live_server: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/catalogue?q=fracsions&tri=prix")
    expect(page.get_by_role("status")).to_contain_text("Aucune ressource ne correspond")
    correction = page.get_by_role("link", name="« fractions »")
    expect(correction).to_be_visible()
    screenshot(page, f"search-did-you-mean-{width}")

    correction.click()
    expect(page).to_have_url(f"{live_server}/catalogue?tri=prix&q=fractions")  # sort kept
    expect(page.get_by_role("link", name="Les Fractions en images")).to_be_visible()
    expect(page.get_by_text("Vouliez-vous dire")).to_have_count(0)
