"""Tests of catalog.demo_catalogue: the demo data loads, is realistic and consistent, and the
loader refuses a broken file naming the item in error."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from catalog.conduct import Company, Declaration, check, has_blocker
from catalog.demo_catalogue import (
    CHANNELS,
    PLAN_KINDS,
    DemoCatalogue,
    DemoCatalogueError,
    DemoProduct,
    demo_catalogue,
    parse_demo_catalogue,
)
from catalog.identifiers import (
    is_valid_siret,
    is_valid_vat,
    validate_siret,
    validate_vat,
    vat_matches_siren,
)
from catalog.vocabularies import disciplines, levels, resource_types

PRICE_RANGES = {"teacher": (1500, 6000), "class": (4000, 25000), "school": (15000, 90000)}
SENTENCE_END = re.compile(r"[.!?…](?=\s+[A-ZÀ-ÖØ-Þ«(\"0-9])")


@pytest.fixture(scope="module")
def catalogue() -> DemoCatalogue:
    return demo_catalogue()


def _raw() -> dict[str, Any]:
    text = (resources.files("catalog") / "data" / "demo_catalogue.json").read_text("utf-8")
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def _company(catalogue: DemoCatalogue, product: DemoProduct) -> Company:
    vendor = catalogue.vendor(product.vendor)
    return Company(vendor.legal_name, vendor.parent_company)


def _sentences(text: str) -> int:
    return len(SENTENCE_END.findall(text)) + 1


# --- loading -------------------------------------------------------------------------------


def test_loader_is_cached_and_immutable(catalogue: DemoCatalogue) -> None:
    assert demo_catalogue() is catalogue
    assert isinstance(catalogue.vendors, tuple)
    assert isinstance(catalogue.products, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.products[0].title = "Autre"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.vendors[0].siret = "0"  # type: ignore[misc]


def test_sizes(catalogue: DemoCatalogue) -> None:
    assert 7 <= len(catalogue.vendors) <= 10
    assert 35 <= len(catalogue.products) <= 45


def test_keys_and_titles_are_unique(catalogue: DemoCatalogue) -> None:
    assert len({v.key for v in catalogue.vendors}) == len(catalogue.vendors)
    assert len({p.key for p in catalogue.products}) == len(catalogue.products)
    assert len({p.title for p in catalogue.products}) == len(catalogue.products)


# --- vendors -------------------------------------------------------------------------------


def test_lumiere(catalogue: DemoCatalogue) -> None:
    lumiere = catalogue.vendor("lumiere")
    siren = 904123452
    assert lumiere.legal_name == "Éditions Lumière SAS"
    assert lumiere.siret == "90412345200016"
    assert lumiere.siren == "904123452"
    assert lumiere.vat_number == f"FR{(12 + 3 * (siren % 97)) % 97:02d}{siren}"


def test_vendor_identifiers_are_valid_and_consistent(catalogue: DemoCatalogue) -> None:
    for vendor in catalogue.vendors:
        assert validate_siret(vendor.siret) == vendor.siret, vendor.key
        assert validate_vat(vendor.vat_number) == vendor.vat_number, vendor.key
        assert vat_matches_siren(vendor.vat_number, vendor.siren), vendor.key
        key = (12 + 3 * (int(vendor.siren) % 97)) % 97
        assert vendor.vat_number == f"FR{key:02d}{vendor.siren}", vendor.key
    assert len({v.siret for v in catalogue.vendors}) == len(catalogue.vendors)


def test_vendor_details(catalogue: DemoCatalogue) -> None:
    for vendor in catalogue.vendors:
        assert vendor.country == "FR"
        assert re.fullmatch(r"\d{5}", vendor.address.postcode), vendor.key
        assert vendor.address.street
        assert vendor.address.city
        assert "@" in vendor.contact.email
        assert vendor.contact.name
        assert vendor.contact.phone
        assert vendor.parent_company
        if vendor.provisioning_url is not None:
            assert vendor.provisioning_url.startswith("https://"), vendor.key
    parents = {v.parent_company for v in catalogue.vendors}
    assert any(v.parent_company == v.legal_name for v in catalogue.vendors)
    assert any(v.parent_company != v.legal_name for v in catalogue.vendors)
    assert len(parents) < len(catalogue.vendors)  # some vendors belong to the same group


def test_vendor_catalogue_sizes(catalogue: DemoCatalogue) -> None:
    sizes = Counter(p.vendor for p in catalogue.products)
    assert set(sizes) == {v.key for v in catalogue.vendors}
    assert sum(1 for n in sizes.values() if 6 <= n <= 8) >= 3
    assert sum(1 for n in sizes.values() if 2 <= n <= 3) >= 3
    assert all(2 <= n <= 8 for n in sizes.values())
    assert catalogue.products_of("lumiere")
    assert all(p.vendor == "lumiere" for p in catalogue.products_of("lumiere"))


def test_unknown_vendor_key(catalogue: DemoCatalogue) -> None:
    with pytest.raises(KeyError):
        catalogue.vendor("inconnu")


# --- products ------------------------------------------------------------------------------


def test_states(catalogue: DemoCatalogue) -> None:
    states = Counter(p.state for p in catalogue.products)
    assert states == {
        "approved": 28,
        "in_review": 6,
        "changes_requested": 2,
        "draft": 2,
        "blocked": 1,
        "rejected": 1,
    }


def test_channels_are_balanced(catalogue: DemoCatalogue) -> None:
    channels = Counter(p.channel for p in catalogue.products)
    assert set(channels) == set(CHANNELS)
    for channel, count in channels.items():
        assert 0.25 <= count / len(catalogue.products) <= 0.42, channel


def test_webhook_products_have_a_provisioning_url(catalogue: DemoCatalogue) -> None:
    for product in catalogue.products:
        if product.channel == "webhook":
            assert catalogue.vendor(product.vendor).provisioning_url, product.key


def test_vocabulary_codes_exist(catalogue: DemoCatalogue) -> None:
    known_disciplines = {d.code for d in disciplines()}
    known_levels = {level.code for level in levels()}
    known_types = {t.code for t in resource_types()}
    for product in catalogue.products:
        assert product.disciplines
        assert set(product.disciplines) <= known_disciplines
        assert product.levels
        assert set(product.levels) <= known_levels
        assert product.resource_type in known_types


def test_catalogue_covers_levels_and_disciplines(catalogue: DemoCatalogue) -> None:
    covered_levels = {level for p in catalogue.products for level in p.levels}
    assert covered_levels == {level.code for level in levels()}
    covered = {d for p in catalogue.products for d in p.disciplines}
    for discipline in (
        "mathematiques",
        "francais",
        "anglais",
        "espagnol",
        "allemand",
        "svt",
        "physique_chimie",
        "histoire_geographie",
        "arts_plastiques",
        "education_musicale",
        "nsi",
        "snt",
    ):
        assert discipline in covered, discipline
    assert len({p.resource_type for p in catalogue.products}) >= 8


def test_mathematics_products_about_fractions(catalogue: DemoCatalogue) -> None:
    maths = [p for p in catalogue.products if "mathematiques" in p.disciplines]
    assert len(maths) >= 6
    fractions = [p for p in maths if "fractions" in f"{p.title} {p.summary} {p.description}"]
    assert len(fractions) >= 3
    assert any(
        "Mathématiques" in f"{p.title} {p.summary} {p.description}" and p.state == "approved"
        for p in fractions
    )


def test_texts(catalogue: DemoCatalogue) -> None:
    for product in catalogue.products:
        assert len(product.summary) <= 200, product.key
        assert _sentences(product.summary) == 1, product.key
        assert product.summary.endswith("."), product.key
        assert 3 <= _sentences(product.description) <= 6, product.key
        assert product.description.endswith("."), product.key


def test_access_urls(catalogue: DemoCatalogue) -> None:
    for product in catalogue.products:
        assert re.fullmatch(r"https://[a-z0-9.-]+\.(fr|example)/\S*", product.access_url)


def test_plans(catalogue: DemoCatalogue) -> None:
    for product in catalogue.products:
        assert 1 <= len(product.plans) <= 3, product.key
        kinds = [plan.kind for plan in product.plans]
        assert len(set(kinds)) == len(kinds), product.key
        assert kinds == sorted(kinds, key=PLAN_KINDS.index), product.key
        for plan in product.plans:
            low, high = PRICE_RANGES[plan.kind]
            assert low <= plan.price_cents <= high, (product.key, plan.kind)
            assert isinstance(plan.price_cents, int)
            assert plan.vat_rate in {Decimal("20.0"), Decimal("5.5")}, product.key
            if product.resource_type == "manuel_numerique":
                assert plan.vat_rate == Decimal("5.5"), product.key
            if plan.kind == "class":
                assert plan.max_pupils is not None
                assert 20 <= plan.max_pupils <= 40
            else:
                assert plan.max_pupils is None
        assert product.plan(product.plans[0].kind) is product.plans[0]


def test_review_comments(catalogue: DemoCatalogue) -> None:
    for product in catalogue.products:
        if product.state in {"changes_requested", "rejected"}:
            assert product.review_comment is not None, product.key
            assert len(product.review_comment) > 40, product.key
        else:
            assert product.review_comment is None, product.key


def test_label_expiries(catalogue: DemoCatalogue) -> None:
    expiring = [p for p in catalogue.products if p.label_expires_in_days is not None]
    assert all(p.state == "approved" for p in expiring)
    days = [p.label_expires_in_days for p in expiring if p.label_expires_in_days is not None]
    assert sum(1 for d in days if 0 < d <= 60) == 2
    assert sum(1 for d in days if d < 0) == 1


# --- declarations --------------------------------------------------------------------------


def test_every_declaration_parses(catalogue: DemoCatalogue) -> None:
    for product in catalogue.products:
        assert "company" not in product.declaration, product.key
        declaration = Declaration.from_dict(product.declaration)
        assert declaration.company is None


@pytest.mark.parametrize(
    "state", ["approved", "in_review", "changes_requested", "draft", "rejected"]
)
def test_declarations_without_blocker(catalogue: DemoCatalogue, state: str) -> None:
    products = [p for p in catalogue.products if p.state == state]
    assert products
    for product in products:
        findings = check(
            Declaration.from_dict(product.declaration), company=_company(catalogue, product)
        )
        blockers = [f.message for f in findings if f.severity == "blocker"]
        assert not has_blocker(findings), (product.key, blockers)


def test_blocked_product_has_a_blocker(catalogue: DemoCatalogue) -> None:
    (blocked,) = [p for p in catalogue.products if p.state == "blocked"]
    findings = check(
        Declaration.from_dict(blocked.declaration), company=_company(catalogue, blocked)
    )
    assert has_blocker(findings)
    rules = {f.rule for f in findings if f.severity == "blocker"}
    assert {"hosting_eea", "advertising"} <= rules


def test_declarations_vary(catalogue: DemoCatalogue) -> None:
    approved = [
        check(Declaration.from_dict(p.declaration), company=_company(catalogue, p))
        for p in catalogue.products
        if p.state == "approved"
    ]
    warned = {f.rule for findings in approved for f in findings if f.severity == "warning"}
    assert {"trackers", "certifications"} <= warned
    assert any(all(f.severity == "ok" for f in findings) for findings in approved)


def test_gar_products_declare_gar_access(catalogue: DemoCatalogue) -> None:
    for product in catalogue.products:
        if product.channel == "gar":
            assert product.declaration["gar_access"] is True, product.key


# --- a broken file -------------------------------------------------------------------------


def _product(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p for p in data["products"] if p["key"] == key)


def _vendor(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(v for v in data["vendors"] if v["key"] == key)


def _set_discipline(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["disciplines"] = ["mathematiques", "alchimie"]


def _set_level(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["levels"] = ["cycle_9"]


def _set_resource_type(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["resource_type"] = "grimoire"


def _set_vendor(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["vendor"] = "inconnu"


def _break_siret(data: dict[str, Any]) -> None:
    _vendor(data, "numeris")["siret"] = "81234567600018"


def _foreign_vat(data: dict[str, Any]) -> None:
    _vendor(data, "numeris")["vat_number"] = _vendor(data, "lumiere")["vat_number"]


def _break_vat_key(data: dict[str, Any]) -> None:
    vat = _vendor(data, "numeris")["vat_number"]
    _vendor(data, "numeris")["vat_number"] = f"FR{(int(vat[2:4]) + 1) % 97:02d}{vat[4:]}"


def _duplicate_plan(data: dict[str, Any]) -> None:
    plans = _product(data, "lumiere-maths-6e")["plans"]
    plans.append(dict(plans[0]))


def _class_without_pupils(data: dict[str, Any]) -> None:
    for plan in _product(data, "lumiere-maths-6e")["plans"]:
        plan.pop("max_pupils", None)


def _teacher_with_pupils(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["plans"][0]["max_pupils"] = 30


def _float_price(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["plans"][0]["price_cents"] = 29.0


def _bad_vat_rate(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["plans"][0]["vat_rate"] = "19.6"


def _no_plans(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["plans"] = []


def _unknown_plan_kind(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["plans"][0]["kind"] = "family"


def _webhook_without_url(data: dict[str, Any]) -> None:
    _vendor(data, "numeris")["provisioning_url"] = None


def _missing_review_comment(data: dict[str, Any]) -> None:
    del _product(data, "cosmos-climat-biodiversite")["review_comment"]


def _expiry_not_approved(data: dict[str, Any]) -> None:
    _product(data, "cosmos-ciel-et-terre")["label_expires_in_days"] = 30


def _declaration_with_company(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["declaration"]["company"] = {"legal_name": "X"}


def _long_summary(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["summary"] = "Très long. " * 30


def _unknown_field(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["colour"] = "bleu"


def _http_url(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["access_url"] = "http://app.editions-lumiere.fr/"


def _unknown_state(data: dict[str, Any]) -> None:
    _product(data, "lumiere-maths-6e")["state"] = "published"


@pytest.mark.parametrize(
    ("breaks", "item", "words"),
    [
        (_set_discipline, "lumiere-maths-6e", "alchimie"),
        (_set_level, "lumiere-maths-6e", "cycle_9"),
        (_set_resource_type, "lumiere-maths-6e", "grimoire"),
        (_set_vendor, "lumiere-maths-6e", "unknown vendor"),
        (_break_siret, "numeris", "SIRET"),
        (_foreign_vat, "numeris", "does not belong"),
        (_break_vat_key, "numeris", "TVA"),
        (_duplicate_plan, "lumiere-maths-6e", "duplicate: teacher"),
        (_class_without_pupils, "lumiere-maths-6e", "max_pupils"),
        (_teacher_with_pupils, "lumiere-maths-6e", "max_pupils"),
        (_float_price, "lumiere-maths-6e", "price_cents"),
        (_bad_vat_rate, "lumiere-maths-6e", "19.6"),
        (_no_plans, "lumiere-maths-6e", "plans"),
        (_unknown_plan_kind, "lumiere-maths-6e", "family"),
        (_webhook_without_url, "numeris-", "provisioning_url"),
        (_missing_review_comment, "cosmos-climat-biodiversite", "review_comment"),
        (_expiry_not_approved, "cosmos-ciel-et-terre", "label_expires_in_days"),
        (_declaration_with_company, "lumiere-maths-6e", "company"),
        (_long_summary, "lumiere-maths-6e", "summary"),
        (_unknown_field, "lumiere-maths-6e", "colour"),
        (_http_url, "lumiere-maths-6e", "https"),
        (_unknown_state, "lumiere-maths-6e", "published"),
    ],
)
def test_broken_data_names_the_item(
    breaks: Callable[[dict[str, Any]], None], item: str, words: str
) -> None:
    data = copy.deepcopy(_raw())
    breaks(data)
    with pytest.raises(DemoCatalogueError) as excinfo:
        parse_demo_catalogue(data)
    message = str(excinfo.value)
    assert item in message
    assert words in message
    assert isinstance(excinfo.value, ValueError)


def test_duplicate_product_key() -> None:
    data = copy.deepcopy(_raw())
    data["products"].append(copy.deepcopy(data["products"][0]))
    with pytest.raises(DemoCatalogueError, match="duplicate product keys: lumiere-maths-6e"):
        parse_demo_catalogue(data)


def test_not_an_object() -> None:
    with pytest.raises(DemoCatalogueError, match="top level"):
        parse_demo_catalogue([])


def test_raw_file_is_parsed_identically(catalogue: DemoCatalogue) -> None:
    assert parse_demo_catalogue(_raw()) == catalogue
    for vendor in catalogue.vendors:
        assert is_valid_siret(vendor.siret)
        assert is_valid_vat(vendor.vat_number)
