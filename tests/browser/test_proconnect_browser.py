"""In Chromium: the ProConnect button, the sign-in at the (local) provider, back on the
role's home; then the sign-out, whose form is redirected to the provider's sign-out page
(the Content-Security-Policy's form-action must name the provider: Chromium checks the
redirect after a form's POST)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.proconnect.conftest import CLIENT_ID, CLIENT_SECRET, Provider, provider  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def with_proconnect(committed: Flask, provider: Provider) -> Iterator[None]:  # noqa: F811
    committed.config.update(
        PROCONNECT_ISSUER=provider.issuer,
        PROCONNECT_CLIENT_ID=CLIENT_ID,
        PROCONNECT_CLIENT_SECRET=CLIENT_SECRET,
    )
    yield
    committed.config.update(
        PROCONNECT_ISSUER="", PROCONNECT_CLIENT_ID="", PROCONNECT_CLIENT_SECRET=""
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_an_academy_manager_signs_in_and_out_with_proconnect(
    committed: Flask,
    with_proconnect: None,
    provider: Provider,  # noqa: F811
    live_server: str,
    page: Page,
    width: int,
) -> None:
    committed.config["PUBLIC_URL"] = live_server
    try:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/connexion")
        screenshot(page, f"proconnect-login-{width}")
        page.get_by_role("link", name="S’identifier avec ProConnect").click()
        page.get_by_label("Alain Rectorat — academy@demo.test").check()
        page.get_by_role("button", name="Se connecter").click()
        expect(page).to_have_url(f"{live_server}/academies/01")
        screenshot(page, f"proconnect-home-{width}")

        if width < 992:  # the DSFR moves the header's buttons into the menu on phones
            page.get_by_role("button", name="Menu").click()
        page.get_by_role("button", name="Se déconnecter").click()
        expect(page).to_have_url(re.compile(re.escape(provider.issuer) + "/session/end"))
        page.get_by_role("button", name="Yes, sign me out").click()
        expect(page).to_have_url(re.compile(re.escape(live_server) + "/"))
        expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    finally:
        committed.config["PUBLIC_URL"] = "http://compte-ressources.test"
