"""The storefront: search (accents and plurals ignored), filters, sorting, pages, and only
purchasable products. Passes on PostgreSQL (full-text search) and SQLite (LIKE fallback)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from babel.dates import format_date
from flask.testing import FlaskClient

from app.core import dates
from app.extensions import db
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from app.vendors.models import Vendor, VendorStatus
from catalog import conduct, privacy
from tests import factories
from tests.helpers import page_text
from tests.products.helpers import on_sale, result_titles

TODAY = dates.today()


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions du Préau")


def plans(*offers: tuple[PlanKind, int]) -> list[PlanDraft]:
    return [
        PlanDraft(kind, cents, 2000, 30 if kind is PlanKind.CLASS else None)
        for kind, cents in offers
    ]


def flat(text: str) -> str:
    """Whitespace (no-break spaces included) collapsed, to compare what a reader sees."""
    return " ".join(text.split())


# --- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["mathematiques", "Mathématiques", "MATHEMATIQUES"])
def test_search_ignores_accents_and_case(client: FlaskClient, vendor: Vendor, query: str) -> None:
    on_sale(vendor, "Mathématiques en chansons", disciplines=["education_musicale"])
    on_sale(vendor, "Lecture suivie")

    assert result_titles(client.get("/catalogue", query_string={"q": query})) == [
        "Mathématiques en chansons"
    ]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("fractions", "La fraction au quotidien"),
        ("fraction", "Les fractions en jeu"),
    ],
)
def test_search_finds_the_singular_and_the_plural(
    client: FlaskClient, vendor: Vendor, query: str, found: str
) -> None:
    on_sale(
        vendor,
        "La fraction au quotidien",
        summary="Une fraction par jour.",
        description="Les élèves découvrent la fraction avec des bandes de papier.",
    )
    on_sale(
        vendor,
        "Les fractions en jeu",
        summary="Des fractions partout.",
        description="Les élèves comparent des fractions avec des disques colorés.",
    )
    on_sale(vendor, "Lecture suivie")

    assert found in result_titles(client.get("/catalogue", query_string={"q": query}))
    assert "Lecture suivie" not in result_titles(
        client.get("/catalogue", query_string={"q": query})
    )


def test_a_plural_in_x_finds_the_singular(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Un jeu pour compter", description="Les élèves comptent avec un jeu de cartes.")
    on_sale(vendor, "Lecture suivie")

    assert result_titles(client.get("/catalogue", query_string={"q": "jeux"})) == [
        "Un jeu pour compter"
    ]


def test_every_word_of_the_query_must_match(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Fractions en musique", disciplines=["education_musicale"])
    on_sale(vendor, "Fractions en classe")

    response = client.get("/catalogue", query_string={"q": "fractions musique"})

    assert result_titles(response) == ["Fractions en musique"]


def test_search_also_reads_the_vendor_and_the_vocabulary(
    client: FlaskClient, vendor: Vendor
) -> None:
    on_sale(vendor, "Lecture suivie", disciplines=["histoire_geographie"])
    on_sale(factories.VendorFactory(legal_name="Autre Maison"), "Autre chose")

    assert result_titles(client.get("/catalogue?q=preau")) == ["Lecture suivie"]
    assert result_titles(client.get("/catalogue?q=geographie")) == ["Lecture suivie"]


def test_no_result_says_so(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Lecture suivie")

    response = client.get("/catalogue?q=astronomie")

    assert response.status_code == 200
    assert result_titles(response) == []
    assert "Aucune ressource ne correspond" in page_text(response)


# --- filters, sorting, pages ------------------------------------------------------------------


def test_filters_combine(client: FlaskClient, vendor: Vendor) -> None:
    maths, cycle_3 = ["mathematiques"], ["cycle_3"]
    class_at_40 = plans((PlanKind.TEACHER, 10_00), (PlanKind.CLASS, 40_00))
    on_sale(vendor, "Cible", disciplines=maths, levels=cycle_3, plans=class_at_40)
    on_sale(vendor, "Autre discipline", disciplines=["francais"], levels=cycle_3, plans=class_at_40)
    on_sale(vendor, "Autre niveau", disciplines=maths, levels=["cycle_4"], plans=class_at_40)
    on_sale(
        vendor,
        "Pas d'offre classe",
        disciplines=maths,
        levels=cycle_3,
        plans=plans((PlanKind.TEACHER, 40_00)),
    )
    on_sale(
        vendor,
        "Classe trop chère",
        disciplines=maths,
        levels=cycle_3,
        plans=plans((PlanKind.TEACHER, 30_00), (PlanKind.CLASS, 90_00)),
    )
    filters = {
        "discipline": "mathematiques",
        "niveau": "cycle_3",
        "offre": "class",
        "prix_min": "20",
        "prix_max": "50,00",
    }

    response = client.get("/catalogue", query_string=filters)

    assert result_titles(response) == ["Cible"]
    assert "1 ressource" in page_text(response)
    both = client.get("/catalogue", query_string={"discipline": ["mathematiques", "francais"]})
    assert len(result_titles(both)) == 5
    by_price = client.get("/catalogue", query_string={"offre": "teacher", "prix_max": "10"})
    assert sorted(result_titles(by_price)) == ["Autre discipline", "Autre niveau", "Cible"]


def test_resource_type_filter(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Un jeu", resource_type="jeu_serieux")
    on_sale(vendor, "Des vidéos", resource_type="videos_animations")

    assert result_titles(client.get("/catalogue?type=jeu_serieux")) == ["Un jeu"]


def test_sort_by_price_and_by_novelty(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Moyen", plans=plans((PlanKind.TEACHER, 20_00)))
    on_sale(vendor, "Cher", plans=plans((PlanKind.TEACHER, 30_00)))
    on_sale(vendor, "Bon marché", plans=plans((PlanKind.SCHOOL, 90_00), (PlanKind.TEACHER, 5_00)))

    assert result_titles(client.get("/catalogue?tri=prix")) == ["Bon marché", "Moyen", "Cher"]
    assert result_titles(client.get("/catalogue?tri=recent")) == ["Bon marché", "Cher", "Moyen"]


def test_results_come_twenty_to_a_page_and_the_links_keep_the_filters(
    client: FlaskClient, vendor: Vendor
) -> None:
    for n in range(23):
        on_sale(vendor, f"Atelier {n:02d}")
    on_sale(vendor, "Lecture suivie")

    first = client.get("/catalogue?q=atelier")
    assert "23 ressources" in page_text(first)
    assert len(result_titles(first)) == 20
    next_link = page_text(first).split("fr-pagination__link--next", 1)[1].split('href="', 1)[1]
    second = client.get(next_link.split('"', 1)[0])
    assert len(result_titles(second)) == 3
    shown = result_titles(first) + result_titles(second)
    assert sorted(shown) == [f"Atelier {n:02d}" for n in range(23)]
    assert result_titles(client.get("/catalogue?q=atelier&page=99")) == result_titles(second)


# --- only purchasable products ----------------------------------------------------------------


def expire_label(product: Product) -> None:
    product.latest.label_expires_on = TODAY - timedelta(days=1)
    db.session.flush()


def suspend_vendor(product: Product) -> None:
    product.vendor.status = VendorStatus.SUSPENDED
    db.session.flush()


@pytest.mark.parametrize(
    ("state", "then"),
    [
        ("draft", None),
        ("in_review", None),
        ("changes_requested", None),
        ("rejected", None),
        ("approved", expire_label),
        ("approved", suspend_vendor),
    ],
    ids=["draft", "in-review", "changes-requested", "rejected", "label-expired", "suspended"],
)
def test_only_purchasable_products_are_shown(
    client: FlaskClient, vendor: Vendor, state: str, then: Any
) -> None:
    on_sale(vendor, "Lecture suivie")
    hidden = on_sale(factories.VendorFactory(), "Lecture cachée", state=state)
    if then is not None:
        then(hidden)

    assert result_titles(client.get("/catalogue")) == ["Lecture suivie"]
    assert result_titles(client.get("/catalogue?q=lecture")) == ["Lecture suivie"]
    assert client.get(f"/catalogue/{hidden.id}").status_code == 404


def test_a_label_expiring_today_is_still_on_sale(client: FlaskClient, vendor: Vendor) -> None:
    product = on_sale(vendor, "Lecture suivie")
    product.latest.label_expires_on = TODAY
    db.session.flush()

    assert result_titles(client.get("/catalogue")) == ["Lecture suivie"]
    assert client.get(f"/catalogue/{product.id}").status_code == 200


def test_an_unknown_product_is_404(client: FlaskClient) -> None:
    assert client.get("/catalogue/999999").status_code == 404


# --- the product page -------------------------------------------------------------------------


def test_the_product_page_shows_label_plans_vendor_and_data_summary(
    client: FlaskClient, vendor: Vendor
) -> None:
    expires = TODAY + timedelta(days=400)
    product = on_sale(
        vendor,
        "Lecture suivie",
        label_expires_on=expires,
        plans=plans((PlanKind.TEACHER, 30_00), (PlanKind.CLASS, 120_00)),
    )

    response = client.get(f"/catalogue/{product.id}")

    assert response.status_code == 200
    text = flat(page_text(response))
    assert f"Labellisé jusqu’au {format_date(expires, 'long', locale='fr')}" in text
    assert "Licence enseignant — 30,00 € TTC" in text
    assert "Licence classe (jusqu’à 30 élèves) — 120,00 € TTC" in text
    assert "Éditeur : Éditions du Préau" in text
    declaration = conduct.Declaration.from_dict(conduct.sample_declaration())
    sentences = privacy.plain_summary(declaration)
    assert "Les données sont hébergées chez OVHcloud (FR)." in sentences
    for sentence in sentences:
        if sentence.items:  # data categories: one per line
            assert flat(sentence.lead) in text
            for item in sentence.items:
                assert f"<li>{item}</li>" in text
        else:
            assert flat(sentence) in text
