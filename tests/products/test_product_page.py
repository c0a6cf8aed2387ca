"""The product page teachers read: what the resource is for (disciplines, levels, type),
its screenshots, its offers listed once, what happens to the data, and how to buy
(signed in as a teacher) or to sign in first (a visitor)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.accounts.models import Role
from app.core import dates
from app.extensions import db
from app.products import services
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from app.vendors.models import Vendor
from app.vetting import services as vetting
from app.vetting.models import Decision
from catalog import conduct, privacy
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.products.test_product_form import image


@pytest.fixture
def product(session: object) -> Product:
    vendor: Vendor = factories.VendorFactory(legal_name="Éditions du Préau")
    declaration = conduct.sample_declaration()
    declaration["pupil_data"] = ["pseudonym", "class_level", "voice_image"]
    return factories.product(
        vendor,
        title="Tangram",
        disciplines=["mathematiques", "arts_plastiques"],
        levels=["cycle_4", "cycle_3"],
        resource_type="jeu_serieux",
        label_expires_on=dates.today() + timedelta(days=300),
        plans=[
            PlanDraft(PlanKind.TEACHER, 30_00, 2000),
            PlanDraft(PlanKind.CLASS, 120_00, 2000, 30),
        ],
        declaration=declaration,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


def url(product: Product) -> str:
    return f"/catalogue/{product.id}"


def text_of(response: Any) -> str:
    """The page's words, tags removed."""
    return flat(re.sub(r"<[^>]+>", " ", page_text(response)))


def test_the_page_names_disciplines_levels_and_type_in_the_vocabularies_order(
    client: FlaskClient, product: Product
) -> None:
    page = flat(page_text(client.get(url(product))))

    terms = page.split('<dl class="cr-terms">')[1].split("</dl>")[0]
    words = flat(re.sub(r"<[^>]+>", " ", terms))
    assert words == (
        "Disciplines Mathématiques Arts plastiques "
        "Niveaux Cycle 3 — consolidation Cycle 4 — approfondissements "
        "Type de ressource Jeu sérieux"
    )
    assert '<p class="fr-tag fr-tag--sm">Jeu sérieux</p>' in terms


def test_a_visitor_sees_each_offer_once_and_is_asked_to_sign_in_to_buy(
    client: FlaskClient, product: Product
) -> None:
    response = client.get(url(product))

    page = page_text(response)
    words = text_of(response)
    assert words.count("Licence enseignant — 30,00 € TTC") == 1
    assert words.count("Licence classe (jusqu’à 30 élèves) — 120,00 € TTC") == 1
    login = f'href="/connexion?next={url(product)}"'
    assert login in page
    assert "Se connecter pour acheter" in words
    assert "Ajouter au panier" not in words


def test_signing_in_from_the_product_page_comes_back_to_it(
    client: FlaskClient, auth: AuthActions, product: Product
) -> None:
    teacher = factories.teacher()
    db.session.flush()

    response = client.post(
        "/connexion",
        query_string={"next": url(product)},
        data={"email": teacher.email, "password": "password123"},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == url(product)


def test_a_teacher_chooses_among_the_offers_listed_once(
    client: FlaskClient, auth: AuthActions, product: Product
) -> None:
    auth.login(factories.teacher().email)

    response = client.get(url(product))

    words = text_of(response)
    assert words.count("Licence enseignant — 30,00 € TTC") == 1
    assert words.count("Licence classe (jusqu’à 30 élèves) — 120,00 € TTC") == 1
    assert "Choisir une offre" in words
    assert "Ajouter au panier" in words
    assert "Se connecter pour acheter" not in words


def test_a_signed_in_vendor_sees_the_offers_but_no_way_to_buy(
    client: FlaskClient, auth: AuthActions, product: Product
) -> None:
    auth.login(factories.vendor_member(product.vendor).email)

    words = text_of(client.get(url(product)))

    assert words.count("Licence enseignant — 30,00 € TTC") == 1
    assert "Ajouter au panier" not in words
    assert "Se connecter pour acheter" not in words


def test_data_categories_that_hold_et_or_ou_are_listed_one_per_line(
    client: FlaskClient, product: Product
) -> None:
    page = flat(page_text(client.get(url(product))))

    assert "classe et niveau et voix ou image" not in page
    assert (
        "Données des élèves utilisées :<ul><li>identifiant pseudonyme fourni par le GAR</li>"
        "<li>classe et niveau</li><li>voix ou image</li></ul>"
    ) in page.replace("> <", "><")


def test_the_summary_joins_its_lists_in_french() -> None:
    declaration = conduct.sample_declaration()
    declaration["pupil_data"] = ["class_level", "voice_image"]
    declaration["hosting"] = [
        {"provider": "OVHcloud", "country": "FR"},
        {"provider": "Scaleway", "country": "FR"},
    ]
    declaration["advertising"] = declaration["data_sale"] = False
    declaration["pupil_profiling"] = False
    sentences = privacy.plain_summary(conduct.Declaration.from_dict(declaration))

    pupil = next(s for s in sentences if s.lead == "Données des élèves utilisées :")
    assert pupil.items == ("classe et niveau", "voix ou image")
    assert "Les données sont hébergées chez OVHcloud (FR) et Scaleway (FR)." in sentences
    assert (
        "L’éditeur s’engage : aucune publicité, aucune revente des données "
        "et aucun profilage des élèves."
    ) in sentences


def test_the_screenshots_of_the_listed_version_are_shown_with_their_text(
    client: FlaskClient, product: Product
) -> None:
    vendor_user = factories.vendor_member(product.vendor)
    draft = services.new_version(vendor_user, product)
    services.add_screenshot(vendor_user, draft, image("PNG"), "Un tangram à compléter", 2**20)
    # The draft is not on sale: its screenshot waits for its approval.
    assert "Un tangram à compléter" not in page_text(client.get(url(product)))

    assert vetting.submit(None, draft).accepted
    all_met = {criterion.code: True for criterion in conduct.label_criteria()}
    vetting.decide(
        factories.with_role(Role.REVIEWER), draft, Decision.APPROVE, comment="", criteria=all_met
    )

    page = page_text(client.get(url(product)))
    assert "<h2>Aperçu</h2>" in page
    assert 'alt="Un tangram à compléter"' in page
