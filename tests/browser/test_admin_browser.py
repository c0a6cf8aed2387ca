"""The operator's administration in a real browser, at 1280 px and 375 px: finding a
person and giving them a role, reading it in the audit log, a vendor's page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_catalogue_browser import login

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 375])
def test_admin_gives_a_role_and_reads_it_in_the_journal(
    live_server: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "admin@demo.test")

    page.goto(live_server + "/admin/utilisateurs")
    page.get_by_label("Nom ou adresse électronique").fill("RACHIDA")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("link", name="Rachida Commission")).to_be_visible()
    assert screenshot(page, f"admin-users-{width}").stat().st_size > 0

    page.get_by_role("link", name="Rachida Commission").click()
    page.get_by_label("Rôle", exact=True).select_option("academy_manager")
    page.get_by_role("button", name="Donner ce rôle").click()
    expect(page.get_by_text("Académie : choisissez l'académie.").first).to_be_visible()
    assert screenshot(page, f"admin-user-refused-{width}").stat().st_size > 0
    page.get_by_label("Rôle", exact=True).select_option("academy_manager")
    page.get_by_label("Académie", exact=True).select_option(label="Lyon")
    page.get_by_role("button", name="Donner ce rôle").click()
    expect(page.get_by_text("Rôle « Gestionnaire académique » donné à Rachida")).to_be_visible()
    assert screenshot(page, f"admin-user-{width}").stat().st_size > 0

    page.get_by_role("link", name="Tout le journal de ce compte").click()
    expect(page.get_by_role("cell", name="Rôle donné").first).to_be_visible()
    assert screenshot(page, f"admin-journal-{width}").stat().st_size > 0
    page.goto(live_server + "/admin/journal?du=2026-10-05&au=2026-10-01")
    expect(
        page.get_by_text("Au (inclus) : la date de fin doit être le 05/10/2026 ou après.")
    ).to_be_visible()
    assert screenshot(page, f"admin-journal-refused-{width}").stat().st_size > 0


@pytest.mark.parametrize("width", [1280, 375])
def test_admin_opens_a_vendor_from_the_list(live_server: str, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "admin@demo.test")
    page.goto(live_server + "/admin/editeurs")
    page.locator("table a[href^='/admin/editeurs/']").first.click()
    expect(page.get_by_role("heading", name="Historique du statut")).to_be_visible()
    expect(page.get_by_role("heading", name="Versements")).to_be_visible()
    assert screenshot(page, f"admin-vendor-{width}").stat().st_size > 0
