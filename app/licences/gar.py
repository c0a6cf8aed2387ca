"""A licence as a GAR subscription ("abonnement"): the document, its checks, the requests;
and the GAR's list of schools (``etablissements.xml``).

A licence bought for a product distributed through the GAR (Gestionnaire d'accès aux
ressources) must be declared to the GAR's subscription web service. This module is pure:
it builds and checks a :class:`Subscription`, renders the XML the web service expects and
describes the HTTP requests. Sending them (with the distributor's client certificate), and
doing so only after the licence's transaction has committed, is the caller's business
(``channels.py``, run by jobs of the outbox).

Rule sources, as read in public material (no official XSD is published openly):

- [GAR-WS] the web service of the GAR's "Interface de gestion des abonnements" (GAR 6.1,
  June 2022), as modelled by the ``Ludicat/api-gar`` PHP SDK, whose model
  (``src/Model/Abonnement.php``) and validator (``src/Validator/AbonnementValidator.php``)
  quote the specification: field lengths and the management rules RG1 to RG13. Its
  ``src/Model/Etablissement.php`` and ``AbstractAbonnementWs::PATH_ETABLISSEMENTS``
  describe the list of schools, ``/etablissements/etablissements.xml``;
- [ENT-GAR] an ENT-GAR Django back office (``forms.py`` of its GAR institutions), a client
  of the same web service: creation by ``PUT``, update by ``POST`` without ``uaiEtab`` and
  with the ``debutValidite`` first sent, and a ``409`` whose text says the subscription
  "existe deja" answered by the update;
- [PEERS] documents actually sent to the GAR by editors and distributors (SACADO, Fais ton
  film, Vittascience, the ENT-GAR back office, an ADA test script), and a list returned by
  the GAR itself (Vittascience), which give the element order and the date format.

Where they agree:

- namespace ``http://www.atosworldline.com/wsabonnement/v1.0/``, root ``abonnement``;
- element order: idAbonnement, commentaireAbonnement, idDistributeurCom, idRessource,
  typeIdRessource, libelleRessource, debutValidite, finValidite, uaiEtab,
  categorieAffectation, typeAffectation, nbLicenceEnseignant, nbLicenceEleve,
  nbLicenceProfDoc, nbLicenceAutrePersonnel, nbLicenceGlobale, publicCible (repeated).
  The elements we never send (anneeFinValidite, codeNatureUAI, codeProjetRessource) are
  left out;
- creation is ``PUT <base>/<idAbonnement>`` (:func:`put_request`); an update is a ``POST``
  of the same document to the same address, without ``uaiEtab`` (:func:`update_request`,
  [ENT-GAR]); a deletion a ``DELETE`` to the same address, without a body
  (:func:`delete_request`): the GAR then keeps the subscription under a name starting with
  "_" (RG13), and answers 404 for one it does not know;
- a ``PUT`` of an identifier the GAR already holds is answered ``409`` ("existe déjà"):
  [ENT-GAR] then sends the update, and so does ``channels.py`` (a first ``PUT`` that timed
  out after the GAR created the subscription, retried).

Where they disagree, or say nothing, and what this module does:

- the comment element is ``commentaireAbonnement`` in every source (not
  "commentaireGestionnaire"), optional, at most 255 characters; it is left out when empty;
- ``idDistributeurCom`` (SIREN + "_" + ISNI, or sixteen zeros without an ISNI: 26
  characters, RG3) is required by the GAR, so :class:`Subscription` carries it;
- the GAR lists the per-public counts before ``nbLicenceGlobale``; the order of those two
  groups never shows in a valid document since they are exclusive (RG1);
- dates: [PEERS] and [ENT-GAR] send the local time without offset nor fraction,
  ``2022-11-15T00:00:00``, and the GAR answers ``2022-08-16T00:00:00.000+02:00`` (Paris
  time). We send the same: the Paris wall-clock time, ``2026-09-01T00:00:00``;
- validity: at most 10 years (RG8): the SDK refuses a validity whose whole years reach 10
  (``diff->y >= 10``), so the end must come strictly less than ten years after the start;
- counts: [GAR-WS] allows "a number or ILLIMITE" (at most 8 characters) in every count,
  per public and global; RG11 speaks of a librarians' count "non renseigné ou 0", and the
  SDK's RG1, RG5 and RG6 treat 0 as not given. So a count is an integer from 0 to
  99,999,999 or "ILLIMITE", and 0 counts as no count in RG1, RG5 and RG6;
- RG11 (quoted by the SDK, which cannot check it): for a first-degree school (an école)
  the target publics must not include DOCUMENTALISTE, and the librarians' count must be
  absent or 0. :class:`Subscription` carries ``first_degree`` (from the school's kind, not
  sent) so that :func:`validate` checks it;
- ``categorieAffectation``: the SDK accepts only "transferable" (RG4), other senders also
  offer "non transferable"; both are accepted here, "transferable" by default;
- ``idAbonnement``: at most 45 characters, unique, not "abonnements" nor "categorie"
  (RG12), never starting with "_" (RG13), no space. The SDK makes a UUID v4 by default,
  "recommended"; we make ``CR-`` and a UUID v4 (39 characters, :func:`new_subscription_id`):
  unique across database resets and instances, unlike a licence number. No source
  documents a character set; since the identifier is a path segment of the URL, this module
  allows only ASCII letters, digits, ".", "_" and "-", starting with a letter or a digit;
- text: XML 1.0 cannot carry most control characters; they are removed from every text of
  the document (the product form refuses them in the first place).

Other limits: idRessource at most 1,024 characters (an ARK ``ark:/NNNNN/name`` when
typeIdRessource is "ark"), typeIdRessource at most 50, libelleRessource required and at
most 255.

The list of schools, ``etablissements.xml`` [GAR-WS]: one ``etablissement`` element per
school attached to the GAR, with (among others) ``uai``, ``nature_uai`` (the code of the
ministry's N_NATURE_UAI nomenclature: 1xx first degree, 3xx second degree) and
``nature_uai_libe``. A school in the list uses the GAR; :func:`read_etablissements` checks
the whole file and names the line of each problem.

Error fields in :class:`InvalidSubscription` are the attribute names of
:class:`Subscription`; reasons are in French, ready to be shown to an administrator.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from lxml import etree

from catalog.identifiers import is_valid_uai, normalize_uai
from catalog.vocabularies import is_first_degree

__all__ = [
    "AFFECTATION_ETABL",
    "AFFECTATION_INDIV",
    "CATEGORIES",
    "NAMESPACE",
    "PUBLICS",
    "PUBLIC_AUTRE_PERSONNEL",
    "PUBLIC_DOCUMENTALISTE",
    "PUBLIC_ELEVE",
    "PUBLIC_ENSEIGNANT",
    "UNLIMITED",
    "GarSchool",
    "InvalidEtablissements",
    "InvalidSubscription",
    "Subscription",
    "delete_request",
    "for_licence",
    "new_subscription_id",
    "put_request",
    "read_etablissements",
    "to_xml",
    "update_request",
    "validate",
]

NAMESPACE = "http://www.atosworldline.com/wsabonnement/v1.0/"

UNLIMITED = "ILLIMITE"
TRANSFERABLE = "transferable"
NON_TRANSFERABLE = "non transferable"
CATEGORIES = (TRANSFERABLE, NON_TRANSFERABLE)
AFFECTATION_INDIV = "INDIV"
"""Seats assigned to people by the school's GAR administrator."""
AFFECTATION_ETABL = "ETABL"
"""The whole school (its target publics) has access."""

