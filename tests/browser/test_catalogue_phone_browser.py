"""The catalogue on a phone (375 px): the results come first, the filters open in a DSFR
modal, applying one shows its tag and the filtered results; on a computer (1280 px) the
filters stay beside the results. Over the demo catalogue."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect

from tests.browser.conftest import screenshot, settle

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
COMPUTER = {"width": 1280, "height": 800}


def box(locator: Locator) -> FloatRect:
    found = locator.bounding_box()
    assert found is not None, "not rendered"
    return found


def card_titles(page: Page) -> list[str]:
    return [title.strip() for title in page.locator(".fr-card__title").all_inner_texts()]


def test_on_a_phone_the_results_come_first_and_the_filters_open_in_a_modal(
    live_server: str, page: Page
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(live_server + "/catalogue")

    first_card = box(page.locator(".fr-card").first)
    assert first_card["y"] < PHONE["height"], "the first result is below the first screen"
    expect(page.locator("#filtres")).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^\d+ ressources trouvées$"))
    everything = card_titles(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
    screenshot(page, "catalogue-phone")

    page.get_by_role("button", name="Filtrer", exact=True).click()
    filters = page.get_by_role("dialog", name="Filtrer les ressources")
    expect(filters).to_be_visible()
    folded = filters.get_by_role("button", name="Discipline")
    folded.click()  # a long list, folded
    expect(folded).to_have_attribute("aria-expanded", "true")
    settle(page)
    filters.locator("label", has_text="Mathématiques").click()  # as a finger would
    expect(filters.get_by_label("Mathématiques")).to_be_checked()
    screenshot(page, "catalogue-phone-filters")
    filters.get_by_role("button", name="Appliquer les filtres").click()

    expect(page).to_have_url(re.compile(r"discipline=mathematiques"))
    tag = page.get_by_role("link", name="Retirer le filtre Mathématiques")
    expect(tag).to_be_visible()
    expect(tag).to_have_text("Mathématiques")
    # Read « Filtrer (1 filtre actif) »; Chromium puts a space around the hidden words.
    counted = page.get_by_role("button", name=re.compile(r"^Filtrer \(1 filtre actif ?\)$"))
    expect(counted).to_have_text("Filtrer (1 filtre actif)")
    filtered = card_titles(page)
    assert 0 < len(filtered) < len(everything)
    for card in page.locator(".fr-card").all():
        expect(card.locator(".fr-tag", has_text="Mathématiques")).to_have_count(1)
    assert box(page.locator(".fr-card").first)["y"] < PHONE["height"]
    screenshot(page, "catalogue-phone-filtered")
    counted.click()  # the filters again: the chosen discipline is unfolded
    expect(filters.get_by_role("button", name="Discipline (1)")).to_have_attribute(
        "aria-expanded", "true"
    )
    expect(filters.get_by_label("Mathématiques")).to_be_checked()
    filters.get_by_role("button", name="Fermer", exact=True).click()
    expect(filters).to_be_hidden()

    tag.click()
    expect(page.get_by_role("link", name="Retirer le filtre Mathématiques")).to_have_count(0)
    assert card_titles(page) == everything


def test_on_a_phone_a_wrong_price_is_said_above_the_results(live_server: str, page: Page) -> None:
    page.set_viewport_size(PHONE)
    page.goto(live_server + "/catalogue?prix_min=abc")

    alert = page.locator(".fr-alert", has_text="Prix minimum ignoré")
    expect(alert).to_be_in_viewport()
    page.get_by_role("button", name="Filtrer", exact=True).click()
    field = page.get_by_label("Prix minimum")
    expect(field).to_have_value("abc")
    expect(field).to_have_accessible_description(re.compile("n’est pas un montant en euros"))


def test_on_a_computer_the_filters_stay_beside_the_results(live_server: str, page: Page) -> None:
    page.set_viewport_size(COMPUTER)
    page.goto(live_server + "/catalogue")

    filters = page.locator("#filtres")
    expect(filters).to_be_visible()
    expect(page.get_by_role("button", name="Filtrer", exact=True)).to_be_hidden()
    expect(filters.get_by_role("button", name="Fermer", exact=True)).to_be_hidden()
    side, card = box(filters), box(page.locator(".fr-card").first)
    assert side["x"] + side["width"] <= card["x"], "the filters are not beside the results"
    assert side["y"] < card["y"] + card["height"], "the filters are not beside the results"
    screenshot(page, "catalogue-computer")

    page.locator("label", has_text="Cycle 4 — approfondissements").click()
    page.get_by_role("button", name="Appliquer les filtres").click()

    expect(
        page.get_by_role("link", name="Retirer le filtre Cycle 4 — approfondissements")
    ).to_be_visible()
    for each in page.locator(".fr-card").all():
        expect(each.locator(".fr-tag", has_text="Cycle 4")).to_have_count(1)
    page.get_by_role("link", name="Tout effacer").click()
    expect(page.locator("a.fr-tag")).to_have_count(0)
    expect(page.get_by_label("Cycle 4 — approfondissements")).not_to_be_checked()


def test_turning_the_phone_with_the_filters_open_leaves_the_page_scrollable(
    live_server: str, page: Page
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/catalogue")
    page.get_by_role("button", name="Filtrer", exact=True).click()
    expect(page.get_by_role("dialog", name="Filtrer les ressources")).to_be_visible()

    page.set_viewport_size({"width": 844, "height": 390})  # past md: the side column

    expect(page.locator("#filtres")).not_to_have_class(re.compile("fr-modal--opened"))
    page.mouse.wheel(0, 1500)
    page.wait_for_function("window.scrollY > 0")
