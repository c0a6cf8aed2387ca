"""The catalogue's filters as a teacher on a phone meets them: prices typed wrong said so
(the bound ignored, the rest applied), the filters in force as tags that each remove
one, « Tout effacer », the count above the results, and cards that show the logo, the
label, the disciplines and levels and the lowest price."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from lxml import html as lxml_html

from app.extensions import db
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from app.vendors.models import Vendor
from tests import factories
from tests.products.helpers import result_titles


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions du Préau")


def on_sale(vendor: Vendor, title: str, euros: int = 30, **overrides: Any) -> Product:
    fields: dict[str, Any] = {
        "summary": "Une ressource pour la classe.",
        "description": "Une ressource numérique pour travailler en classe avec les élèves.",
        "disciplines": ["francais"],
        "plans": [PlanDraft(PlanKind.TEACHER, euros * 100, 2000)],
    }
    fields.update(overrides)
    return factories.product(vendor, title=title, **fields)


def document(client: FlaskClient, query: dict[str, Any]) -> Any:
    response = client.get("/catalogue", query_string=query)
    assert response.status_code == 200
    return lxml_html.fromstring(response.get_data(as_text=True))


def has(name: str) -> str:
    """An XPath test: the element has the class `name`."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def text_of(element: Any) -> str:
    return " ".join(element.text_content().split())


def field_error(page: Any, name: str) -> str | None:
    """The error shown on a price field (tied to it by aria-describedby), or None."""
    field = page.get_element_by_id(name)
    group = field.getparent()
    described = field.get("aria-describedby")
    if described is None:
        assert "fr-input-group--error" not in group.get("class")
        return None
    assert "fr-input-group--error" in group.get("class")
    assert "fr-input--error" in field.get("class")
    return text_of(page.get_element_by_id(described))


def warnings(page: Any) -> list[str]:
    return [text_of(p) for p in page.xpath(f"//*[{has('fr-alert--warning')}]//p")]


def titles(page: Any) -> list[str]:
    return [text_of(a) for a in page.xpath(f"//*[{has('fr-card__title')}]/a")]


def tags(page: Any) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """The tags of the filters in force: label → (accessible label, query of its link)."""
    found = {}
    for tag in page.xpath(f"//a[{has('fr-tag')}]"):
        href = urlsplit(tag.get("href"))
        assert href.path == "/catalogue"
        found[text_of(tag)] = (tag.get("aria-label"), parse_qs(href.query))
    return found


# --- prices -----------------------------------------------------------------------------------


@pytest.fixture
def priced(vendor: Vendor) -> None:
    on_sale(vendor, "À 10 €", 10)
    on_sale(vendor, "À 30 €", 30)
    on_sale(vendor, "À 60 €", 60)


@pytest.mark.usefixtures("priced")
def test_a_price_that_is_not_an_amount_is_said_and_ignored(client: FlaskClient) -> None:
    page = document(client, {"prix_min": "abc", "prix_max": "40"})

    message = (
        "Prix minimum ignoré : « abc » n’est pas un montant en euros (par exemple 15 ou 12,50)."
    )
    assert field_error(page, "prix_min") == message
    assert field_error(page, "prix_max") is None
    assert warnings(page) == [message]  # above the results too: on a phone the field is hidden
    assert page.get_element_by_id("prix_min").get("value") == "abc"  # kept, to be corrected
    assert sorted(titles(page)) == ["À 10 €", "À 30 €"]  # the maximum still applies
    assert list(tags(page)) == ["40,00 € maximum"]


@pytest.mark.usefixtures("priced")
def test_a_maximum_under_the_minimum_is_said_and_ignored(client: FlaskClient) -> None:
    page = document(client, {"prix_min": "20", "prix_max": "15,5"})

    message = "Prix maximum ignoré : il est inférieur au prix minimum (20,00 €)."
    assert field_error(page, "prix_max") == message
    assert field_error(page, "prix_min") is None
    assert warnings(page) == [message]
    assert sorted(titles(page)) == ["À 30 €", "À 60 €"]  # the minimum still applies
    assert list(tags(page)) == ["20,00 € minimum"]


@pytest.mark.usefixtures("priced")
@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("-5", "un prix ne peut pas être négatif."),
        ("12,345", "« 12,345 » n’est pas un montant en euros (par exemple 15 ou 12,50)."),
        ("1e3", "« 1e3 » n’est pas un montant en euros (par exemple 15 ou 12,50)."),
    ],
)
def test_other_wrong_prices(client: FlaskClient, typed: str, reason: str) -> None:
    page = document(client, {"prix_max": typed})

    assert field_error(page, "prix_max") == f"Prix maximum ignoré : {reason}"
    assert len(titles(page)) == 3


@pytest.mark.usefixtures("priced")
def test_right_prices_say_nothing(client: FlaskClient) -> None:
    page = document(client, {"prix_min": " 10 ", "prix_max": "30,00 €"})

    assert field_error(page, "prix_min") is None
    assert field_error(page, "prix_max") is None
    assert warnings(page) == []
    assert sorted(titles(page)) == ["À 10 €", "À 30 €"]


# --- the filters in force ---------------------------------------------------------------------