PUBLIC_ENSEIGNANT = "ENSEIGNANT"
PUBLIC_ELEVE = "ELEVE"
PUBLIC_DOCUMENTALISTE = "DOCUMENTALISTE"
PUBLIC_AUTRE_PERSONNEL = "AUTRE PERSONNEL"
PUBLICS = (PUBLIC_ENSEIGNANT, PUBLIC_ELEVE, PUBLIC_DOCUMENTALISTE, PUBLIC_AUTRE_PERSONNEL)

ID_ABONNEMENT_MAX_LENGTH = 45
ID_RESSOURCE_MAX_LENGTH = 1024
TYPE_ID_RESSOURCE_MAX_LENGTH = 50
LIBELLE_MAX_LENGTH = 255
COMMENTAIRE_MAX_LENGTH = 255
MAX_COUNT = 99_999_999
"""A count is at most 8 characters long."""
MAX_VALIDITY_YEARS = 10
RESERVED_IDS = frozenset({"abonnements", "categorie"})
SUBSCRIPTION_PREFIX = "CR"

PARIS = ZoneInfo("Europe/Paris")

_ID_ABONNEMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ID_DISTRIBUTEUR = re.compile(r"[0-9]{9}_[0-9]{16}")
# Name assigning authority number, then a name of ARK characters.
_ARK = re.compile(r"ark:/[0-9]{5,}/[A-Za-z0-9=~*+@_$./-]+")
# What XML 1.0 cannot carry (C0 controls but tab and line ends, surrogates, U+FFFE/U+FFFF),
# and the C1 controls and DEL it discourages.
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# The per-public count attributes and the public each one needs (rule RG5).
_COUNT_PUBLICS = (
    ("nb_licence_enseignant", PUBLIC_ENSEIGNANT),
    ("nb_licence_eleve", PUBLIC_ELEVE),
    ("nb_licence_prof_doc", PUBLIC_DOCUMENTALISTE),
    ("nb_licence_autre_personnel", PUBLIC_AUTRE_PERSONNEL),
)

