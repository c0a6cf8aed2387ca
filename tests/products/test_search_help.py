"""Search that helps: suggestions as one types (/catalogue/suggestions), "did you mean"
for a misspelt word, the count of results. On PostgreSQL (trigrams) and SQLite (difflib)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from app.core import dates
from app.extensions import db
from app.products import services
from app.products.models import Product, SearchWord
from app.vendors.models import Vendor, VendorStatus
from tests import factories
from tests.conftest import DATABASE_URL, AuthActions, requires_postgres
from tests.helpers import page_text
from tests.products.helpers import on_sale, result_titles

TODAY = dates.today()


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions du Préau")


def suggested(client: FlaskClient, q: str) -> list[tuple[str, str]]:
    response = client.get("/catalogue/suggestions", query_string={"q": q})
    assert response.status_code == 200
    return [(s["label"], s["kind"]) for s in response.get_json()["suggestions"]]


# --- suggestions as one types -----------------------------------------------------------------


@pytest.mark.parametrize("q", ["mathematiques", "Mathématiques", "MATHÉ", "mathématique"])
def test_suggestions_ignore_accents_case_and_plurals(
    client: FlaskClient, vendor: Vendor, q: str
) -> None:
    on_sale(vendor, "Mathématiques en chansons", disciplines=["mathematiques"])
    on_sale(vendor, "Lecture suivie")

    assert suggested(client, q) == [
        ("Mathématiques", "discipline"),
        ("Mathématiques en chansons", "title"),
    ]


def test_suggestions_name_vendors_and_any_part_of_a_title(
    client: FlaskClient, vendor: Vendor
) -> None:
    on_sale(vendor, "Le préau des fractions")
    on_sale(factories.VendorFactory(legal_name="Lumni SAS"), "Lecture suivie")

    assert suggested(client, "preau") == [
        ("Le préau des fractions", "title"),
        ("Éditions du Préau", "vendor"),
    ]
    assert suggested(client, "fractio") == [("Le préau des fractions", "title")]
    assert suggested(client, "lumni") == [("Lumni SAS", "vendor")]


def expire_label(product: Product) -> None:
    product.latest.label_expires_on = TODAY - timedelta(days=1)
    db.session.flush()


def suspend_vendor(product: Product) -> None:
    product.vendor.status = VendorStatus.SUSPENDED
    db.session.flush()


@pytest.mark.parametrize(
    ("state", "then"),
    [("draft", None), ("rejected", None), ("approved", expire_label), ("approved", suspend_vendor)],
    ids=["draft", "rejected", "label-expired", "suspended"],
)
def test_suggestions_hold_only_products_on_sale(client: FlaskClient, state: str, then: Any) -> None:
    hidden = on_sale(
        factories.VendorFactory(legal_name="Zorglub Éditions"),
        "Zorglub et la géométrie",
        state=state,
        disciplines=["arts_plastiques"],
    )
    if then is not None:
        then(hidden)

    assert suggested(client, "zorglub") == []
    assert suggested(client, "arts plastiques") == []


def test_a_discipline_without_any_product_on_sale_is_not_suggested(
    client: FlaskClient, vendor: Vendor
) -> None:
    on_sale(vendor, "Lecture suivie", disciplines=["francais"])

    assert suggested(client, "philo") == []
    assert suggested(client, "fran") == [("Français", "discipline")]


@pytest.mark.parametrize("q", ["", " ", "m", "é", "-", "a b"])
def test_nothing_is_suggested_for_less_than_two_letters(
    client: FlaskClient, vendor: Vendor, q: str
) -> None:
    on_sale(vendor, "Mathématiques en chansons", disciplines=["mathematiques"])

    assert suggested(client, q) == []


def test_a_nul_byte_or_a_long_text_is_no_trouble(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Mathématiques en chansons", disciplines=["mathematiques"])

    assert services.suggestions("math\x00") == [
        services.Suggestion("Mathématiques", "discipline"),
        services.Suggestion("Mathématiques en chansons", "title"),
    ]
    # The first 100 characters are read, each word once.
    assert suggested(client, "chansons " * 2000) == [("Mathématiques en chansons", "title")]
    assert suggested(client, "chansons " * 12 + "zut") == [("Mathématiques en chansons", "title")]
    assert suggested(client, "%_\\") == []
    refused = client.get("/catalogue/suggestions?q=math%00", headers={"Accept": "application/json"})
    assert refused.status_code == 400  # as every request holding a NUL byte
    assert refused.get_json()["error"]["message"]


def test_at_most_eight_suggestions(client: FlaskClient, vendor: Vendor) -> None:
    for n in range(12):
        on_sale(vendor, f"Atelier d'écriture {n:02d}")

    found = suggested(client, "atelier")
    assert len(found) == services.SUGGESTIONS_MAX
    assert all(kind == "title" for _, kind in found)


def test_suggestions_may_be_kept_by_caches_and_are_rate_limited(
    app: Flask, client: FlaskClient, vendor: Vendor
) -> None:
    response = client.get("/catalogue/suggestions?q=lecture")
    assert response.headers["Cache-Control"] in ("public, max-age=300", "max-age=300, public")
    assert "Set-Cookie" not in response.headers
    saved = app.config["SEARCH_SUGGESTIONS_PER_ADDRESS"]
    app.config["SEARCH_SUGGESTIONS_PER_ADDRESS"] = "3 per minute"
    try:
        statuses = [client.get(f"/catalogue/suggestions?q=le{n}").status_code for n in range(4)]
    finally:
        app.config["SEARCH_SUGGESTIONS_PER_ADDRESS"] = saved
    assert statuses == [200, 200, 200, 429]


# --- did you mean -----------------------------------------------------------------------------


def correction_link(response: Any) -> str | None:
    text = page_text(response)
    marker = 'class="storefront-correction">'
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split("</p>", 1)[0]


def test_a_misspelt_word_is_corrected(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Mathématiques en chansons", disciplines=["mathematiques"])

    response = client.get("/catalogue?q=matematiques")
    assert result_titles(response) == []
    assert "Aucune ressource ne correspond" in page_text(response)
    shown = correction_link(response)
    assert shown is not None
    assert "Vouliez-vous dire" in shown
    assert "«\xa0mathématiques\xa0»" in shown
    followed = client.get("/catalogue?q=math%C3%A9matiques")
    assert result_titles(followed) == ["Mathématiques en chansons"]
    assert correction_link(followed) is None


def test_the_correction_keeps_the_other_filters_and_misspelt_words_only(
    client: FlaskClient, vendor: Vendor
) -> None:
    on_sale(vendor, "Géométrie au cycle 3", levels=["cycle_3"], disciplines=["mathematiques"])

    response = client.get("/catalogue?q=geometrei+cycle&niveau=cycle_3&tri=prix")
    link = correction_link(response)
    assert link is not None
    assert "q=g%C3%A9om%C3%A9trie+cycle" in link
    assert "niveau=cycle_3" in link
    assert "tri=prix" in link


def test_no_correction_when_the_search_finds_enough_or_the_correction_nothing(
    client: FlaskClient, vendor: Vendor
) -> None:
    for n in range(3):
        on_sale(vendor, f"Mathématiques {n}", disciplines=["mathematiques"])

    assert correction_link(client.get("/catalogue?q=mathematiques")) is None
    assert correction_link(client.get("/catalogue?q=zzzzqqqq")) is None
    # "matematiques" is near, but not with this filter: no correction leading to nothing.
    assert correction_link(client.get("/catalogue?q=matematiques&niveau=lycee")) is None


def test_no_correction_towards_a_product_no_longer_on_sale(
    client: FlaskClient, vendor: Vendor
) -> None:
    product = on_sale(vendor, "Cosmographie des étoiles")
    on_sale(vendor, "Lecture suivie")
    expire_label(product)

    assert correction_link(client.get("/catalogue?q=cosmografie")) is None


def test_the_vocabulary_is_rebuilt_from_the_products_on_sale(
    client: FlaskClient, vendor: Vendor
) -> None:
    expired = on_sale(vendor, "Cosmographie des étoiles")
    on_sale(factories.VendorFactory(legal_name="Lumni SAS"), "Lecture suivie", levels=["lycee"])
    expire_label(expired)

    size = services.rebuild_vocabulary()

    words = dict(db.session.execute(select(SearchWord.word, SearchWord.label)).all())
    assert size == len(words)
    assert "cosmographie" not in words
    assert words["lecture"] == "lecture"
    assert words["lumni"] == "lumni"
    assert words["francai"] == "français"  # the singular is the key, the word as written shown
    assert words["lycee"] == "lycée"
    assert "sas" in words


@requires_postgres
def test_postgres_finds_the_nearest_word_with_trigrams(vendor: Vendor) -> None:
    on_sale(vendor, "Mathématiques en chansons", disciplines=["mathematiques"])

    nearest = services._nearest_word("matematique")
    assert nearest is not None
    assert nearest.label == "mathématiques"
    assert services._nearest_word("zzzzqqqq") is None


@pytest.mark.skipif(DATABASE_URL.startswith("postgresql"), reason="the SQLite fallback")
def test_sqlite_finds_the_nearest_word_with_difflib(vendor: Vendor) -> None:
    on_sale(vendor, "Mathématiques en chansons", disciplines=["mathematiques"])

    nearest = services._nearest_word("matematique")
    assert nearest is not None
    assert nearest.label == "mathématiques"
    assert services._nearest_word("zzzzqqqq") is None


# --- the count of results ---------------------------------------------------------------------


def test_the_count_of_results_is_shown(client: FlaskClient, vendor: Vendor) -> None:
    on_sale(vendor, "Lecture suivie")
    on_sale(vendor, "Lecture à voix haute")

    assert "2 ressources trouvées" in page_text(client.get("/catalogue?q=lecture"))
    assert "1 ressource trouvée" in page_text(client.get("/catalogue?q=suivie"))
    assert "Aucune ressource ne correspond" in page_text(client.get("/catalogue?q=zzzz"))


def test_signed_in_the_suggestions_vary_with_the_cookie(
    client: FlaskClient, auth: AuthActions, vendor: Vendor
) -> None:
    """A signed-in session is touched by every request (its idle timer): the answer then
    says it varies with the cookie, so no shared cache hands it to someone else."""
    auth.login(factories.teacher().email)
    response = client.get("/catalogue/suggestions?q=lecture")
    assert response.status_code == 200
    assert "Cookie" in response.headers.get("Vary", "")


def test_suggestions_take_two_queries_at_most(client: FlaskClient, vendor: Vendor) -> None:
    for n in range(5):
        on_sale(vendor, f"Mathématiques {n}", disciplines=["mathematiques"])
    statements: list[str] = []

    def count(*args: object) -> None:
        if str(args[2]).lstrip().startswith("SELECT"):  # not the test's savepoints
            statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert len(suggested(client, "mathematiques")) == 6  # a discipline, five titles
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2