def test_each_filter_is_a_tag_whose_link_removes_it(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Cible", disciplines=["mathematiques"], levels=["cycle_3"])
    query = {
        "q": "cible",
        "discipline": ["mathematiques", "francais"],
        "niveau": "cycle_3",
        "offre": "teacher",
        "prix_min": "5",
        "tri": "prix",
        "page": "1",
    }

    page = document(client, query)

    found = tags(page)
    assert list(found) == [  # in the order of the form
        "Cycle 3 — consolidation",
        "Français",
        "Mathématiques",
        "Licence enseignant",
        "5,00 € minimum",
    ]
    label, maths_removed = found["Mathématiques"]
    assert label == "Retirer le filtre Mathématiques"
    assert maths_removed == {
        "q": ["cible"],
        "niveau": ["cycle_3"],
        "discipline": ["francais"],
        "offre": ["teacher"],
        "prix_min": ["5"],
        "tri": ["prix"],
    }
    assert "prix_min" not in found["5,00 € minimum"][1]
    assert "niveau" not in found["Cycle 3 — consolidation"][1]
    assert found["Licence enseignant"][0] == "Retirer le filtre Licence enseignant"
    # « Tout effacer » keeps what was searched and the order, drops every filter.
    (clear,) = [a for a in page.xpath("//a") if text_of(a) == "Tout effacer"]
    assert clear.get("href") == "/catalogue?q=cible&tri=prix"
    # The button that opens the filters on a phone counts them.
    (button,) = page.xpath("//button[@aria-controls='filtres'][@data-fr-opened]")
    assert text_of(button) == "Filtrer (5 filtres actifs)"


def test_following_a_tag_removes_its_filter(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Maths", disciplines=["mathematiques"])
    on_sale(vendor, "Français", disciplines=["francais"])
    page = document(client, {"discipline": "mathematiques"})
    assert titles(page) == ["Maths"]

    _, query = tags(page)["Mathématiques"]
    after = document(client, query)

    assert sorted(titles(after)) == ["Français", "Maths"]
    assert tags(after) == {}
    assert (
        after.xpath(f"//*[{has('cr-active-filters')}]") == []
    )  # no « Tout effacer » with nothing to clear
    (button,) = after.xpath("//button[@aria-controls='filtres'][@data-fr-opened]")
    assert text_of(button) == "Filtrer"


def test_unknown_codes_are_neither_applied_nor_shown(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Lecture suivie")

    page = document(client, {"discipline": "astrologie", "niveau": "<b>", "offre": "x"})

    assert titles(page) == ["Lecture suivie"]
    assert tags(page) == {}


# --- the page ---------------------------------------------------------------------------------


def test_the_count_comes_before_the_results_and_no_id_is_repeated(
    client: FlaskClient, vendor: Vendor
) -> None:
    for n in range(3):
        on_sale(vendor, f"Atelier {n}", disciplines=["mathematiques"])

    response = client.get("/catalogue?discipline=mathematiques")
    body = response.get_data(as_text=True)

    assert len(result_titles(response)) == 3
    assert body.index("3 ressources") < body.index("fr-card__title")
    page = lxml_html.fromstring(body)
    ids = [element.get("id") for element in page.iter() if element.get("id")]
    assert len(ids) == len(set(ids))
    # One form: the filters and the search are submitted together.
    assert len(page.xpath("//form[@role='search']")) == 1
    (form,) = page.xpath("//form[@role='search']")
    assert form.xpath(f".//*[@id='filtres'][{has('fr-modal')}]//*[@id='discipline-mathematiques']")
    assert form.xpath(".//*[@id='q']")
    # The long lists are folded, unless something is chosen in them.
    (disciplines,) = page.xpath("//button[@aria-controls='discipline-choix']")
    assert (text_of(disciplines), disciplines.get("aria-expanded")) == ("Discipline (1)", "true")
    (types,) = page.xpath("//button[@aria-controls='type-choix']")
    assert (text_of(types), types.get("aria-expanded")) == ("Type de ressource", "false")


def test_a_card_shows_logo_label_vendor_tags_and_price(client: FlaskClient, vendor: Vendor) -> None:
    with_logo = on_sale(
        vendor,
        "Fractions en jeu",
        12,
        disciplines=["mathematiques", "francais"],
        levels=["cycle_3", "cycle_2"],
    )
    with_logo.latest.logo_key = "logos/abc.png"
    db.session.flush()
    on_sale(factories.VendorFactory(legal_name="Autre Maison"), "Sans logo", 40)

    page = document(client, {"tri": "prix"})

    first, second = page.xpath(f"//*[{has('fr-card')}]")
    assert text_of(first.xpath(f".//*[{has('fr-card__title')}]")[0]) == "Fractions en jeu"
    (logo,) = first.xpath(f".//*[{has('fr-card__img')}]//img")
    assert (logo.get("src"), logo.get("alt")) == ("/fichiers/logos/abc.png", "")
    (placeholder,) = second.xpath(f".//*[{has('fr-card__img')}]//img")
    assert (placeholder.get("src"), placeholder.get("alt")) == ("/static/img/ressource.svg", "")
    assert [
        text_of(b) for b in first.xpath(f".//*[{has('fr-card__start')}]//*[{has('fr-badge')}]")
    ] == ["Labellisé"]
    assert (
        text_of(first.xpath(f".//*[{has('fr-card__start')}]//*[{has('fr-card__detail')}]")[0])
        == "Éditions du Préau"
    )
    # Levels then disciplines, in the vocabulary's order; plain tags (the card is the link).
    assert [
        text_of(t) for t in first.xpath(f".//*[{has('fr-tags-group')}]//*[{has('fr-tag')}]")
    ] == [
        "Cycle 2 — apprentissages fondamentaux",
        "Cycle 3 — consolidation",
        "Français",
        "Mathématiques",
    ]
    assert (
        first.xpath(
            f".//*[{has('fr-card__content')}]//*[self::button or (self::a and {has('fr-tag')})]"
        )
        == []
    )
    assert "À partir de 12,00 €" in text_of(first)
    assert "À partir de 40,00 €" in text_of(second)
    assert (
        first.xpath(f".//*[{has('fr-card__title')}]//*[{has('fr-badge')}]") == []
    )  # the badge is not in the heading
