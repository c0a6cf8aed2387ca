"""Matching company names against the exclusion list (catalog/exclusion.py): normalised
names, whole words, the known aliases and subsidiaries of each listed group, and a match
that says which entry matched through which name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog import datafiles, exclusion
from catalog.datafiles import VocabularyError
from catalog.exclusion import (
    LEGAL_FORMS,
    Entry,
    KnownGroup,
    find_match,
    known_groups,
    known_names,
    normalize_company_name,
)

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10).filter(
    lambda w: w not in LEGAL_FORMS
)
# Words of legal forms, written as people do.
LEGAL_SUFFIXES = ["SAS", "S.A.S.", "SASU", "SARL", "S.A.", "EURL", "Inc.", "Ltd", "LLC", "GmbH"]
LEGAL_SUFFIXES += ["B.V.", "PLC", "Corp."]


@pytest.mark.parametrize(
    ("company", "entry", "found"),
    [
        ("Edu Meta SAS", "Meta", "Meta"),
        ("ALPHABET", "Alphabet", "Alphabet"),
        ("Alphabet Inc.", "Alphabet", "Alphabet"),
        ("YouTube Kids France SASU", "Alphabet", "YouTube"),
        ("DeepMind Technologies Ltd", "Alphabet", "DeepMind"),
        ("Instagram Éducation", "Meta", "Instagram"),
        ("WhatsApp Ireland Limited", "Meta", "WhatsApp"),
        ("Amazon.com, Inc.", "Amazon", "Amazon"),
        ("Twitch Interactive", "Amazon", "Twitch"),
        ("Beats Electronics LLC", "Apple", "Beats Electronics"),
        ("GitHub B.V.", "Microsoft", "GitHub"),
        ("Méta-Éducation S.A.S.", "Meta", "Meta"),
    ],
)
def test_a_group_matches_by_its_name_and_by_its_known_names(
    company: str, entry: str, found: str
) -> None:
    entries = ["Alphabet", "Meta", "Amazon", "Apple", "Microsoft"]
    match = find_match(company, entries)
    assert match is not None
    assert (match.entry.name, match.found) == (entry, found)
    assert match.group == entry


@pytest.mark.parametrize(
    "company",
    [
        "Metaphore Éditions",
        "Metaverse Classe",
        "Applesoft Éducation",
        "Googleplex Formation",
        "Amazonie Découverte",
        "Lawson Éditions",
        "Éditions Lumière SAS",
        "SAS",
        "",
    ],
)
def test_a_listed_name_inside_another_word_does_not_match(company: str) -> None:
    assert find_match(company, ["Alphabet", "Meta", "Amazon", "Apple", "Microsoft"]) is None


def test_an_entry_the_operator_adds_without_known_group_matches_by_its_name_only() -> None:
    match = find_match("Cartable Malin Holding", [Entry("Cartable Malin", "Groupe Malin")])
    assert match is not None
    assert (match.entry.name, match.found, match.group) == (
        "Cartable Malin",
        "Cartable Malin",
        "Groupe Malin",
    )
    assert not match.through_alias


def test_a_subsidiary_listed_alone_brings_its_whole_group() -> None:
    match = find_match("Instagram Kids", [Entry("Facebook")])
    assert match is not None
    assert match.entry.name == "Facebook"
    assert match.found == "Instagram"
    assert match.group == "Meta"
    assert match.through_alias


def test_an_entry_named_by_its_group_field_brings_the_group() -> None:
    match = find_match("YouTube SAS", [Entry("Google Classroom", group="Alphabet")])
    assert match is not None
    assert match.found == "YouTube"


def test_the_entry_matched_by_its_own_name_wins_then_the_most_specific() -> None:
    entries = [Entry("Alphabet"), Entry("Google"), Entry("Google France")]
    match = find_match("Google France SARL", entries)
    assert match is not None
    assert match.entry.name == "Google France"
    assert not match.through_alias


def test_known_names_of_a_group() -> None:
    names = known_names(Entry("Meta"))
    assert names[0] == "Meta"
    assert {"Facebook", "Instagram", "WhatsApp"} <= set(names)
    assert known_names(Entry("Inconnue SA")) == ("Inconnue SA",)


def test_the_known_groups() -> None:
    groups = known_groups()
    assert [g.name for g in groups] == ["Alphabet", "Apple", "Meta", "Amazon", "Microsoft"]
    assert "YouTube" in groups[0].aliases


def test_normalised_names() -> None:
    assert normalize_company_name("Méta-Éducation S.A.S.") == "meta education"
    assert normalize_company_name("  Google  Ireland, Ltd. ") == "google ireland"
    assert normalize_company_name("Amazon.com, Inc.") == "amazon com"
    assert normalize_company_name("SARL") == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            [{"name": "Alphabet", "aliases": ["Google", "GOOGLE Inc."]}],
            "duplicate names: google",
        ),
        ([{"name": "Alphabet", "aliases": ["S.A.S."]}], "no letter or digit"),
        ([{"name": "Alphabet", "aliases": "Google"}], "'aliases' must be a list"),
        ([{"aliases": ["Google"]}], "'name' must be a non-empty string"),
    ],
)
def test_a_broken_data_file_is_rejected(
    monkeypatch: pytest.MonkeyPatch, content: object, message: str
) -> None:
    monkeypatch.setattr(exclusion, "load_objects", lambda f: datafiles.object_list(f, content))
    with pytest.raises(VocabularyError, match=message):
        known_groups.__wrapped__()


# --- properties ----------------------------------------------------------------------------


@given(
    before=st.lists(WORD, max_size=3),
    after=st.lists(WORD, max_size=3),
    suffix=st.sampled_from(["", *LEGAL_SUFFIXES]),
    shout=st.booleans(),
)
def test_a_listed_name_among_other_words_always_matches(
    before: list[str], after: list[str], suffix: str, shout: bool
) -> None:
    company = " ".join([*before, "Méta", *after, suffix]).strip()
    company = company.upper() if shout else company
    match = find_match(company, ["Meta"])
    assert match is not None
    assert match.entry.name == "Meta"


@given(prefix=WORD, suffix=WORD)
def test_a_listed_name_glued_to_other_letters_never_matches(prefix: str, suffix: str) -> None:
    groups: list[KnownGroup] = []  # no aliases: only the entry itself
    assert find_match(f"{prefix}meta {suffix}", ["Meta"], groups) is None or prefix == "meta"
    assert find_match(f"{prefix} meta{suffix}", ["Meta"], groups) is None or suffix == "meta"


@given(name=st.text(max_size=40), suffix=st.sampled_from(LEGAL_SUFFIXES))
def test_legal_forms_case_and_accents_never_change_the_normalised_name(
    name: str, suffix: str
) -> None:
    normalized = normalize_company_name(name)
    assert normalize_company_name(f"{name} {suffix}") == normalized
    assert normalize_company_name(name.upper()) == normalize_company_name(name.lower())
    assert normalize_company_name(normalized) == normalized


@given(company=st.text(max_size=40))
def test_matching_a_name_never_fails_and_explains_itself(company: str) -> None:
    match = find_match(company, ["Alphabet", "Meta", Entry("Cartable Malin")])
    if match is not None:
        assert f" {normalize_company_name(match.found)} " in f" {normalize_company_name(company)} "
        assert match.found in known_names(match.entry)
