"""Tests of catalog.conduct (the code-of-conduct checks) and of `python -m catalog check`."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import conduct, datafiles, privacy
from catalog.__main__ import main
from catalog.conduct import (
    RULES,
    Company,
    Declaration,
    Finding,
    InvalidDeclaration,
    Limits,
    Severity,
    check,
    data_categories,
    excluded_match,
    exclusion_list,
    has_blocker,
    label_criteria,
    limits,
    normalize_company_name,
    sample_declaration,
)
from catalog.vocabularies import VocabularyError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILE = ROOT / "catalog" / "data" / "declaration_example.json"


def declaration(**changes: object) -> Declaration:
    """The sample declaration with some keys replaced."""
    return Declaration.from_dict({**sample_declaration(), **changes})


def finding_of(findings: list[Finding], rule: str) -> Finding:
    (result,) = [f for f in findings if f.rule == rule]
    return result


def errors_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidDeclaration) as excinfo:
        Declaration.from_dict(data)
    return excinfo.value.errors


# --- reference data ------------------------------------------------------------------------


def test_severity_values_and_french_labels() -> None:
    assert [s.value for s in Severity] == ["blocker", "warning", "ok"]
    assert Severity.BLOCKER.label == "Bloquant"
    assert Severity.WARNING.label == "Avertissement"
    assert Severity.OK.label == "Conforme"
    assert Severity("blocker") is Severity.BLOCKER


def test_limits() -> None:
    loaded = limits()
    assert loaded is limits()  # cached
    assert loaded.retention_days_max == 90
    assert loaded.breach_notification_hours_max == 72
    assert len(loaded.eea_countries) == 30
    assert {"FR", "DE", "IE", "GR", "HR", "IS", "LI", "NO"} <= loaded.eea_countries
    assert not {"US", "GB", "CH", "CN", "EL"} & loaded.eea_countries


def test_exclusion_list() -> None:
    companies = exclusion_list()
    assert companies is exclusion_list()
    assert {c.group for c in companies} == {"Alphabet", "Apple", "Meta", "Amazon", "Microsoft"}
    names = {c.name for c in companies}
    assert {"Google", "YouTube", "Meta Platforms", "Amazon Web Services", "LinkedIn"} <= names
    # Each group's own name is listed too (issue 14: a parent called "Meta" or "ALPHABET"
    # must be caught); its aliases follow it.
    assert {"Alphabet", "Meta", "Amazon"} <= names
    assert all(normalize_company_name(c.name) for c in companies)


def test_label_criteria() -> None:
    criteria = label_criteria()
    assert criteria is label_criteria()
    assert [c.code for c in criteria] == [
        "curriculum",
        "pedagogy",
        "accessibility",
        "interoperability",
        "no_advertising",
    ]
    assert all(c.label and c.description for c in criteria)


def test_data_categories() -> None:
    teacher = data_categories("teacher")
    pupil = data_categories("pupil")
    assert [c.code for c in teacher] == ["identity", "email", "school", "usage", "content"]
    assert [c.code for c in pupil] == [
        "identity",
        "email",
        "pseudonym",
        "class_level",
        "results",
        "usage",
        "voice_image",
        "content",
    ]
    assert {c.code for c in pupil if c.identifying} == {"identity", "email"}
    assert {c.code for c in teacher if c.identifying} == {"identity", "email"}
    assert pupil[0].label == "Nom et prénom"
    with pytest.raises(ValueError, match="unknown public"):
        data_categories("parent")  # type: ignore[arg-type]


def test_values_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits().retention_days_max = 365  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        declaration().advertising = True  # type: ignore[misc]


@pytest.mark.parametrize(
    "filename",
    [
        "conduct_limits.json",
        "exclusion_list.json",
        "label_criteria.json",
        "data_categories.json",
        "declaration_example.json",
    ],
)
def test_data_file_is_packaged_utf8_json(filename: str) -> None:
    text = (resources.files("catalog") / "data" / filename).read_text(encoding="utf-8")
    assert json.loads(text)


def test_sample_declaration_is_the_example_file_and_a_fresh_copy() -> None:
    assert sample_declaration() == json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
    sample = sample_declaration()
    sample["advertising"] = True
    assert sample_declaration()["advertising"] is False


@pytest.mark.parametrize(
    ("loader", "content", "message"),
    [
        (limits, {"retention_days_max": 90, "breach_notification_hours_max": 72}, "eea_countries"),
        (
            limits,
            {
                "retention_days_max": 90,
                "breach_notification_hours_max": 72,
                "eea_countries": ["fr"],
            },
            "2 capital letters",
        ),
        (
            limits,
            {"retention_days_max": 0, "breach_notification_hours_max": 72, "eea_countries": ["FR"]},
            "positive integer",
        ),
        (label_criteria, [{"code": "pedagogy", "label": "Pédagogie"}], "'description'"),
        (
            conduct._all_data_categories,
            {"teacher": [{"code": "identity", "label": "Nom", "identifying": "oui"}]},
            "true or false",
        ),
        (conduct._all_data_categories, {"teacher": []}, "the list is empty"),
    ],
)
def test_broken_data_files_are_rejected(
    monkeypatch: pytest.MonkeyPatch, loader: Any, content: object, message: str
) -> None:
    monkeypatch.setattr(conduct, "read_json", lambda filename: content)
    monkeypatch.setattr(conduct, "load_objects", lambda f: datafiles.object_list(f, content))
    with pytest.raises(VocabularyError, match=message):
        loader.__wrapped__()


def test_missing_data_file_is_reported() -> None:
    with pytest.raises(VocabularyError, match="nope.json"):
        datafiles.read_json("nope.json")


# --- the rules -----------------------------------------------------------------------------


def test_sample_declaration_passes_every_rule() -> None:
    findings = check(declaration())
    assert [f.rule for f in findings] == list(RULES)
    assert all(f.severity is Severity.OK for f in findings), findings
    # The severity label says "Conforme": the message does not say it again.
    assert not any("conforme" in f.message for f in findings)
    assert not has_blocker(findings)


BLOCKING_CASES: list[tuple[str, dict[str, object], str, str]] = [
    (
        "hosting_eea",
        {
            "hosting": [
                {"country": "FR", "provider": "OVHcloud"},
                {"country": "US", "provider": "Amazon Web Services"},
            ]
        },
        "L'hébergement chez Amazon Web Services (US) est hors de l'Union européenne et de "
        "l'EEE : les données des élèves doivent rester dans l'EEE.",
        "hosting[1].country",
    ),
    (
        "subprocessors_eea",
        {"subprocessors": [{"name": "Mailchimp", "country": "US", "purpose": "Lettres"}]},
        "Mailchimp (US)",
        "subprocessors[0].country",
    ),
    ("advertising", {"advertising": True}, "publicité", "advertising"),
    ("data_sale", {"data_sale": True}, "commerciales", "data_sale"),
    ("pupil_profiling", {"pupil_profiling": True}, "profils", "pupil_profiling"),
    ("retention", {"retention_days": 91}, "90 jours", "retention_days"),
    ("dpo_contact", {"dpo_contact": ""}, "délégué à la protection des données", "dpo_contact"),
    ("dpo_contact", {"dpo_contact": "   "}, "DPO", "dpo_contact"),
    ("privacy_policy", {"privacy_policy_url": ""}, "Aucune politique", "privacy_policy_url"),
    (
        "privacy_policy",
        {"privacy_policy_url": "http://www.lumiere.fr/confidentialite"},
        "https://",
        "privacy_policy_url",
    ),
    ("privacy_policy", {"privacy_policy_url": "www.lumiere.fr"}, "https://", "privacy_policy_url"),
    ("privacy_policy", {"privacy_policy_url": "https://"}, "https://", "privacy_policy_url"),
    (
        "breach_notification",
        {"breach_notification_hours": 73},
        "72 heures",
        "breach_notification_hours",
    ),
    ("deletion_at_end", {"deletion_at_end": False}, "fin du contrat", "deletion_at_end"),
    (
        "pupil_identity_gar",
        {"pupil_data": ["identity", "results"], "gar_access": False},
        "« Nom et prénom »",
        "gar_access",
    ),
    (
        "pupil_identity_gar",
        {"pupil_data": ["email"], "gar_access": False},
        "GAR",
        "gar_access",
    ),
    (
        "exclusion_list",
        {"company": {"legal_name": "YouTube France SAS", "parent_company": None}},
        "groupe exclu de la place de marché",
        "company.legal_name",
    ),
    (
        "exclusion_list",
        {"company": {"legal_name": "Éditions Nuage", "parent_company": "Microsoft Corporation"}},
        "« Microsoft Corporation » correspond à « Microsoft » (groupe Microsoft)",
        "company.parent_company",
    ),
]


@pytest.mark.parametrize(("rule", "changes", "expected", "field"), BLOCKING_CASES)
def test_blocking_rule(rule: str, changes: dict[str, object], expected: str, field: str) -> None:
    findings = check(declaration(**changes))
    found = finding_of(findings, rule)
    assert found.severity is Severity.BLOCKER
    assert expected in found.message
    assert found.field == field
    assert has_blocker(findings)
    # The other rules are unaffected.
    assert [f.rule for f in findings if f.severity is not Severity.OK] == [rule]


WARNING_CASES: list[tuple[str, dict[str, object], str]] = [
    ("trackers", {"trackers": ["Google Analytics", "Hotjar"]}, "Google Analytics et Hotjar"),
    ("certifications", {"certifications": []}, "Aucune certification"),
    ("exclusion_list", {"company": None}, "n'a pas pu être vérifiée"),
]


@pytest.mark.parametrize(("rule", "changes", "expected"), WARNING_CASES)
def test_warning_rule(rule: str, changes: dict[str, object], expected: str) -> None:
    findings = check(declaration(**changes))
    found = finding_of(findings, rule)
    assert found.severity is Severity.WARNING
    assert expected in found.message
    assert not has_blocker(findings)


OK_CASES: list[tuple[str, dict[str, object]]] = [
    ("hosting_eea", {"hosting": [{"country": "no", "provider": "Green Mountain"}]}),
    ("hosting_eea", {"hosting": [{"country": "IE", "provider": "Scaleway"}]}),
    ("subprocessors_eea", {"subprocessors": []}),
    ("subprocessors_eea", {"subprocessors": [{"name": "S", "country": "IS", "purpose": "P"}]}),
    ("advertising", {"advertising": False}),
    ("data_sale", {"data_sale": False}),
    ("pupil_profiling", {"pupil_profiling": False}),
    ("retention", {"retention_days": 90}),
    ("retention", {"retention_days": 0}),
    ("dpo_contact", {"dpo_contact": "https://www.lumiere.fr/dpo"}),
    ("privacy_policy", {"privacy_policy_url": "HTTPS://lumiere.fr/vie-privee"}),
    ("breach_notification", {"breach_notification_hours": 72}),
    ("deletion_at_end", {"deletion_at_end": True}),
    ("pupil_identity_gar", {"pupil_data": ["identity", "email"], "gar_access": True}),
    ("pupil_identity_gar", {"pupil_data": ["pseudonym", "voice_image"], "gar_access": False}),
    ("pupil_identity_gar", {"pupil_data": [], "gar_access": False}),
    ("exclusion_list", {"company": {"legal_name": "Metaphore Éditions SAS"}}),
    ("trackers", {"trackers": []}),
    ("certifications", {"certifications": ["HDS", "SecNumCloud"]}),
]


@pytest.mark.parametrize(("rule", "changes"), OK_CASES)
def test_rule_passes(rule: str, changes: dict[str, object]) -> None:
    found = finding_of(check(declaration(**changes)), rule)
    assert found.severity is Severity.OK
    assert "conforme" not in found.message


def test_every_rule_has_a_blocking_or_warning_case_and_an_ok_case() -> None:
    failing = {c[0] for c in BLOCKING_CASES} | {c[0] for c in WARNING_CASES}
    assert failing == set(RULES)
    assert {c[0] for c in OK_CASES} == set(RULES)


def test_several_hosting_places_outside_the_eea_are_all_named() -> None:
    found = finding_of(
        check(
            declaration(
                hosting=[
                    {"country": "US", "provider": "AWS"},
                    {"country": "FR", "provider": "OVHcloud"},
                    {"country": "CH", "provider": "Infomaniak"},
                ]
            )
        ),
        "hosting_eea",
    )
    assert "chez AWS (US) et chez Infomaniak (CH)" in found.message
    assert found.field == "hosting[0].country"


def test_every_failing_rule_at_once() -> None:
    data = {
        **sample_declaration(),
        "company": {"legal_name": "Amazon Web Services EMEA SARL", "parent_company": None},
        "hosting": [{"country": "US", "provider": "Amazon Web Services"}],
        "subprocessors": [{"name": "Zendesk", "country": "US", "purpose": "Assistance"}],
        "pupil_data": ["identity"],
        "gar_access": False,
        "retention_days": 3650,
        "advertising": True,
        "data_sale": True,
        "pupil_profiling": True,
        "trackers": ["Meta Pixel"],
        "dpo_contact": "",
        "privacy_policy_url": "",
        "certifications": [],
        "breach_notification_hours": 720,
        "deletion_at_end": False,
    }
    findings = check(Declaration.from_dict(data))
    assert [f.rule for f in findings] == list(RULES)
    severities = {f.rule: f.severity for f in findings}
    assert {r for r, s in severities.items() if s is Severity.WARNING} == {
        "trackers",
        "certifications",
    }
    assert all(s is Severity.BLOCKER for r, s in severities.items() if r in RULES[:12])


def test_check_uses_the_limits_given() -> None:
    strict = Limits(
        retention_days_max=30, breach_notification_hours_max=24, eea_countries=frozenset({"DE"})
    )
    findings = check(declaration(), limits=strict)
    blocked = {f.rule for f in findings if f.severity is Severity.BLOCKER}
    assert blocked == {"hosting_eea", "subprocessors_eea", "retention", "breach_notification"}
    assert "30 jours" in finding_of(findings, "retention").message
    assert "24 heures" in finding_of(findings, "breach_notification").message


def test_check_is_pure() -> None:
    decl = declaration(advertising=True)
    assert check(decl) == check(decl)
    assert decl == declaration(advertising=True)


# --- the exclusion list --------------------------------------------------------------------

EXCLUDED = [c.name for c in exclusion_list()]


@pytest.mark.parametrize(
    ("company_name", "expected"),
    [
        ("Google", "Google"),
        ("Google France SARL", "Google France"),
        ("GOOGLE IRELAND LIMITED", "Google Ireland"),
        ("google-ireland ltd.", "Google Ireland"),
        ("YouTube", "YouTube"),
        ("Youtube LLC", "YouTube"),
        ("Amazon Web Services EMEA SARL", "Amazon Web Services"),
        ("AWS", "AWS"),
        ("Amazon.com, Inc.", "Amazon"),
        ("Apple Distribution International Ltd", "Apple Distribution International"),
        ("Meta Platforms Ireland Limited", "Meta Platforms Ireland"),
        ("Facebook France", "Facebook"),
        ("WhatsApp LLC", "WhatsApp"),
        ("Microsoft Corporation", "Microsoft"),
        ("LinkedIn Ireland Unlimited Company", "LinkedIn"),
        ("GitHub, Inc.", "GitHub"),
        ("Mojang AB", "Mojang"),
        ("Alphabet Inc.", "Alphabet"),
        ("ALPHABET", "Alphabet"),
        ("Méta Éducation SAS", "Meta"),  # "Meta" as a whole word: explainable, on purpose
        ("Edu Meta S.A.S.", "Meta"),
        ("Alphabet et Compagnie", "Alphabet"),
        ("  Twitch   Interactive ", "Twitch"),
    ],
)
def test_excluded_names_match(company_name: str, expected: str) -> None:
    assert excluded_match(company_name, EXCLUDED) == expected


@pytest.mark.parametrize(
    "company_name",
    [
        "Applesoft Éducation",
        "Metaphore Éditions",
        "Metaverse Classe",
        "Googleplex Formation",
        "Éditions Lumière SAS",
        "Lawson Éditions",  # "AWS" is only found inside a word
        "Amazonie Découverte",
        "",
        "!!!",
    ],
)
def test_innocent_names_do_not_match(company_name: str) -> None:
    assert excluded_match(company_name, EXCLUDED) is None


def test_excluded_match_with_a_custom_list() -> None:
    assert excluded_match("Société Exemple SA", ["Exemple"]) == "Exemple"
    assert excluded_match("Société Exemple SA", []) is None
    assert excluded_match("Société Exemple SA", ["", "  "]) is None  # blank names never match
    assert excluded_match("Éditions Élan", ["EDITIONS ELAN"]) == "EDITIONS ELAN"


def test_normalize_company_name() -> None:
    assert normalize_company_name("  Google  Ireland, Ltd. ") == "google ireland"
    assert normalize_company_name("Méta-Éducation") == "meta education"
    assert normalize_company_name("STRASSE") == normalize_company_name("Straße")


def test_exclusion_uses_the_company_given_over_the_declared_one() -> None:
    decl = declaration()  # Éditions Lumière SAS
    found = finding_of(check(decl, company=Company("Google Ireland Limited")), "exclusion_list")
    assert found.severity is Severity.BLOCKER
    assert "Google Ireland" in found.message
    assert "groupe Alphabet" in found.message


def test_exclusion_parent_company_match() -> None:
    company = Company("Classe Numérique SAS", parent_company="Amazon.com Inc")
    found = finding_of(check(declaration(), company=company), "exclusion_list")
    assert found.severity is Severity.BLOCKER
    assert found.field == "company.parent_company"
    assert "maison mère" in found.message
    assert "groupe Amazon" in found.message


def test_exclusion_without_any_company_is_a_warning() -> None:
    found = finding_of(check(declaration(company=None)), "exclusion_list")
    assert found.severity is Severity.WARNING
    found = finding_of(
        check(declaration(company=None), company=Company("Lumière")), "exclusion_list"
    )
    assert found.severity is Severity.OK


def test_exclusion_with_custom_excluded_names() -> None:
    decl = declaration()
    found = finding_of(check(decl, excluded_names=["Groupe Lumière"]), "exclusion_list")
    assert found.severity is Severity.BLOCKER
    assert "« Groupe Lumière »" in found.message
    assert finding_of(check(decl, excluded_names=[]), "exclusion_list").severity is Severity.OK
    google = Company("Google France SARL")
    assert finding_of(check(decl, google, excluded_names=[]), "exclusion_list").severity is (
        Severity.OK
    )


# --- reading a declaration -----------------------------------------------------------------


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data[key]

    return change


def _set(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data[key] = value

    return change


def _set_in(key: str, index: int, field: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data[key][index][field] = value

    return change


def _delete_in(key: str, index: int, field: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data[key][index][field]

    return change


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (_without("hosting"), "hosting", "manquant"),
        (_without("retention_days"), "retention_days", "manquant"),
        (_without("dpo_contact"), "dpo_contact", "manquant"),
        (_set("hosting", []), "hosting", "au moins un"),
        (_set("hosting", {"country": "FR"}), "hosting", "liste"),
        (_set("hosting", ["FR"]), "hosting[0]", "objet"),
        (_set_in("hosting", 0, "country", "FRA"), "hosting[0].country", "2 lettres"),
        (_set_in("hosting", 0, "country", "F1"), "hosting[0].country", "2 lettres"),
        (_set_in("hosting", 0, "country", 33), "hosting[0].country", "texte"),
        (_set_in("hosting", 0, "provider", ""), "hosting[0].provider", "vide"),
        (_delete_in("hosting", 0, "provider"), "hosting[0].provider", "manquant"),
        (_set_in("hosting", 0, "region", "eu-west-3"), "hosting[0].region", "inconnu"),
        (_set_in("subprocessors", 0, "country", "USA"), "subprocessors[0].country", "USA"),
        (_delete_in("subprocessors", 0, "purpose"), "subprocessors[0].purpose", "manquant"),
        (_set("teacher_data", ["identity", "shoe_size"]), "teacher_data[1]", "shoe_size"),
        (_set("pupil_data", ["school"]), "pupil_data[0]", "inconnue"),  # a teacher category
        (_set("pupil_data", ["results", "results"]), "pupil_data[1]", "déjà"),
        (_set("pupil_data", [1]), "pupil_data[0]", "code"),
        (_set("purposes", []), "purposes", "au moins un"),
        (_set("purposes", ["  "]), "purposes[0]", "vide"),
        (_set("retention_days", -1), "retention_days", "négatif"),
        (_set("retention_days", "90"), "retention_days", "entier"),
        (_set("retention_days", 90.5), "retention_days", "entier"),
        (_set("retention_days", True), "retention_days", "entier"),
        (_set("breach_notification_hours", -24), "breach_notification_hours", "négatif"),
        (_set("advertising", "non"), "advertising", "true ou false"),
        (_set("advertising", 0), "advertising", "true ou false"),
        (_set("gar_access", None), "gar_access", "true ou false"),
        (_set("dpo_contact", None), "dpo_contact", "texte"),
        (_set("trackers", "Hotjar"), "trackers", "liste"),
        (_set("certifications", [None]), "certifications[0]", "texte"),
        (_set("company", "Lumière"), "company", "objet"),
        (_set("company", {"parent_company": "X"}), "company.legal_name", "manquant"),
        (_set("company", {"legal_name": 3}), "company.legal_name", "texte"),
        (_set("company", {"legal_name": "A", "siren": "1"}), "company.siren", "inconnu"),
        (_set("advertisement", False), "advertisement", "inconnu"),
    ],
)
def test_invalid_declaration_reports_the_field(
    change: Callable[[dict[str, Any]], None], path: str, reason: str
) -> None:
    data = sample_declaration()
    change(data)
    errors = errors_of(data)
    assert len(errors) == 1, errors
    assert errors[0][0] == path
    assert reason in errors[0][1]


def test_every_error_is_collected() -> None:
    data = sample_declaration()
    del data["deletion_at_end"]
    data["hosting"] = [{"country": "USA", "provider": ""}, {"country": "FR", "provider": "OVH"}]
    data["retention_days"] = -5
    data["pupil_data"] = ["pseudonym", "shoe_size"]
    errors = errors_of(data)
    assert [path for path, _ in errors] == [
        "hosting[0].country",
        "hosting[0].provider",
        "pupil_data[1]",
        "retention_days",
        "deletion_at_end",
    ]
    assert all(reason for _, reason in errors)


def test_invalid_declaration_message_lists_the_errors() -> None:
    error = InvalidDeclaration([("retention_days", "ne doit pas être négatif.")])
    assert isinstance(error, ValueError)
    assert str(error) == "retention_days : ne doit pas être négatif."


def test_not_an_object() -> None:
    assert errors_of([])[0][0] == "declaration"  # type: ignore[arg-type]


def test_empty_dpo_and_policy_are_read_for_the_rules_to_catch() -> None:
    decl = declaration(dpo_contact="", privacy_policy_url="")
    assert decl.dpo_contact == ""
    assert decl.privacy_policy_url == ""


def test_reading_normalizes_strings_and_countries() -> None:
    decl = declaration(
        hosting=[{"country": " fr ", "provider": " OVHcloud "}],
        company={"legal_name": " Éditions Lumière SAS ", "parent_company": ""},
    )
    assert decl.hosting[0].country == "FR"
    assert decl.hosting[0].provider == "OVHcloud"
    assert decl.company == Company("Éditions Lumière SAS", None)


def test_company_is_optional() -> None:
    data = sample_declaration()
    del data["company"]
    decl = Declaration.from_dict(data)
    assert decl.company is None
    assert "company" not in decl.to_dict()
    assert declaration(company=None).company is None
    assert declaration(company={"legal_name": "Lumière"}).company == Company("Lumière", None)


def test_sample_round_trip() -> None:
    decl = declaration()
    assert decl.to_dict() == sample_declaration()
    assert Declaration.from_dict(decl.to_dict()) == decl
    assert decl.company == Company("Éditions Lumière SAS", "Groupe Lumière")
    assert decl.teacher_data == ("identity", "email", "usage")


_words = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and s != "")
_countries = st.sampled_from(["FR", "DE", "US", "CN", "NO", "GB", "IE"])


def _codes(public: str) -> st.SearchStrategy[list[str]]:
    codes = [c.code for c in data_categories(public)]  # type: ignore[arg-type]
    return st.lists(st.sampled_from(codes), unique=True)


_declarations = st.fixed_dictionaries(
    {
        "hosting": st.lists(
            st.fixed_dictionaries({"country": _countries, "provider": _words}),
            min_size=1,
            max_size=3,
        ),
        "subprocessors": st.lists(
            st.fixed_dictionaries({"name": _words, "country": _countries, "purpose": _words}),
            max_size=3,
        ),
        "teacher_data": _codes("teacher"),
        "pupil_data": _codes("pupil"),
        "purposes": st.lists(_words, min_size=1, max_size=3),
        "retention_days": st.integers(min_value=0, max_value=10_000),
        "advertising": st.booleans(),
        "data_sale": st.booleans(),
        "pupil_profiling": st.booleans(),
        "trackers": st.lists(_words, max_size=3),
        "gar_access": st.booleans(),
        "dpo_contact": st.one_of(st.just(""), _words),
        "privacy_policy_url": st.one_of(st.just(""), _words),
        "certifications": st.lists(_words, max_size=3),
        "breach_notification_hours": st.integers(min_value=0, max_value=1_000),
        "deletion_at_end": st.booleans(),
    },
    optional={
        "company": st.fixed_dictionaries(
            {"legal_name": _words, "parent_company": st.one_of(st.none(), _words)}
        )
    },
)


@settings(max_examples=150, deadline=None)
@given(_declarations)
def test_round_trip(data: dict[str, object]) -> None:
    decl = Declaration.from_dict(data)
    assert decl.to_dict() == data
    assert Declaration.from_dict(decl.to_dict()) == decl
    findings = check(decl)
    assert [f.rule for f in findings] == list(RULES)
    assert has_blocker(findings) == any(f.severity is Severity.BLOCKER for f in findings)


# --- the command line ----------------------------------------------------------------------


def _write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "declaration.json"
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_example_is_compliant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE_FILE)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(RULES) + 1
    for rule, line in zip(RULES, lines, strict=False):
        assert line.startswith("CONFORME")
        assert rule in line
    assert "0 bloquant" in lines[-1]


def test_cli_blocker_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {**sample_declaration(), "advertising": True, "certifications": []}
    assert main(["check", _write(tmp_path, data)]) == 1
    out = capsys.readouterr().out
    assert "BLOQUANT       advertising" in out
    assert "AVERTISSEMENT  certifications" in out
    assert "CONFORME       hosting_eea" in out
    assert "1 bloquant, 1 avertissement, 12 conformes" in out
    assert "refusée" in out


def test_cli_warning_only_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = sample_declaration()
    del data["company"]
    assert main(["check", _write(tmp_path, data)]) == 0
    assert "AVERTISSEMENT  exclusion_list" in capsys.readouterr().out


def test_cli_reads_the_company_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {**sample_declaration(), "company": {"legal_name": "Instagram France"}}
    assert main(["check", _write(tmp_path, data)]) == 1
    assert "BLOQUANT       exclusion_list" in capsys.readouterr().out


def test_cli_invalid_declaration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {**sample_declaration(), "retention_days": -1, "pupil_data": ["shoe_size"]}
    assert main(["check", _write(tmp_path, data)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "retention_days : ne doit pas être négatif." in captured.err
    assert "pupil_data[0] : catégorie inconnue" in captured.err
    assert "2 erreurs" in captured.err


@pytest.mark.parametrize(
    ("content", "reason"),
    [("{not json", "JSON invalide ligne 1"), ("[1, 2]", "objet JSON"), ("", "JSON invalide")],
)
def test_cli_invalid_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, reason: str
) -> None:
    path = _write(tmp_path, content)
    assert main(["check", path]) == 1
    err = capsys.readouterr().err
    assert f"{path} : " in err
    assert reason in err


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "absent.json")]) == 1
    assert "fichier illisible" in capsys.readouterr().err


def test_cli_usage_error() -> None:
    with pytest.raises(SystemExit) as excinfo:
        main([])
    assert excinfo.value.code == 2


def test_python_dash_m_catalog(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "catalog", "check", str(EXAMPLE_FILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "CONFORME" in ok.stdout
    blocked = subprocess.run(
        [sys.executable, "-m", "catalog", "check", _write(tmp_path, {"hosting": []})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert blocked.returncode == 1
    assert "hosting : doit contenir au moins un élément." in blocked.stderr


def test_durations_agree_with_their_number() -> None:
    one = declaration(retention_days=1, breach_notification_hours=1)
    messages = " ".join(finding.message for finding in check(one))

    assert "Durée de conservation de 1 jour, dans la limite de" in messages
    assert "Notification d'une violation de données sous 1 heure." in messages
    assert "Elles sont conservées 1 jour au plus après la fin de l’abonnement." in (
        privacy.plain_summary(one)
    )
    assert conduct.counted(0, "jour") == "0 jour"
    assert conduct.counted(2, "jour") == "2 jours"
