"""A vendor adds a screenshot to a draft, with its alternative text, sees a refusal named
on its field, then removes the screenshot: on a phone (375 px) and a desktop (1280 px)."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.products import services
from app.products.models import Product, VersionStatus
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

VENDOR = "vendor@demo.test"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 750), (0, 99, 203)).save(buffer, format="PNG")
    return buffer.getvalue()


def a_draft(app: Flask) -> str:
    """The path of a draft of the demo vendor (a new version of one of its products)."""
    with app.app_context():
        member = db.session.scalars(select(User).where(User.email == VENDOR)).one()
        vendor_id = member.grants[0].vendor_id
        product = db.session.scalars(
            select(Product).where(Product.vendor_id == vendor_id).order_by(Product.id).limit(1)
        ).one()
        if product.latest.status is not VersionStatus.IN_REVIEW:
            services.new_version(member, product)
        db.session.commit()
        return f"/editeur/{vendor_id}/produits/{product.id}"


@pytest.mark.parametrize("width", [375, 1280])
def test_a_vendor_adds_and_removes_a_screenshot(
    live_server: str, committed: Flask, page: Page, width: int
) -> None:
    path = a_draft(committed)
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server}/connexion")
    page.get_by_label("Adresse électronique").fill(VENDOR)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(live_server + path)

    upload = page.get_by_label(re.compile("^Capture d’écran"))
    upload.set_input_files({"name": "ecran.png", "mimeType": "image/png", "buffer": png()})
    page.get_by_role("button", name="Ajouter la capture").click()
    # The alternative text is required, and the page says so on its field.
    expect(page.get_by_text("décrivez ce que montre la capture (obligatoire)")).to_be_visible()
    screenshot(page, f"screenshot-refused-{width}")

    page.get_by_label(re.compile("^Capture d’écran")).set_input_files(
        {"name": "ecran.png", "mimeType": "image/png", "buffer": png()}
    )
    page.get_by_label(re.compile("^Ce que montre la capture")).fill("L’écran d’accueil")
    page.get_by_role("button", name="Ajouter la capture").click()
    expect(page.get_by_text("Capture d’écran ajoutée.")).to_be_visible()
    expect(page.get_by_role("img", name="L’écran d’accueil")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    screenshot(page, f"screenshot-added-{width}")

    page.get_by_role("button", name="Supprimer la capture « L’écran d’accueil »").click()
    expect(page.get_by_text("Capture d’écran supprimée.")).to_be_visible()
    expect(page.get_by_role("img", name="L’écran d’accueil")).to_have_count(0)
