"""« Données ouvertes » in Chromium, over the demo (whose seed publishes once): reached from
the footer, every file downloadable, the package readable."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_the_open_data_page_offers_its_files(live_server: str, page: Page) -> None:
    page.goto(live_server + "/catalogue")
    page.get_by_role("contentinfo").get_by_role("link", name="Données ouvertes").click()

    expect(page).to_have_url(live_server + "/donnees-ouvertes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Données ouvertes")
    expect(page.locator("#generated")).to_contain_text("Fichiers générés le")
    screenshot(page, "opendata-desktop")
    for name in ("catalogue.csv", "catalogue.json", "depenses.csv", "depenses.json"):
        with page.expect_download() as download:
            page.get_by_role("link", name=f"Télécharger {name}").click()
        assert download.value.suggested_filename == name
        assert download.value.path().stat().st_size > 0
    columns = page.get_by_role("button", name="Les 12 colonnes de « Dépenses par académie")
    expect(page.get_by_role("cell", name="secret_statistique")).to_be_hidden()  # folded
    columns.click()
    expect(page.get_by_role("cell", name="secret_statistique")).to_be_visible()
    package = page.request.get(live_server + "/donnees-ouvertes/datapackage.json").json()
    assert [resource["path"] for resource in package["resources"]] == [
        "catalogue.csv",
        "catalogue.json",
        "depenses.csv",
        "depenses.json",
    ]
    api = page.request.get(live_server + "/api/v1/donnees-ouvertes/catalogue?per_page=2")
    assert api.ok
    assert json.loads(api.headers["x-pagination"])["page"] == 1
