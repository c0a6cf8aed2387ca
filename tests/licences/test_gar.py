"""The GAR subscription document: mapping, rendering, the GAR's consistency rules."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.licences.gar import (
    InvalidSubscription,
    Subscription,
    for_licence,
    put_request,
    to_xml,
    validate,
)

EXPECTED = Path(__file__).parent / "gar"
NS = "http://www.atosworldline.com/wsabonnement/v1.0/"
PARIS = ZoneInfo("Europe/Paris")
DISTRIBUTOR = "123456789_0000000000000000"

# The GAR's element order, as an independent reference for the rendering.
GAR_ORDER = [
    "idAbonnement",
    "commentaireAbonnement",
    "idDistributeurCom",
    "idRessource",
    "typeIdRessource",
    "libelleRessource",
    "debutValidite",
    "finValidite",
    "uaiEtab",
    "categorieAffectation",
    "typeAffectation",
    "nbLicenceEnseignant",
    "nbLicenceEleve",
    "nbLicenceProfDoc",
    "nbLicenceAutrePersonnel",
    "nbLicenceGlobale",
    "publicCible",
]


def teacher_licence() -> Subscription:
    return for_licence(
        licence_id=42,
        ark="ark:/12345/r1",
        title="Histoire-géographie 5e : cahier d'activités & corrigés",
        uai="0750001U",
        plan_kind="teacher",
        seats=1,
        valid_from=date(2026, 9, 1),
        valid_until=date(2027, 8, 31),
        distributor_id=DISTRIBUTOR,
    )


def school_licence() -> Subscription:
    return for_licence(
        licence_id=7,
        ark="ark:/67890/atlas-college.p",
        title="Atlas numérique du collège",
        uai="0561622J",
        plan_kind="school",
        seats=600,
        valid_from=date(2026, 11, 2),
        valid_until=date(2027, 8, 31),
        distributor_id=DISTRIBUTOR,
    )


def indiv(**changes: Any) -> Subscription:
    """A valid INDIV subscription with per-public counts, then ``changes``."""
    base = Subscription(
        id_abonnement="CR-1",
        id_distributeur_com=DISTRIBUTOR,
        id_ressource="ark:/12345/r1",
        libelle_ressource="Ressource",
        debut_validite=datetime(2026, 9, 1, tzinfo=PARIS),
        fin_validite=datetime(2027, 8, 31, 23, 59, 59, tzinfo=PARIS),
        uai_etab="0750001U",
        type_affectation="INDIV",
        nb_licence_enseignant=1,
        public_cible=("ENSEIGNANT",),
    )
    return dataclasses.replace(base, **changes)


def etabl(**changes: Any) -> Subscription:
    """A valid ETABL subscription with a global count, then ``changes``."""
    base = indiv(
        type_affectation="ETABL",
        nb_licence_enseignant=None,
        nb_licence_globale="ILLIMITE",
        public_cible=("ENSEIGNANT", "ELEVE", "DOCUMENTALISTE"),
    )
    return dataclasses.replace(base, **changes)


def error_fields(sub: Subscription) -> list[str]:
    with pytest.raises(InvalidSubscription) as caught:
        validate(sub)
    return [field for field, _reason in caught.value.errors]


def canonical(document: bytes) -> str:
    return ET.canonicalize(document.decode("utf-8"), strip_text=True)


def parse(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - the document this module just built


def local_names(document: bytes) -> list[str]:
    root = parse(document)
    assert root.tag == f"{{{NS}}}abonnement"
    names = []
    for child in root:
        namespace, _, name = child.tag[1:].partition("}")
        assert namespace == NS
        names.append(name)
    return names


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [(teacher_licence, "indiv_teacher.xml"), (school_licence, "etabl_school.xml")],
)
def test_document_equals_the_expected_one(make: Any, expected: str) -> None:
    document = to_xml(make())

    assert canonical(document) == canonical((EXPECTED / expected).read_bytes())


def test_document_is_utf8_with_a_declaration() -> None:
    document = to_xml(teacher_licence())

    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert "cahier d'activités &amp; corrigés".encode() in document


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (
            teacher_licence,
            [*GAR_ORDER[:11], "nbLicenceEnseignant", "publicCible"],
        ),
        (
            school_licence,
            [*GAR_ORDER[:11], "nbLicenceGlobale", "publicCible", "publicCible", "publicCible"],
        ),
    ],
)
def test_elements_come_in_the_gar_order(make: Any, names: list[str]) -> None:
    assert local_names(to_xml(make())) == names


def test_every_count_comes_in_the_gar_order() -> None:
    sub = indiv(
        nb_licence_enseignant=3,
        nb_licence_eleve=90,
        nb_licence_prof_doc=1,
        nb_licence_autre_personnel=2,
        public_cible=("ELEVE", "AUTRE PERSONNEL", "ENSEIGNANT", "DOCUMENTALISTE"),
        commentaire_abonnement="",
    )

    document = to_xml(sub)

    names = local_names(document)
    assert "commentaireAbonnement" not in names  # optional, left out when empty
    positions = [GAR_ORDER.index(name) for name in names]
    assert positions == sorted(positions)
    assert len(names) == len(GAR_ORDER) - 2 + 3  # no comment, no global; four publics
    root = parse(document)
    assert [e.text for e in root.findall(f"{{{NS}}}publicCible")] == [
        "ELEVE",
        "AUTRE PERSONNEL",
        "ENSEIGNANT",
        "DOCUMENTALISTE",
    ]
    assert root.findtext(f"{{{NS}}}nbLicenceEleve") == "90"


def test_dates_keep_their_offset() -> None:
    sub = indiv(
        debut_validite=datetime(2026, 9, 1, 8, 30, tzinfo=UTC),
        fin_validite=datetime(2027, 1, 15, 12, 0, tzinfo=PARIS),
    )

    root = parse(to_xml(sub))

    assert root.findtext(f"{{{NS}}}debutValidite") == "2026-09-01T08:30:00+00:00"
    assert root.findtext(f"{{{NS}}}finValidite") == "2027-01-15T12:00:00+01:00"


def test_an_invalid_subscription_is_not_rendered() -> None:
    with pytest.raises(InvalidSubscription):
        to_xml(indiv(uai_etab="0750001A"))


# --- checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sub",
    [
        indiv(),
        etabl(),
        etabl(nb_licence_globale=250),
        indiv(nb_licence_enseignant=None, nb_licence_globale="ILLIMITE"),
        indiv(categorie_affectation="non transferable"),
        indiv(id_abonnement="A" * 45),
        indiv(id_abonnement="cr.2026_09-0750001U"),
        indiv(fin_validite=datetime(2036, 9, 1, tzinfo=PARIS)),  # exactly ten years
        indiv(nb_licence_enseignant=99_999_999),
        indiv(type_id_ressource="uri", id_ressource="https://example.org/r1"),
    ],
    ids=[
        "indiv",
        "etabl",
        "etabl-number",
        "indiv-global",
        "non-transferable",
        "id-45",
        "id-chars",
        "ten-years",
        "count-8-digits",
        "not-ark",
    ],
)
def test_valid_subscriptions_pass(sub: Subscription) -> None:
    validate(sub)


@pytest.mark.parametrize(
    ("sub", "field"),
    [
        # RG1: a global count XOR counts per public.
        pytest.param(
            indiv(nb_licence_globale=10), "nb_licence_globale", id="global-and-per-public"
        ),
        pytest.param(indiv(nb_licence_enseignant=None), "nb_licence_globale", id="no-count"),
        # RG5: each per-public count needs its public.
        pytest.param(
            indiv(public_cible=("ELEVE",), nb_licence_eleve=30),
            "nb_licence_enseignant",
            id="teachers-without-ENSEIGNANT",
        ),
        pytest.param(indiv(nb_licence_eleve=30), "nb_licence_eleve", id="pupils-without-ELEVE"),
        pytest.param(
            indiv(nb_licence_prof_doc=1), "nb_licence_prof_doc", id="librarians-without-DOC"
        ),
        pytest.param(
            indiv(nb_licence_autre_personnel=2),
            "nb_licence_autre_personnel",
            id="staff-without-AUTRE-PERSONNEL",
        ),
        # RG6: ETABL means a global count and no count per public.
        pytest.param(
            etabl(nb_licence_globale=None, nb_licence_enseignant=5),
            "type_affectation",
            id="etabl-per-public",
        ),
        pytest.param(etabl(nb_licence_globale=None), "type_affectation", id="etabl-no-count"),
        # Dates.
        pytest.param(
            indiv(fin_validite=datetime(2026, 8, 31, tzinfo=PARIS)),
            "fin_validite",
            id="end-before-start",
        ),
        pytest.param(
            indiv(fin_validite=datetime(2026, 9, 1, tzinfo=PARIS)),
            "fin_validite",
            id="end-equals-start",
        ),
        pytest.param(
            indiv(fin_validite=datetime(2036, 9, 1, 0, 0, 1, tzinfo=PARIS)),
            "fin_validite",
            id="over-ten-years",
        ),
        pytest.param(
            indiv(debut_validite=datetime(2026, 9, 1)),  # noqa: DTZ001 - naive on purpose
            "debut_validite",
            id="naive-start",
        ),
        pytest.param(
            indiv(fin_validite=datetime(2027, 8, 31)),  # noqa: DTZ001 - naive on purpose
            "fin_validite",
            id="naive-end",
        ),
        # idAbonnement.
        pytest.param(indiv(id_abonnement=""), "id_abonnement", id="id-empty"),
        pytest.param(indiv(id_abonnement="A" * 46), "id_abonnement", id="id-46-chars"),
        pytest.param(indiv(id_abonnement="CR 42"), "id_abonnement", id="id-space"),
        pytest.param(indiv(id_abonnement="CR/42"), "id_abonnement", id="id-slash"),
        pytest.param(indiv(id_abonnement="CR-é42"), "id_abonnement", id="id-accent"),
        pytest.param(indiv(id_abonnement="_CR-42"), "id_abonnement", id="id-underscore-first"),
        pytest.param(indiv(id_abonnement="abonnements"), "id_abonnement", id="id-reserved"),
        pytest.param(indiv(id_abonnement="categorie"), "id_abonnement", id="id-reserved-2"),
        # Resource, distributor, labels.
        pytest.param(indiv(id_ressource=""), "id_ressource", id="resource-empty"),
        pytest.param(indiv(id_ressource="r1"), "id_ressource", id="resource-not-ark"),
        pytest.param(indiv(id_ressource="ark:/12/r1"), "id_ressource", id="resource-short-naan"),
        pytest.param(indiv(type_id_ressource=""), "type_id_ressource", id="resource-type-empty"),
        pytest.param(
            indiv(id_distributeur_com="123456789"), "id_distributeur_com", id="distributor"
        ),
        pytest.param(indiv(libelle_ressource="  "), "libelle_ressource", id="title-empty"),
        pytest.param(indiv(libelle_ressource="x" * 256), "libelle_ressource", id="title-long"),
        pytest.param(
            indiv(commentaire_abonnement="x" * 256), "commentaire_abonnement", id="comment-long"
        ),
        # UAI.
        pytest.param(indiv(uai_etab="0750001A"), "uai_etab", id="uai-check-letter"),
        pytest.param(indiv(uai_etab="075001U"), "uai_etab", id="uai-short"),
        pytest.param(indiv(uai_etab="0750001u"), "uai_etab", id="uai-lower-case"),
        # Counts.
        pytest.param(indiv(nb_licence_enseignant=0), "nb_licence_enseignant", id="count-zero"),
        pytest.param(indiv(nb_licence_enseignant=-1), "nb_licence_enseignant", id="count-negative"),
        pytest.param(indiv(nb_licence_enseignant=True), "nb_licence_enseignant", id="count-bool"),
        pytest.param(
            indiv(nb_licence_enseignant=100_000_000), "nb_licence_enseignant", id="count-9-digits"
        ),
        pytest.param(etabl(nb_licence_globale=0), "nb_licence_globale", id="global-zero"),
        pytest.param(etabl(nb_licence_globale="10"), "nb_licence_globale", id="global-string"),
        pytest.param(
            etabl(nb_licence_globale="illimite"), "nb_licence_globale", id="global-lower-case"
        ),
        # Affectation.
        pytest.param(indiv(categorie_affectation="autre"), "categorie_affectation", id="category"),
        pytest.param(indiv(type_affectation="CLASSE"), "type_affectation", id="affectation"),
        # Publics.
        pytest.param(
            indiv(public_cible=(), nb_licence_enseignant=None, nb_licence_globale=5),
            "public_cible",
            id="publics-empty",
        ),
        pytest.param(
            indiv(public_cible=("ENSEIGNANT", "PARENT")), "public_cible", id="public-unknown"
        ),
        pytest.param(
            indiv(public_cible=("ENSEIGNANT", "ENSEIGNANT")), "public_cible", id="public-twice"
        ),
    ],
)
def test_each_rule_names_its_field(sub: Subscription, field: str) -> None:
    assert field in error_fields(sub)


def test_all_problems_are_reported_at_once() -> None:
    sub = indiv(
        id_abonnement="",
        uai_etab="nope",
        nb_licence_eleve=30,
        fin_validite=datetime(2020, 1, 1, tzinfo=PARIS),
    )

    with pytest.raises(InvalidSubscription) as caught:
        validate(sub)

    fields = {field for field, _reason in caught.value.errors}
    assert fields == {"id_abonnement", "uai_etab", "nb_licence_eleve", "fin_validite"}
    assert all(reason for _field, reason in caught.value.errors)
    assert isinstance(caught.value, ValueError)


# --- mapping of the app's plans -----------------------------------------------------------------


def test_a_teacher_plan_is_one_teacher_seat() -> None:
    sub = teacher_licence()

    assert sub.id_abonnement == "CR-42"
    assert sub.type_affectation == "INDIV"
    assert sub.public_cible == ("ENSEIGNANT",)
    assert sub.nb_licence_enseignant == 1
    assert sub.nb_licence_eleve is None
    assert sub.nb_licence_globale is None
    assert sub.categorie_affectation == "transferable"
    assert sub.type_id_ressource == "ark"


def test_a_class_plan_is_a_teacher_and_its_pupils() -> None:
    sub = for_licence(
        licence_id=9,
        ark="ark:/12345/r1",
        title="Ressource",
        uai=" 0750001u ",
        plan_kind="class",
        seats=32,
        valid_from=date(2026, 9, 1),
        valid_until=date(2027, 7, 4),
        distributor_id=DISTRIBUTOR,
        prefix="CRTEST",
    )

    assert sub.id_abonnement == "CRTEST-9"
    assert sub.uai_etab == "0750001U"
    assert sub.type_affectation == "INDIV"
    assert sub.public_cible == ("ENSEIGNANT", "ELEVE")
    assert (sub.nb_licence_enseignant, sub.nb_licence_eleve) == (1, 32)
    assert sub.nb_licence_globale is None
    validate(sub)


def test_a_school_plan_is_the_whole_school_unlimited() -> None:
    sub = school_licence()

    assert sub.type_affectation == "ETABL"
    assert sub.nb_licence_globale == "ILLIMITE"
    assert all(count is None for count in sub.per_public_counts().values())
    assert sub.public_cible == ("ENSEIGNANT", "ELEVE", "DOCUMENTALISTE")


def test_validity_runs_from_midnight_to_the_last_second_in_paris() -> None:
    sub = school_licence()

    assert sub.debut_validite == datetime(2026, 11, 2, 0, 0, 0, tzinfo=PARIS)
    assert sub.debut_validite.utcoffset() == timedelta(hours=1)
    assert sub.fin_validite == datetime(2027, 8, 31, 23, 59, 59, tzinfo=PARIS)
    assert sub.fin_validite.utcoffset() == timedelta(hours=2)


def test_a_class_plan_without_seats_is_refused() -> None:
    sub = dataclasses.replace(
        teacher_licence(), nb_licence_eleve=0, public_cible=("ENSEIGNANT", "ELEVE")
    )

    assert "nb_licence_eleve" in error_fields(sub)


def test_an_unknown_plan_kind_is_refused() -> None:
    with pytest.raises(InvalidSubscription) as caught:
        for_licence(
            licence_id=1,
            ark="ark:/12345/r1",
            title="Ressource",
            uai="0750001U",
            plan_kind="academy",
            seats=1,
            valid_from=date(2026, 9, 1),
            valid_until=date(2027, 8, 31),
            distributor_id=DISTRIBUTOR,
        )

    assert [field for field, _reason in caught.value.errors] == ["plan_kind"]


# --- request ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    ["https://abonnement.partenaire.test-gar.education.fr", "https://abonnement.gar.education.fr/"],
)
def test_put_request(base_url: str) -> None:
    sub = teacher_licence()

    url, body, headers = put_request(base_url, sub)

    assert url == f"{base_url.rstrip('/')}/CR-42"
    assert body == to_xml(sub)
    assert headers == {
        "Content-Type": "application/xml;charset=utf-8",
        "Accept": "application/xml",
    }


def test_put_request_refuses_an_invalid_subscription() -> None:
    with pytest.raises(InvalidSubscription):
        put_request("https://abonnement.gar.education.fr", indiv(id_abonnement="../etc"))
