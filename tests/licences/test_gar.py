"""The GAR subscription document: mapping, rendering, the GAR's consistency rules (RG1 to
RG13 as the Ludicat/api-gar SDK quotes them), and the GAR's list of schools."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from app.licences.gar import (
    InvalidEtablissements,
    InvalidSubscription,
    Subscription,
    delete_request,
    ended,
    for_licence,
    new_subscription_id,
    put_request,
    read_etablissements,
    to_xml,
    update_request,
    validate,
)
from catalog import vocabularies

EXPECTED = Path(__file__).parent / "gar"
NS = "http://www.atosworldline.com/wsabonnement/v1.0/"
PARIS = ZoneInfo("Europe/Paris")
DISTRIBUTOR = "123456789_0000000000000000"
TEACHER_SUB_ID = "CR-7d3f2c1a-5b4e-4f6a-9c8d-0e1f2a3b4c5d"
SCHOOL_SUB_ID = "CR-0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"

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
        id_abonnement=TEACHER_SUB_ID,
        ark="ark:/12345/r1",
        title="Histoire-géographie 5e : cahier d'activités & corrigés",
        uai="0750001U",
        school_kind="college",
        plan_kind="teacher",
        seats=1,
        valid_from=date(2026, 9, 1),
        valid_until=date(2027, 8, 31),
        distributor_id=DISTRIBUTOR,
    )


def school_licence(school_kind: str = "college") -> Subscription:
    return for_licence(
        licence_id=7,
        id_abonnement=SCHOOL_SUB_ID,
        ark="ark:/67890/atlas-college.p",
        title="Atlas numérique du collège",
        uai="0561622J",
        school_kind=school_kind,
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


def strict_parse(document: bytes) -> etree._Element:
    """libxml2, which refuses any character XML 1.0 does not allow."""
    return etree.fromstring(document, etree.XMLParser(resolve_entities=False, recover=False))


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


def test_dates_are_sent_in_paris_time_without_offset_as_the_gar_s_peers_do() -> None:
    sub = indiv(
        debut_validite=datetime(2026, 9, 1, 8, 30, 15, 999, tzinfo=UTC),
        fin_validite=datetime(2027, 1, 15, 12, 0, tzinfo=PARIS),
    )

    root = parse(to_xml(sub))

    assert root.findtext(f"{{{NS}}}debutValidite") == "2026-09-01T10:30:15"
    assert root.findtext(f"{{{NS}}}finValidite") == "2027-01-15T12:00:00"


@pytest.mark.parametrize(
    "control", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x85"]
)
def test_control_characters_are_stripped_so_the_document_parses(control: str) -> None:
    sub = indiv(
        libelle_ressource=f"Atlas{control} du collège",
        commentaire_abonnement=f"licence{control}42",
    )

    document = to_xml(sub)
    root = strict_parse(document)

    assert root.findtext(f"{{{NS}}}libelleRessource") == "Atlas du collège"
    assert root.findtext(f"{{{NS}}}commentaireAbonnement") == "licence42"


def test_without_stripping_the_document_would_not_parse() -> None:
    """The check above is a real one: libxml2 refuses a control character."""
    with pytest.raises(etree.XMLSyntaxError):
        strict_parse(b"<a>Atlas\x01</a>")


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
        indiv(fin_validite=datetime(2036, 8, 31, 23, 59, 59, tzinfo=PARIS)),  # under ten
        indiv(nb_licence_enseignant=99_999_999),
        indiv(nb_licence_enseignant="ILLIMITE"),
        indiv(nb_licence_eleve=0),  # 0: no seat, and no need of the public (RG5)
        etabl(nb_licence_prof_doc=0),  # 0 is no count per public (RG6)
        indiv(nb_licence_globale=0),  # 0 is no global count (RG1)
        etabl(first_degree=True, public_cible=("ENSEIGNANT", "ELEVE")),
        indiv(first_degree=True, nb_licence_prof_doc=0),  # RG11: "non renseigné ou 0"
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
        "under-ten-years",
        "count-8-digits",
        "per-public-unlimited",
        "per-public-zero",
        "etabl-zero-per-public",
        "global-zero-with-per-public",
        "first-degree-without-librarians",
        "first-degree-librarians-zero",
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
            indiv(fin_validite=datetime(2036, 9, 1, tzinfo=PARIS)),
            "fin_validite",
            id="exactly-ten-years",
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
        pytest.param(indiv(nb_licence_enseignant=0), "nb_licence_globale", id="only-zero-counts"),
        pytest.param(indiv(nb_licence_enseignant=-1), "nb_licence_enseignant", id="count-negative"),
        pytest.param(indiv(nb_licence_enseignant=True), "nb_licence_enseignant", id="count-bool"),
        pytest.param(
            indiv(nb_licence_enseignant=100_000_000), "nb_licence_enseignant", id="count-9-digits"
        ),
        pytest.param(etabl(nb_licence_globale=0), "type_affectation", id="etabl-global-zero"),
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
        # RG11: no librarian in a first-degree school.
        pytest.param(etabl(first_degree=True), "public_cible", id="first-degree-DOCUMENTALISTE"),
        pytest.param(
            indiv(
                first_degree=True,
                nb_licence_prof_doc=1,
                public_cible=("ENSEIGNANT", "DOCUMENTALISTE"),
            ),
            "nb_licence_prof_doc",
            id="first-degree-librarian-seat",
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

    assert sub.id_abonnement == TEACHER_SUB_ID
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
        id_abonnement="CR-9",
        ark="ark:/12345/r1",
        title="Ressource",
        uai=" 0750001u ",
        school_kind="ecole_elementaire",
        plan_kind="class",
        seats=32,
        valid_from=date(2026, 9, 1),
        valid_until=date(2027, 7, 4),
        distributor_id=DISTRIBUTOR,
    )

    assert sub.id_abonnement == "CR-9"
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


def test_a_count_of_zero_is_sent_and_means_no_seat() -> None:
    """The GAR reads 0 as a count not given (RG1, RG5, RG11); a licence here always has a
    seat (ck_licence_seats_positive)."""
    sub = dataclasses.replace(teacher_licence(), nb_licence_eleve=0)

    root = parse(to_xml(sub))

    assert root.findtext(f"{{{NS}}}nbLicenceEleve") == "0"
    assert [e.text for e in root.findall(f"{{{NS}}}publicCible")] == ["ENSEIGNANT"]


def test_an_unknown_plan_kind_is_refused() -> None:
    with pytest.raises(InvalidSubscription) as caught:
        for_licence(
            licence_id=1,
            id_abonnement="CR-1",
            ark="ark:/12345/r1",
            title="Ressource",
            uai="0750001U",
            school_kind="college",
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

    assert url == f"{base_url.rstrip('/')}/{TEACHER_SUB_ID}"
    assert body == to_xml(sub)
    assert headers == {
        "Content-Type": "application/xml;charset=utf-8",
        "Accept": "application/xml",
    }


def test_put_request_refuses_an_invalid_subscription() -> None:
    with pytest.raises(InvalidSubscription):
        put_request("https://abonnement.gar.education.fr", indiv(id_abonnement="../etc"))


def test_update_request_is_the_document_without_the_school() -> None:
    sub = teacher_licence()

    url, body, headers = update_request("https://abonnement.gar.education.fr/", sub)

    assert url == f"https://abonnement.gar.education.fr/{TEACHER_SUB_ID}"
    names = local_names(body)
    assert "uaiEtab" not in names
    assert names == [name for name in local_names(to_xml(sub)) if name != "uaiEtab"]
    assert headers["Content-Type"] == "application/xml;charset=utf-8"


def test_a_subscription_ended_early_keeps_its_start() -> None:
    sub = teacher_licence()

    shortened = ended(sub, datetime(2026, 10, 3, 14, 5, 30, 123456, tzinfo=UTC))

    root = parse(update_request("https://gar.example", shortened)[1])
    assert root.findtext(f"{{{NS}}}debutValidite") == "2026-09-01T00:00:00"
    assert root.findtext(f"{{{NS}}}finValidite") == "2026-10-03T16:05:30"


# --- RG11: the publics follow the school's kind --------------------------------------------------

KINDS = [kind.code for kind in vocabularies.school_kinds()]
FIRST_DEGREE = {"ecole_maternelle", "ecole_elementaire", "ecole_primaire"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_school_plan_has_librarians_only_in_the_second_degree(kind: str) -> None:
    sub = school_licence(kind)

    if kind in FIRST_DEGREE:
        assert sub.first_degree
        assert sub.public_cible == ("ENSEIGNANT", "ELEVE")
    else:
        assert not sub.first_degree
        assert sub.public_cible == ("ENSEIGNANT", "ELEVE", "DOCUMENTALISTE")
    names = local_names(to_xml(sub))  # validated, RG11 included
    assert names.count("publicCible") == len(sub.public_cible)


@pytest.mark.parametrize("kind", KINDS)
def test_the_validator_knows_the_school_kind(kind: str) -> None:
    with_librarians = dataclasses.replace(
        school_licence(kind), public_cible=("ENSEIGNANT", "ELEVE", "DOCUMENTALISTE")
    )

    if kind in FIRST_DEGREE:
        assert error_fields(with_librarians) == ["public_cible"]
    else:
        validate(with_librarians)


def test_the_demo_schools_are_mostly_primary() -> None:
    """36 of the 60 demo schools are écoles: RG11 is the common case, not an edge."""
    assert vocabularies.is_first_degree("ecole_primaire")
    assert not vocabularies.is_first_degree("erea")
    assert not vocabularies.is_first_degree("inconnu")


# --- identifiers ---------------------------------------------------------------------------------


def test_a_new_subscription_id_is_a_uuid_the_gar_accepts() -> None:
    ids = {new_subscription_id() for _ in range(1000)}

    assert len(ids) == 1000
    for id_abonnement in ids:
        assert re.fullmatch(
            r"CR-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", id_abonnement
        )
        assert len(id_abonnement) <= 45
        validate(indiv(id_abonnement=id_abonnement))


# --- the GAR's list of schools -------------------------------------------------------------------

ETABLISSEMENTS = b"""<?xml version="1.0" encoding="UTF-8"?>
<etablissements>
  <etablissement>
    <uai>0750001U</uai>
    <nature_uai>151</nature_uai>
    <nature_uai_libe>ECOLE DE NIVEAU ELEMENTAIRE</nature_uai_libe>
    <idENT>RU5U</idENT>
  </etablissement>
  <etablissement>
    <uai>0561622j</uai>
    <nature_uai>340</nature_uai>
    <nature_uai_libe>COLLEGE</nature_uai_libe>
  </etablissement>
  <etablissement>
    <uai>0750002V</uai>
    <nature_uai>399</nature_uai>
  </etablissement>
