"""The product page in a real browser, on a phone (375 px) and a desktop (1280 px): a
visitor reads the resource, its screenshots and its offers, signs in from the page and
comes back to it as a teacher, who chooses among the offers, listed once. Screenshots of
"Mes ressources" and "Mon compte" are taken on the way."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.core import storage
from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.products.models import ProductVersion, Screenshot
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

TEACHER = "camille.enseignante@ac-paris.fr"


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def listed_with_screenshots(app: Flask) -> tuple[int, str, int]:
    """A demo product on sale, its listed version given two screenshots (as an approved
    draft carries them); (product id, title, number of plans)."""
    with app.app_context():
        version = db.session.scalars(
            select(ProductVersion).where(ProductVersion.listed).order_by(ProductVersion.id).limit(1)
        ).one()
        for position, (alt, colour) in enumerate(
            [("L’écran d’accueil de la ressource", (0, 99, 203)), ("Un exercice", (225, 0, 15))],
            start=1,
        ):
            key = storage.save("screenshots", png(1200, 750, colour), "png")
            db.session.add(
                Screenshot(version_id=version.id, position=position, key=key, alt_text=alt)
            )
        db.session.commit()
        return version.product_id, version.title, len(version.plans)


def fits_the_width(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways: {scroll_width} px > {width} px"


@pytest.mark.parametrize("width", [375, 1280])
def test_a_visitor_signs_in_from_the_product_page_and_buys_as_a_teacher(
    live_server: str, committed: Flask, page: Page, width: int
) -> None:
    product_id, title, plan_count = listed_with_screenshots(committed)
    page.set_viewport_size({"width": width, "height": 800})

    page.goto(f"{live_server}/catalogue/{product_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("img", name="L’écran d’accueil de la ressource")).to_be_visible()
    expect(page.get_by_role("term").first).to_have_text(re.compile("^Disciplines?$"))
    expect(page.get_by_role("button", name="Ajouter au panier")).to_have_count(0)
    sign_in = page.get_by_role("link", name="Se connecter pour acheter")
    expect(sign_in).to_be_visible()
    fits_the_width(page, width)
    screenshot(page, f"product-visitor-{width}")

    sign_in.click()
    page.get_by_label("Adresse électronique").fill(TEACHER)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.wait_for_url(f"{live_server}/catalogue/{product_id}")
    offers = page.get_by_role("group", name="Choisir une offre").get_by_role("radio")
    expect(offers).to_have_count(plan_count)
    expect(page.locator("main li", has_text="TTC")).to_have_count(0)  # not listed again
    expect(page.get_by_role("link", name="Se connecter pour acheter")).to_have_count(0)
    fits_the_width(page, width)
    screenshot(page, f"product-teacher-{width}")
    expect(page.get_by_role("button", name="Ajouter au panier")).to_be_visible()

    page.goto(f"{live_server}/mes-ressources")
    fits_the_width(page, width)
    screenshot(page, f"my-resources-{width}")
    page.goto(f"{live_server}/mon-compte")
    expect(page.get_by_text("Ce crédit est à utiliser jusqu’au")).to_be_visible()
    fits_the_width(page, width)
    screenshot(page, f"my-account-{width}")
