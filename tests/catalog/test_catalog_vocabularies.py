"""Tests of catalog.vocabularies: the data files load, are complete and consistent."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import pytest

from catalog import datafiles, vocabularies
from catalog.vocabularies import (
    Discipline,
    VocabularyError,
    academies,
    academy,
    academy_for_uai,
    disciplines,
    label_of,
    levels,
    resource_types,
    school_kinds,
)

EXPECTED_ACADEMIES = {
    "01": "Paris",
    "02": "Aix-Marseille",
    "03": "Besançon",
    "04": "Bordeaux",
    "06": "Clermont-Ferrand",
    "07": "Dijon",
    "08": "Grenoble",
    "09": "Lille",
    "10": "Lyon",
    "11": "Montpellier",
    "12": "Nancy-Metz",
    "13": "Poitiers",
    "14": "Rennes",
    "15": "Strasbourg",
    "16": "Toulouse",
    "17": "Nantes",
    "18": "Orléans-Tours",
    "19": "Reims",
    "20": "Amiens",
    "22": "Limoges",
    "23": "Nice",
    "24": "Créteil",
    "25": "Versailles",
    "27": "Corse",
    "28": "La Réunion",
    "31": "Martinique",
    "32": "Guadeloupe",
    "33": "Guyane",
    "43": "Mayotte",
    "70": "Normandie",
}

DATA_FILES = [
    "academies.json",
    "school_kinds.json",
    "levels.json",
    "disciplines.json",
    "resource_types.json",
]


@pytest.mark.parametrize("filename", DATA_FILES)
def test_data_file_is_packaged_utf8_json(filename: str) -> None:
    text = (resources.files("catalog") / "data" / filename).read_text(encoding="utf-8")
    data = json.loads(text)
    assert isinstance(data, list)
    assert data


def test_every_loader_returns_a_non_empty_tuple() -> None:
    for loader in (academies, school_kinds, levels, disciplines, resource_types):
        items = loader()
        assert isinstance(items, tuple)
        assert items
        assert loader() is items  # cached


def test_thirty_academies_with_the_ministry_codes_and_names() -> None:
    items = academies()
    assert len(items) == 30
    assert len({a.code for a in items}) == 30
    assert {a.code: a.name for a in items} == EXPECTED_ACADEMIES


def test_academies_are_in_file_order() -> None:
    codes = [a.code for a in academies()]
    assert codes[0] == "01"
    assert codes[-1] == "70"
    assert codes == sorted(codes)


def test_academy_email_domains() -> None:
    domains = {a.code: a.email_domain for a in academies()}
    assert domains["01"] == "ac-paris.fr"
    assert domains["02"] == "ac-aix-marseille.fr"
    assert domains["06"] == "ac-clermont.fr"
    assert domains["12"] == "ac-nancy-metz.fr"
    assert domains["18"] == "ac-orleans-tours.fr"
    assert domains["24"] == "ac-creteil.fr"
    assert domains["28"] == "ac-reunion.fr"
    assert domains["70"] == "ac-normandie.fr"
    for domain in domains.values():
        assert domain.startswith("ac-")
        assert domain.endswith(".fr")
        assert domain.isascii()
    assert len(set(domains.values())) == 30


def test_an_academy_lists_its_email_domains_current_first() -> None:
    normandie = academy("70")
    assert normandie is not None
    assert normandie.email_domains == ("ac-normandie.fr", "ac-caen.fr", "ac-rouen.fr")
    assert normandie.email_domain == "ac-normandie.fr"
    for address in ("a.b@ac-normandie.fr", "A.B@AC-Caen.fr ", "a@ac-rouen.fr"):
        assert normandie.accepts_email(address)
    for address in ("a@ac-paris.fr", "a@gmail.com", "ac-caen.fr", "@ac-caen.fr", "a@x.ac-caen.fr"):
        assert not normandie.accepts_email(address)
    every = [d for a in academies() for d in a.email_domains]
    assert len(every) == len(set(every))  # a domain belongs to one academy


def test_departments_cover_france_once() -> None:
    departments = [d for a in academies() for d in a.departments]
    assert len(departments) == len(set(departments))
    # Metropolitan France: 001 to 095 without 020 (Corsica is 620 and 720 in UAIs).
    metropolitan = {f"{n:03d}" for n in range(1, 96) if n != 20} | {"620", "720"}
    overseas = {"971", "972", "973", "974", "976"}
    assert set(departments) == metropolitan | overseas


def _departments(code: str) -> tuple[str, ...]:
    found = academy(code)
    assert found is not None
    return found.departments


def test_some_departments() -> None:
    assert _departments("01") == ("075",)
    assert _departments("02") == ("004", "005", "013", "084")
    assert "069" in _departments("10")
    assert _departments("27") == ("620", "720")
    assert _departments("24") == ("077", "093", "094")
    assert _departments("25") == ("078", "091", "092", "095")
    assert _departments("70") == ("014", "027", "050", "061", "076")
    assert _departments("28") == ("974",)
    assert _departments("32") == ("971",)
    assert _departments("43") == ("976",)


def test_academy_lookup() -> None:
    paris = academy("01")
    assert paris is not None
    assert paris.name == "Paris"
    assert paris.label == "Paris"
    assert academy("05") is None
    assert academy("") is None
    assert academy("1") is None


def test_academy_for_uai() -> None:
    assert academy_for_uai("0750654D") == academy("01")
    assert academy_for_uai(" 0693330v ") == academy("10")
    assert academy_for_uai("6200001G") == academy("27")
    assert academy_for_uai("9760001A") == academy("43")
    assert academy_for_uai("0200001A") is None
    assert academy_for_uai("") is None


def test_values_are_immutable() -> None:
    paris = academies()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        paris.name = "Lutèce"  # type: ignore[misc]
    assert isinstance(paris.departments, tuple)


def test_school_kinds() -> None:
    codes = [k.code for k in school_kinds()]
    assert codes == [
        "ecole_maternelle",
        "ecole_elementaire",
        "ecole_primaire",
        "college",
        "lycee_general_technologique",
        "lycee_professionnel",
        "lycee_polyvalent",
        "erea",
    ]
    assert label_of("school_kinds", "college") == "Collège"


def test_levels_and_classes() -> None:
    structure = {level.code: [c.code for c in level.classes] for level in levels()}
    assert structure == {
        "cycle_1": ["PS", "MS", "GS"],
        "cycle_2": ["CP", "CE1", "CE2"],
        "cycle_3": ["CM1", "CM2", "6e"],
        "cycle_4": ["5e", "4e", "3e"],
        "lycee": ["2de", "1re", "Tle"],
    }
    assert levels()[0].label == "Cycle 1 — apprentissages premiers"
    assert levels()[-1].label == "Lycée"
    assert label_of("classes", "PS") == "Petite section"
    assert label_of("classes", "6e") == "Sixième"
    assert label_of("classes", "CP") == "CP"


def test_disciplines() -> None:
    items = disciplines()
    assert 20 <= len(items) <= 30
    labels = {d.label for d in items}
    for expected in (
        "Français",
        "Mathématiques",
        "Histoire-géographie",
        "Éducation physique et sportive",
        "Éducation aux médias et à l'information",
        "Numérique et sciences informatiques",
    ):
        assert expected in labels
    assert len({d.code for d in items}) == len(items)


def test_resource_types() -> None:
    items = resource_types()
    assert len(items) >= 10
    assert label_of("resource_types", "manuel_numerique") == "Manuel numérique"
    assert len({t.code for t in items}) == len(items)


def test_label_of() -> None:
    assert label_of("academies", "24") == "Créteil"
    assert label_of("levels", "cycle_3") == "Cycle 3 — consolidation"
    assert label_of("disciplines", "mathematiques") == "Mathématiques"
    assert label_of("disciplines", "alchimie") is None


def test_codes_are_plain_identifiers() -> None:
    for loader in (school_kinds, disciplines, resource_types):
        for item in loader():
            assert item.code.isascii()
            assert item.code == item.code.strip()
            assert " " not in item.code
            assert item.label == item.label.strip()


def test_duplicate_codes_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_load(filename: str) -> list[dict[str, object]]:
        return [
            {"code": "francais", "label": "Français"},
            {"code": "francais", "label": "Lettres"},
        ]

    monkeypatch.setattr(vocabularies, "load_objects", fake_load)
    with pytest.raises(VocabularyError, match="duplicate codes: francais"):
        vocabularies._load_coded("disciplines.json", Discipline)


def test_missing_label_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_load(filename: str) -> list[dict[str, object]]:
        return [{"code": "francais", "label": ""}]

    monkeypatch.setattr(vocabularies, "load_objects", fake_load)
    with pytest.raises(VocabularyError, match="'label' must be a non-empty string"):
        vocabularies._load_coded("disciplines.json", Discipline)


def test_missing_file_is_reported() -> None:
    with pytest.raises(VocabularyError, match="nope.json"):
        datafiles.load_objects("nope.json")