</etablissements>
"""


def test_the_list_of_schools_gives_each_uai_and_kind() -> None:
    schools = read_etablissements(ETABLISSEMENTS)

    assert [(s.uai, s.nature, s.kind, s.line) for s in schools] == [
        ("0750001U", "151", "ecole_elementaire", 3),
        ("0561622J", "340", "college", 9),
        ("0750002V", "399", None, 14),
    ]


def test_the_list_is_refused_whole_with_the_line_of_each_problem() -> None:
    broken = ETABLISSEMENTS.replace(b"<uai>0561622j</uai>", b"<uai>0561622A</uai>").replace(
        b"<nature_uai>399</nature_uai>", b"<nature_uai>college</nature_uai>"
    )
    broken = broken.replace(
        b"</etablissements>",
        b"<etablissement><uai>0750001U</uai><nature_uai>101</nature_uai></etablissement>\n"
        b"</etablissements>",
    )

    with pytest.raises(InvalidEtablissements) as caught:
        read_etablissements(broken)

    assert caught.value.errors == [
        (
            "ligne 9, établissement n° 2",
            "UAI invalide : « 0561622A » (7 chiffres et la bonne lettre).",
        ),
        ("ligne 14, établissement n° 3", "« nature_uai » doit être un code de 3 chiffres."),
        ("ligne 18, établissement n° 4", "UAI 0750001U en double (déjà ligne 3)."),
    ]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"<etablissements><etablissement><uai>0750001U</uai>", "ligne 1"),
        (b"<?xml version='1.0'?>\n<etablissements>\n</etablissements>", "ligne 2"),
        (b"", "ligne 1"),
    ],
    ids=["truncated", "empty-list", "empty-file"],
)
def test_an_unreadable_list_is_refused(data: bytes, where: str) -> None:
    with pytest.raises(InvalidEtablissements) as caught:
        read_etablissements(data)

    assert [w for w, _reason in caught.value.errors] == [where]


def test_entities_are_not_expanded() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE etablissements [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<etablissements><etablissement><uai>&x;</uai><nature_uai>340</nature_uai></etablissement>
</etablissements>"""

    with pytest.raises(InvalidEtablissements) as caught:
        read_etablissements(data)

    assert caught.value.errors == [("ligne 3, établissement n° 1", "l'élément « uai » manque.")]


def test_the_delete_request_checks_the_identifier() -> None:
    url, headers = delete_request("https://gar.example/abonnements/", TEACHER_SUB_ID)
    assert url == f"https://gar.example/abonnements/{TEACHER_SUB_ID}"
    assert "Content-Type" not in headers

    for wrong in ("", "_CR-42", "abonnements", "a b", "x" * 46):
        with pytest.raises(InvalidSubscription):
            delete_request("https://gar.example/abonnements", wrong)
