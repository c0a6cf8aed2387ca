"""The catalogue's search helps in a real browser: suggestions open under the search
field as one types, a misspelt word is offered its correction, at 1280 and 375 px."""

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

    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(suggestions).to_be_visible()
    expect(page.get_by_role("combobox", name="Rechercher une ressource")).to_have_attribute(
        "aria-expanded", "true"
    )
    options = suggestions.get_by_role("option")
    texts = options.all_inner_texts()
    assert any(re.fullmatch(r"Les Fractions en images\s+Ressource", text) for text in texts)
    assert all(re.search(r"(Discipline|Ressource|Éditeur)$", text) for text in texts)
    assert len(texts) <= 8
    expect(page.locator("#q-suggestions-status")).to_contain_text("suggestion")
    screenshot(page, f"search-suggestions-{width}")

    if width == 375:  # a tap on the suggestion searches it
        suggestions.get_by_role("option", name="Les Fractions en images (Ressource)").click()
    else:  # the arrows move through the suggestions, Enter searches the one chosen
        first = texts.index(next(t for t in texts if t.startswith("Les Fractions en images")))
        for _ in range(first + 1):
            field.press("ArrowDown")
        expect(options.nth(first)).to_have_attribute("aria-selected", "true")
        field.press("Enter")
    expect(page).to_have_url(re.compile(r"/catalogue\?q=Les\+Fractions\+en\+images&"))
    expect(page.get_by_role("link", name="Les Fractions en images")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("trouvée")


def test_a_word_typed_without_its_accents_is_still_suggested(live_server: str, page: Page) -> None:
    """Browsers filter a <datalist> again by the exact letters typed: the list is the app's
    own, so what the server found without accents is what the teacher sees."""
    page.goto(live_server + "/catalogue")
    field = page.get_by_label("Rechercher une ressource")
    field.press_sequentially("mathemat", delay=40)

    option = page.get_by_role("option", name="Mathématiques (Discipline)")
    expect(option).to_be_visible()
    field.press("Escape")  # closes the list, keeps what was typed
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_hidden()
    expect(field).to_have_value("mathemat")


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