Count = int | str | None
"""A number of licences: an int, "ILLIMITE", or None when not given."""


@dataclass(frozen=True, kw_only=True)
class Subscription:
    """One GAR subscription: one resource, one school, a validity and seats.

    ``first_degree`` is not sent: it says the school is an école, for rule RG11."""

    id_abonnement: str
    id_distributeur_com: str
    id_ressource: str
    type_id_ressource: str = "ark"
    libelle_ressource: str
    debut_validite: datetime
    fin_validite: datetime
    uai_etab: str
    first_degree: bool = False
    categorie_affectation: str = TRANSFERABLE
    type_affectation: str
    nb_licence_globale: Count = None
    nb_licence_enseignant: Count = None
    nb_licence_eleve: Count = None
    nb_licence_prof_doc: Count = None
    nb_licence_autre_personnel: Count = None
    public_cible: tuple[str, ...]
    commentaire_abonnement: str = ""

    def per_public_counts(self) -> dict[str, Count]:
        """The four per-public counts by attribute name, in the GAR order."""
        return {
            "nb_licence_enseignant": self.nb_licence_enseignant,
            "nb_licence_eleve": self.nb_licence_eleve,
            "nb_licence_prof_doc": self.nb_licence_prof_doc,
            "nb_licence_autre_personnel": self.nb_licence_autre_personnel,
        }


