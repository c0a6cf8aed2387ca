"""The storefront's search table `product_search`: one narrow row per listed version, kept
in step when a version is listed, replaced or withdrawn; the matches capped; and the
statements each hot request sends. Passes on PostgreSQL and SQLite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.models import Role
from app.core import dates
from app.extensions import db
from app.products import services
from app.products.models import PlanKind, ProductSearch
from app.products.services import PlanDraft, StorefrontQuery
from app.vendors.models import Vendor
from app.vetting import services as vetting
from app.vetting.models import Decision
from tests import factories
from tests.helpers import count_statements
from tests.products.helpers import all_criteria_met, on_sale, result_titles

TODAY = dates.today()


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions du Préau")


def teacher_plan(cents: int) -> list[PlanDraft]:
    return [PlanDraft(PlanKind.TEACHER, cents, 2000)]


def search_rows() -> list[tuple[int, str, int | None, str]]:
    db.session.flush()
    query = select(
        ProductSearch.version_id,
        ProductSearch.title,
        ProductSearch.price_from_cents,
        ProductSearch.disciplines,
    ).order_by(ProductSearch.version_id)
    return [tuple(row) for row in db.session.execute(query)]  # type: ignore[misc]


# --- kept in step -------------------------------------------------------------------------------


def test_a_listed_version_has_its_row_and_a_draft_none(vendor: Vendor) -> None:
    listed = on_sale(vendor, "Lecture suivie", plans=teacher_plan(1200))
    factories.product(vendor, state="draft", title="Brouillon")
    factories.product(vendor, state="in_review", title="En examen")

    assert search_rows() == [(listed.latest.id, "Lecture suivie", 1200, " francais ")]


def test_a_new_version_approved_replaces_the_row_with_its_price_and_title(
    client: FlaskClient, vendor: Vendor
) -> None:
    product = on_sale(vendor, "Lecture suivie", plans=teacher_plan(1200))
    first = product.latest
    vendor_user = factories.vendor_member(vendor)
    draft = services.new_version(vendor_user, product)
    changed = replace(
        services.draft_of(draft), title="Lecture suivie, deuxième édition", plans=teacher_plan(900)
    )
    services.update_draft(vendor_user, draft, changed)
    assert search_rows() == [(first.id, "Lecture suivie", 1200, " francais ")]  # draft: no row

    assert vetting.submit(None, draft).accepted
    vetting.decide(
        factories.with_role(Role.REVIEWER), draft, Decision.APPROVE, criteria=all_criteria_met()
    )

    assert search_rows() == [(draft.id, "Lecture suivie, deuxième édition", 900, " francais ")]
    page = client.get("/catalogue?q=lecture")
    assert result_titles(page) == ["Lecture suivie, deuxième édition"]
    assert "9,00" in page.get_data(as_text=True)


def test_a_version_withdrawn_loses_its_row(client: FlaskClient, vendor: Vendor) -> None:
    product = on_sale(vendor, "Lecture suivie")
    product.latest.listed = False

    assert search_rows() == []
    assert result_titles(client.get("/catalogue")) == []


def test_a_label_that_ends_keeps_its_row_but_leaves_the_storefront(
    client: FlaskClient, vendor: Vendor
) -> None:
    """The end date is compared with today's at search time: nothing to update at midnight."""
    product = on_sale(vendor, "Lecture suivie", label_expires_on=TODAY + timedelta(days=1))
    assert result_titles(client.get("/catalogue?q=lecture")) == ["Lecture suivie"]

    later = StorefrontQuery(text="lecture")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "today", lambda: TODAY + timedelta(days=2))
        assert services.search(later).results == []
    assert [row[0] for row in search_rows()] == [product.latest.id]


# --- the cap ------------------------------------------------------------------------------------


def test_past_the_cap_the_matches_go_newest_first(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number, title in enumerate(["Atelier atelier atelier", "Atelier un", "Atelier deux"]):
        product = on_sale(vendor, title)
        product.latest.created_at = datetime.now(UTC) - timedelta(days=10 - number)
        db.session.flush()
    monkeypatch.setattr(services, "COUNT_CAP", 2)

    page = services.search(StorefrontQuery(text="atelier"))

    assert (page.capped, page.total, page.pages) == (True, 2, 1)
    assert [card.title for card, _ in page.results] == [
        "Atelier deux",
        "Atelier un",
        "Atelier atelier atelier",
    ][: services.PAGE_SIZE]


def test_past_the_cap_the_cheapest_still_come_first_by_price(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matches kept are the cheapest when the page is by price, not the newest."""
    for number, cents in enumerate([300, 2000, 1000]):
        product = on_sale(vendor, f"Atelier {cents}", plans=teacher_plan(cents))
        product.latest.created_at = datetime.now(UTC) - timedelta(days=10 - number)
        db.session.flush()
    monkeypatch.setattr(services, "COUNT_CAP", 2)

    page = services.search(StorefrontQuery(text="atelier", sort="prix"))

    assert page.capped
    assert [card.title for card, _ in page.results][:2] == ["Atelier 300", "Atelier 1000"]


# --- the statements of the hot requests ---------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "statements"),
    [
        ("/catalogue", 2),
        ("/catalogue?q=lecture", 2),
        (
            "/catalogue?q=lecture&discipline=francais&niveau=cycle_3&offre=teacher&prix_max=50"
            "&tri=prix",
            2,
        ),
        ("/catalogue?q=lecture&page=3", 2),  # past the last page: the last one
    ],
    ids=["all", "words", "words-and-filters", "past-the-last-page"],
)
def test_the_catalogue_page_is_two_statements(
    client: FlaskClient, vendor: Vendor, address: str, statements: int
) -> None:
    """The matches counted (up to the cap) and the page with its cards' tags: no lazy load
    of disciplines or levels, nothing for the filters' form."""
    for number in range(3):
        on_sale(vendor, f"Lecture suivie {number}", levels=["cycle_3"], plans=teacher_plan(1200))
    client.get(address)  # the first request loads what every request shares

    with count_statements() as sent:
        response = client.get(address)

    assert response.status_code == 200
    assert len(result_titles(response)) == 3
    assert "Lecture suivie" in response.get_data(as_text=True)
    assert len(sent) == statements, str(sent)


def test_a_search_finding_nothing_adds_the_did_you_mean_statements(
    client: FlaskClient, vendor: Vendor
) -> None:
    """The search's count (none: no page to read), the words known, the nearest word, the
    corrected search (count and page)."""
    on_sale(vendor, "Lecture suivie")
    client.get("/catalogue?q=lectrue")

    with count_statements() as sent:
        response = client.get("/catalogue?q=lectrue")

    assert "lecture" in response.get_data(as_text=True).casefold()
    assert len(sent) == 5, str(sent)


def test_the_suggestions_are_two_statements(client: FlaskClient, vendor: Vendor) -> None:
    """The disciplines on sale among those named, then the titles and vendors."""
    on_sale(vendor, "Lecture suivie")
    client.get("/catalogue/suggestions?q=lec")

    with count_statements() as sent:
        response = client.get("/catalogue/suggestions?q=franc")

    assert response.get_json()["suggestions"]
    assert len(sent) == 2, str(sent)
