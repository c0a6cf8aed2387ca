"""The catalogue's whole path in a real browser: a vendor submits a product, the
commission labels it, a teacher finds it by searching."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

TITLE = "Tangram géométrique"


def login(page: Page, base: str, email: str) -> None:
    page.goto(base + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def logout(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()


def test_vendor_submits_reviewer_approves_teacher_finds(live_server: str, page: Page) -> None:
    login(page, live_server, "vendor@demo.test")
    page.get_by_role("link", name="Nouveau produit").click()
    # The demo vendor's declaration starts from its own previous one, and says so.
    expect(page.get_by_text("Prérempli à partir de la déclaration de")).to_be_visible()
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Résumé en une phrase").fill("Des puzzles de tangram pour la géométrie.")
    page.get_by_label("Description").fill(
        "Les élèves reproduisent des figures avec les sept pièces du tangram et nomment les "
        "polygones qu'ils assemblent."
    )
    page.get_by_label("Mathématiques").check(force=True)
    page.get_by_label("Cycle 3 — consolidation").check(force=True)
    page.get_by_label("Type de ressource").select_option(label="Jeu sérieux")
    page.get_by_label("Adresse d’accès à la ressource").fill("https://tangram.example/jeu")
    page.locator("#plans-teacher-offered").check(force=True)
    page.locator("#plans-teacher-price").fill("24,90")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)

    page.get_by_role("link", name="Vérifier").click()  # the checks, nothing submitted
    expect(page.get_by_text("Rien ne bloque la soumission")).to_be_visible()
    page.get_by_role("link", name="Aller à la page du produit pour le soumettre").click()
    page.get_by_role("button", name="Soumettre à la commission").click()
    expect(page.get_by_text("Votre produit est soumis à la commission.")).to_be_visible()
    logout(page)

    login(page, live_server, "reviewer@demo.test")
    page.get_by_role("link", name=TITLE).click()
    for checkbox in page.locator("input[name^='criterion_']").all():
        checkbox.check(force=True)
    page.get_by_label("Label accordé").check(force=True)
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.get_by_text("Décision enregistrée.")).to_be_visible()
    logout(page)

    login(page, live_server, "camille.enseignante@ac-paris.fr")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Catalogue"
    ).click()
    page.get_by_label("Rechercher une ressource").fill("tangrams geometriques")
    page.get_by_role("button", name="Rechercher").first.click()
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_text("Labellisé jusqu’au")).to_be_visible()
    assert screenshot(page, "teacher-finds-product").stat().st_size > 0