class InvalidSubscription(ValueError):
    """A subscription the GAR would refuse. ``errors`` lists every (field, French reason)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors))
        self.errors = errors


# --- checks ----------------------------------------------------------------------------------


def validate(sub: Subscription) -> None:
    """Raise :class:`InvalidSubscription` listing every problem of ``sub``, if any."""
    errors: list[tuple[str, str]] = []
    errors += _identifier_errors(sub)
    errors += _date_errors(sub)
    errors += _affectation_errors(sub)
    errors += _count_errors(sub)
    errors += _public_errors(sub)
    if errors:
        raise InvalidSubscription(errors)


def _id_abonnement_error(id_abonnement: str) -> str | None:
    if not id_abonnement:
        return "l'identifiant de l'abonnement est obligatoire."
    if len(id_abonnement) > ID_ABONNEMENT_MAX_LENGTH:
        return (
            f"l'identifiant compte au plus {ID_ABONNEMENT_MAX_LENGTH} caractères, "
            f"et non {len(id_abonnement)}."
        )
    if id_abonnement.startswith("_"):
        return "l'identifiant ne peut pas commencer par « _ » (réservé aux abonnements supprimés)."
    if not _ID_ABONNEMENT.fullmatch(id_abonnement):
        return (
            "l'identifiant ne contient que des lettres sans accent, des chiffres, "
            "« . », « _ » et « - », et commence par une lettre ou un chiffre."
        )
    if id_abonnement.lower() in RESERVED_IDS:
        return "cet identifiant est réservé par le GAR."
    return None


def _identifier_errors(sub: Subscription) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    id_error = _id_abonnement_error(sub.id_abonnement)
    if id_error:
        errors.append(("id_abonnement", id_error))

    if not _ID_DISTRIBUTEUR.fullmatch(sub.id_distributeur_com):
        errors.append(
            (
                "id_distributeur_com",
                "l'identifiant du distributeur est le SIREN (9 chiffres), « _ » et "
                "l'ISNI (16 chiffres, ou 16 zéros sans ISNI).",
            )
        )

    type_id = sub.type_id_ressource
    if not type_id or len(type_id) > TYPE_ID_RESSOURCE_MAX_LENGTH:
        errors.append(
            (
                "type_id_ressource",
                f"le type d'identifiant est obligatoire et compte au plus "
                f"{TYPE_ID_RESSOURCE_MAX_LENGTH} caractères.",
            )
        )
    id_ressource = sub.id_ressource
    if not id_ressource:
        errors.append(("id_ressource", "l'identifiant de la ressource est obligatoire."))
    elif len(id_ressource) > ID_RESSOURCE_MAX_LENGTH:
        errors.append(
            (
                "id_ressource",
                f"l'identifiant de la ressource compte au plus {ID_RESSOURCE_MAX_LENGTH} "
                "caractères.",
            )
        )
    elif type_id.lower() == "ark" and not _ARK.fullmatch(id_ressource):
        errors.append(
            ("id_ressource", "un identifiant ARK s'écrit « ark:/NNNNN/nom » (ex. ark:/12345/r1).")
        )

    libelle = xml_text(sub.libelle_ressource)
    if not libelle.strip():
        errors.append(("libelle_ressource", "le titre de la ressource est obligatoire."))
    elif len(libelle) > LIBELLE_MAX_LENGTH:
        errors.append(
            (
                "libelle_ressource",
                f"le titre de la ressource compte au plus {LIBELLE_MAX_LENGTH} caractères.",
            )
        )
    if len(xml_text(sub.commentaire_abonnement)) > COMMENTAIRE_MAX_LENGTH:
        errors.append(
            (
                "commentaire_abonnement",
                f"le commentaire compte au plus {COMMENTAIRE_MAX_LENGTH} caractères.",
            )
        )

    uai = sub.uai_etab
    if not is_valid_uai(uai):
        errors.append(
            ("uai_etab", "l'UAI de l'établissement n'est pas valide (7 chiffres et une lettre).")
        )
    elif uai != normalize_uai(uai):
        errors.append(("uai_etab", "écrivez l'UAI sans espace et en majuscules."))
    return errors


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February, in a year that has none
        return moment.replace(year=moment.year + years, day=28)


def _date_errors(sub: Subscription) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    start, end = sub.debut_validite, sub.fin_validite
    for field, moment in (("debut_validite", start), ("fin_validite", end)):
        if not _is_aware(moment):
            errors.append((field, "la date doit porter son fuseau horaire."))
    if errors:
        return errors
    if end <= start:
        errors.append(("fin_validite", "la fin de validité doit suivre le début."))
    elif end >= _add_years(start.astimezone(PARIS), MAX_VALIDITY_YEARS):  # RG8
        errors.append(
            ("fin_validite", f"un abonnement dure moins de {MAX_VALIDITY_YEARS} ans (RG8).")
        )
    return errors


def _affectation_errors(sub: Subscription) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if sub.categorie_affectation not in CATEGORIES:
        errors.append(
            (
                "categorie_affectation",
                "la catégorie d'affectation est « transferable » ou « non transferable ».",
            )
        )
    if sub.type_affectation not in (AFFECTATION_INDIV, AFFECTATION_ETABL):
        errors.append(("type_affectation", "le type d'affectation est « INDIV » ou « ETABL »."))
    return errors


def _is_count(value: Count) -> bool:
    if value == UNLIMITED:
        return True
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _given(value: Count) -> bool:
    """A count that grants seats: present and not 0 (the GAR reads 0 as not given)."""
    return value is not None and value != 0


def _count_errors(sub: Subscription) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    counts = {"nb_licence_globale": sub.nb_licence_globale, **sub.per_public_counts()}
    for field, value in counts.items():
        if value is not None and not _is_count(value):
            errors.append(
                (
                    field,
                    f"le nombre de licences est un entier de 0 à {MAX_COUNT} ou « {UNLIMITED} ».",
                )
            )

    # RG1: a global count, or counts per public, never both, never none.
    per_public = sub.per_public_counts()
    has_global = _given(sub.nb_licence_globale)
    has_per_public = any(_given(value) for value in per_public.values())
    if has_global and has_per_public:
        errors.append(
            (
                "nb_licence_globale",
                "indiquez soit un nombre de licences global, soit des nombres par public, "
                "pas les deux (RG1).",
            )
        )
    elif not has_global and not has_per_public:
        errors.append(
            (
                "nb_licence_globale",
                "indiquez un nombre de licences global ou des nombres par public (RG1).",
            )
        )

    # RG5: a count for a public needs that public among the targets.
    for field, public in _COUNT_PUBLICS:
        if _given(per_public[field]) and public not in sub.public_cible:
            errors.append(
                (field, f"ce nombre de licences demande le public cible « {public} » (RG5).")
            )

    # RG6: a whole-school affectation has a global count and no count per public.
    if sub.type_affectation == AFFECTATION_ETABL and (has_per_public or not has_global):
        errors.append(
            (
                "type_affectation",
                "une affectation ETABL porte un nombre de licences global et aucun "
                "nombre par public (RG6).",
            )
        )

    # RG11: no librarian in a first-degree school.
    if sub.first_degree and _given(sub.nb_licence_prof_doc):
        errors.append(
            (
                "nb_licence_prof_doc",
                "une école (premier degré) n'a pas de licence pour les professeurs "
                "documentalistes (RG11).",
            )
        )
    return errors


def _public_errors(sub: Subscription) -> list[tuple[str, str]]:
    publics = sub.public_cible
    if not publics:
        return [("public_cible", "indiquez au moins un public cible.")]
    errors: list[tuple[str, str]] = []
    unknown = [public for public in publics if public not in PUBLICS]
    if unknown:
        errors.append(
            (
                "public_cible",
                f"{'public inconnu' if len(unknown) == 1 else 'publics inconnus'} : "
                f"{', '.join(unknown)} (attendus : {', '.join(PUBLICS)}).",
            )
        )
    if len(set(publics)) != len(publics):
        errors.append(("public_cible", "un public cible est répété."))
    if sub.first_degree and PUBLIC_DOCUMENTALISTE in publics:
        errors.append(
            (
                "public_cible",
                f"le public « {PUBLIC_DOCUMENTALISTE} » est exclu pour une école "
                "(premier degré, RG11).",
            )
        )
    return errors


# --- document and requests ------------------------------------------------------------------


def xml_text(text: str) -> str:
    """``text`` without the characters an XML 1.0 document cannot carry (control
    characters but tab and line ends, lone surrogates, U+FFFE, U+FFFF)."""
    return _NOT_XML_TEXT.sub("", text)


def format_datetime(moment: datetime) -> str:
    """A GAR date: the Paris wall-clock time, without offset nor fraction, as the GAR's
    peers send it (``2026-09-01T00:00:00``)."""
    return moment.astimezone(PARIS).replace(tzinfo=None).isoformat(timespec="seconds")


def to_xml(sub: Subscription, *, with_uai: bool = True) -> bytes:
    """The subscription as the GAR's XML document (UTF-8), after :func:`validate`.
    Without ``uaiEtab`` for an update (``with_uai=False``)."""
    validate(sub)
    root = ET.Element(f"{{{NAMESPACE}}}abonnement")

    def add(tag: str, text: str) -> None:
        ET.SubElement(root, f"{{{NAMESPACE}}}{tag}").text = xml_text(text)

    add("idAbonnement", sub.id_abonnement)
    if sub.commentaire_abonnement:
        add("commentaireAbonnement", sub.commentaire_abonnement)
    add("idDistributeurCom", sub.id_distributeur_com)
    add("idRessource", sub.id_ressource)
    add("typeIdRessource", sub.type_id_ressource)
    add("libelleRessource", sub.libelle_ressource)
    add("debutValidite", format_datetime(sub.debut_validite))
    add("finValidite", format_datetime(sub.fin_validite))
    if with_uai:
        add("uaiEtab", sub.uai_etab)
    add("categorieAffectation", sub.categorie_affectation)
    add("typeAffectation", sub.type_affectation)
    counts = (
        ("nbLicenceEnseignant", sub.nb_licence_enseignant),
        ("nbLicenceEleve", sub.nb_licence_eleve),
        ("nbLicenceProfDoc", sub.nb_licence_prof_doc),
        ("nbLicenceAutrePersonnel", sub.nb_licence_autre_personnel),
        ("nbLicenceGlobale", sub.nb_licence_globale),
    )
    for tag, count in counts:
        if count is not None:
            add(tag, str(count))
    for public in sub.public_cible:
        add("publicCible", public)

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", default_namespace=NAMESPACE)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


_HEADERS = {"Content-Type": "application/xml;charset=utf-8", "Accept": "application/xml"}


def _address(base_url: str, id_abonnement: str) -> str:
    return f"{base_url.rstrip('/')}/{id_abonnement}"


def put_request(base_url: str, sub: Subscription) -> tuple[str, bytes, dict[str, str]]:
    """``(url, body, headers)`` of the ``PUT`` that creates ``sub`` at the GAR.

    The body is :func:`to_xml` (so an invalid subscription raises before any request is
    described). The caller sends it with the distributor's client certificate.
    """
    return _address(base_url, sub.id_abonnement), to_xml(sub), dict(_HEADERS)


def update_request(base_url: str, sub: Subscription) -> tuple[str, bytes, dict[str, str]]:
    """``(url, body, headers)`` of the ``POST`` that updates ``sub`` at the GAR: the same
    document without ``uaiEtab`` (a subscription never changes school), the same
    ``debutValidite`` as at its creation ([ENT-GAR])."""
    return _address(base_url, sub.id_abonnement), to_xml(sub, with_uai=False), dict(_HEADERS)


def ended(sub: Subscription, at: datetime) -> Subscription:
    """``sub`` shortened to end at ``at`` (to the second), for an update."""
    return dataclasses.replace(sub, fin_validite=at.astimezone(PARIS).replace(microsecond=0))


def delete_request(base_url: str, id_abonnement: str) -> tuple[str, dict[str, str]]:
    """``(url, headers)`` of the ``DELETE`` that ends the subscription ``id_abonnement`` at
    the GAR (a cancelled licence). No body. The identifier is checked as for a creation."""
    reason = _id_abonnement_error(id_abonnement)
    if reason:
        raise InvalidSubscription([("id_abonnement", reason)])
    return _address(base_url, id_abonnement), {"Accept": "application/xml"}


# --- mapping from the app's licences --------------------------------------------------------


def new_subscription_id() -> str:
    """A new idAbonnement: ``CR-`` and a UUID v4, 39 characters, never reused."""
    return f"{SUBSCRIPTION_PREFIX}-{uuid.uuid4()}"


def for_licence(
    *,
    licence_id: int,
    id_abonnement: str,
    ark: str,
    title: str,
    uai: str,
    school_kind: str,
    plan_kind: str,
    seats: int,
    valid_from: date,
    valid_until: date,
    distributor_id: str,
) -> Subscription:
    """The subscription for one licence of the app; not validated (:func:`to_xml` does).

    - ``teacher`` plan: INDIV, public ENSEIGNANT, one teacher seat;
    - ``class`` plan: INDIV, publics ENSEIGNANT and ELEVE, one teacher seat and ``seats``
      pupil seats;
    - ``school`` plan: ETABL, publics ENSEIGNANT, ELEVE, and DOCUMENTALISTE unless the
      school is of the first degree (``school_kind`` an école: RG11), global count
      "ILLIMITE" whatever ``seats`` says: an ETABL affectation opens the resource to every
      member of its publics in the school, and a number would only cut some of them off.

    Validity runs from ``valid_from`` at 00:00:00 to ``valid_until`` at 23:59:59, Paris
    time. ``distributor_id`` is our idDistributeurCom (SIREN_ISNI).
    """
    first_degree = is_first_degree(school_kind)
    teacher_seats: int | None = None
    pupil_seats: int | None = None
    global_count: str | None = None
    if plan_kind == "teacher":
        affectation = AFFECTATION_INDIV
        publics: tuple[str, ...] = (PUBLIC_ENSEIGNANT,)
        teacher_seats = 1
    elif plan_kind == "class":
        affectation = AFFECTATION_INDIV
        publics = (PUBLIC_ENSEIGNANT, PUBLIC_ELEVE)
        teacher_seats, pupil_seats = 1, seats
    elif plan_kind == "school":
        affectation = AFFECTATION_ETABL
        publics = (PUBLIC_ENSEIGNANT, PUBLIC_ELEVE)
        if not first_degree:
            publics += (PUBLIC_DOCUMENTALISTE,)
        global_count = UNLIMITED
    else:
        raise InvalidSubscription([("plan_kind", f"formule inconnue : {plan_kind!r}.")])
    return Subscription(
        id_abonnement=id_abonnement,
        id_distributeur_com=distributor_id,
        id_ressource=ark,
        libelle_ressource=title,
        debut_validite=datetime.combine(valid_from, time(0, 0, 0), tzinfo=PARIS),
        fin_validite=datetime.combine(valid_until, time(23, 59, 59), tzinfo=PARIS),
        uai_etab=normalize_uai(uai),
        first_degree=first_degree,
        type_affectation=affectation,
        nb_licence_globale=global_count,
        nb_licence_enseignant=teacher_seats,
        nb_licence_eleve=pupil_seats,
        public_cible=publics,
        commentaire_abonnement=f"Compte Ressources, licence {licence_id}",
    )


# --- the GAR's list of schools --------------------------------------------------------------

# N_NATURE_UAI codes → our kinds of school. Other codes of the first degree (1xx) are
# "école primaire"; other codes of the second degree leave the school's kind as it is.
NATURE_KINDS = {
    "101": "ecole_maternelle",
    "102": "ecole_maternelle",
    "103": "ecole_maternelle",
    "151": "ecole_elementaire",
    "152": "ecole_elementaire",
    "153": "ecole_elementaire",
    "300": "lycee_general_technologique",
    "301": "lycee_general_technologique",
    "302": "lycee_general_technologique",
    "306": "lycee_polyvalent",
    "320": "lycee_professionnel",
    "340": "college",
    "350": "college",
    "352": "college",
    "370": "erea",
}
MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class GarSchool:
    """A school of the GAR's list: it uses the GAR; its kind when the nature tells it."""

    uai: str
    nature: str
    kind: str | None
    line: int


class InvalidEtablissements(ValueError):
    """A list of schools refused as a whole. ``errors``: (where, French reason)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where} : {reason}" for where, reason in errors))
        self.errors = errors


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def kind_of_nature(nature: str) -> str | None:
    """Our kind of school for an N_NATURE_UAI code, when it tells one."""
    if nature in NATURE_KINDS:
        return NATURE_KINDS[nature]
    return "ecole_primaire" if nature.startswith("1") else None


def read_etablissements(data: bytes) -> list[GarSchool]:
    """Every school of an ``etablissements.xml``, or :class:`InvalidEtablissements`
    naming each problem with its line (and the school's rank in the file)."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        raise InvalidEtablissements(
            [(f"ligne {line}", f"le fichier n'est pas un XML lisible ({error.msg}).")]
        ) from error
    entries = [element for element in root.iter() if _local(element.tag) == "etablissement"]
    if not entries:
        raise InvalidEtablissements(
            [(f"ligne {root.sourceline or 1}", "aucun élément « etablissement » dans le fichier.")]
        )
    errors: list[tuple[str, str]] = []
    schools: list[GarSchool] = []
    first_line: dict[str, int] = {}
    for rank, element in enumerate(entries, start=1):
        line = element.sourceline or 0
        where = f"ligne {line}, établissement n° {rank}"
        known = len(errors)
        uai = normalize_uai(_child_text(element, "uai"))
        nature = _child_text(element, "nature_uai")
        if not uai:
            errors.append((where, "l'élément « uai » manque."))
        elif not is_valid_uai(uai):
            errors.append((where, f"UAI invalide : « {uai} » (7 chiffres et la bonne lettre)."))
        elif uai in first_line:
            errors.append((where, f"UAI {uai} en double (déjà ligne {first_line[uai]})."))
        else:
            first_line[uai] = line
        if not re.fullmatch(r"[0-9]{3}", nature):
            errors.append((where, "« nature_uai » doit être un code de 3 chiffres."))
        if len(errors) == known:
            schools.append(GarSchool(uai, nature, kind_of_nature(nature), line))
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > MAX_REPORTED_ERRORS:
            shown.append(("…", f"et {len(errors) - MAX_REPORTED_ERRORS} autres erreurs."))
        raise InvalidEtablissements(shown)
    return schools
