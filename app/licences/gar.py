"""A licence as a GAR subscription ("abonnement"): the document, its checks, the request.

A licence bought for a product distributed through the GAR (Gestionnaire d'accès aux
ressources) must be declared to the GAR's subscription web service. This module is pure:
it builds and checks a :class:`Subscription`, renders the XML the web service expects and
describes the HTTP request. Sending it (with the distributor's client certificate), and
doing so only after the licence's transaction has committed, is the caller's business.

Format, as read in public material (no official XSD is published openly):

- the web service of the GAR's "Interface de gestion des abonnements" (GAR 6.1, June
  2022), as modelled by the ``Ludicat/api-gar`` PHP SDK, whose model and validator quote
  the specification: field lengths and the management rules RG1 to RG13;
- documents actually sent to the GAR by editors and distributors (SACADO, Fais ton film,
  Vittascience, an ENT-GAR Django back office, an ADA test script), and a list returned
  by the GAR itself (Vittascience), which gives the element order and the date format.

Where they agree:

- namespace ``http://www.atosworldline.com/wsabonnement/v1.0/``, root ``abonnement``;
- element order: idAbonnement, commentaireAbonnement, idDistributeurCom, idRessource,
  typeIdRessource, libelleRessource, debutValidite, finValidite, uaiEtab,
  categorieAffectation, typeAffectation, nbLicenceEnseignant, nbLicenceEleve,
  nbLicenceProfDoc, nbLicenceAutrePersonnel, nbLicenceGlobale, publicCible (repeated).
  The elements we never send (anneeFinValidite, codeNatureUAI, codeProjetRessource) are
  left out;
- creation is ``PUT <base>/<idAbonnement>``; an update is a ``POST`` to the same address
  without ``uaiEtab`` (not built here), a deletion a ``DELETE`` to the same address,
  without a body (:func:`delete_request`): the GAR then keeps the subscription under a
  name starting with "_" (rule RG13), and answers 404 for one it does not know.

Where they disagree, and what this module does:

- the comment element is ``commentaireAbonnement`` in every source (not
  "commentaireGestionnaire"), optional, at most 255 characters; it is left out when empty;
- ``idDistributeurCom`` (SIREN + "_" + ISNI, or sixteen zeros without an ISNI: 26
  characters, rule RG3) is required by the GAR, so :class:`Subscription` carries it;
- the GAR lists the per-public counts before ``nbLicenceGlobale``; the order of those two
  groups never shows in a valid document since they are exclusive (RG1);
- dates: GAR examples send ``2022-11-15T00:00:00`` (no offset) and the GAR answers
  ``2022-08-16T00:00:00.000+02:00``. We send an xsd:dateTime with its offset and no
  fraction, ``2026-09-01T00:00:00+02:00``, so the instant is never ambiguous;
- ``categorieAffectation``: the SDK accepts only "transferable" (RG4), other senders also
  offer "non transferable"; both are accepted here, "transferable" by default;
- ``idAbonnement``: at most 45 characters, unique, not "abonnements" nor "categorie"
  (reserved paths, RG12), never starting with "_" (reserved for deleted subscriptions,
  RG13), no space. No source documents a character set; since the identifier is a path
  segment of the URL, this module allows only ASCII letters, digits, ".", "_" and "-",
  starting with a letter or a digit (our own, stricter choice);
- counts: a positive number or "ILLIMITE", at most 8 characters. This module takes
  ``nb_licence_globale`` as an int or "ILLIMITE" and the per-public counts as ints.

Other limits: idRessource at most 1,024 characters (an ARK ``ark:/NNNNN/name`` when
typeIdRessource is "ark"), typeIdRessource at most 50, libelleRessource required and at
most 255, validity at most 10 years (RG8; we allow exactly ten years, not one second
more).

Error fields in :class:`InvalidSubscription` are the attribute names of
:class:`Subscription`; reasons are in French, ready to be shown to an administrator.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from catalog.identifiers import is_valid_uai, normalize_uai

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
    "SUBSCRIPTION_METHOD",
    "UNLIMITED",
    "InvalidSubscription",
    "Subscription",
    "delete_request",
    "for_licence",
    "put_request",
    "subscription_id",
    "to_xml",
    "validate",
]

NAMESPACE = "http://www.atosworldline.com/wsabonnement/v1.0/"
SUBSCRIPTION_METHOD = "PUT"
"""The HTTP method that creates a subscription (see :func:`put_request`)."""

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

PARIS = ZoneInfo("Europe/Paris")

_ID_ABONNEMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ID_DISTRIBUTEUR = re.compile(r"[0-9]{9}_[0-9]{16}")
# Name assigning authority number, then a name of ARK characters.
_ARK = re.compile(r"ark:/[0-9]{5,}/[A-Za-z0-9=~*+@_$./-]+")

# The per-public count attributes and the public each one needs (rule RG5).
_COUNT_PUBLICS = (
    ("nb_licence_enseignant", PUBLIC_ENSEIGNANT),
    ("nb_licence_eleve", PUBLIC_ELEVE),
    ("nb_licence_prof_doc", PUBLIC_DOCUMENTALISTE),
    ("nb_licence_autre_personnel", PUBLIC_AUTRE_PERSONNEL),
)


@dataclass(frozen=True, kw_only=True)
class Subscription:
    """One GAR subscription: one resource, one school, a validity and seats."""

    id_abonnement: str
    id_distributeur_com: str
    id_ressource: str
    type_id_ressource: str = "ark"
    libelle_ressource: str
    debut_validite: datetime
    fin_validite: datetime
    uai_etab: str
    categorie_affectation: str = TRANSFERABLE
    type_affectation: str
    nb_licence_globale: int | str | None = None
    nb_licence_enseignant: int | None = None
    nb_licence_eleve: int | None = None
    nb_licence_prof_doc: int | None = None
    nb_licence_autre_personnel: int | None = None
    public_cible: tuple[str, ...]
    commentaire_abonnement: str = ""

    def per_public_counts(self) -> dict[str, int | None]:
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


def _identifier_errors(sub: Subscription) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    id_abonnement = sub.id_abonnement
    if not id_abonnement:
        errors.append(("id_abonnement", "l'identifiant de l'abonnement est obligatoire."))
    elif len(id_abonnement) > ID_ABONNEMENT_MAX_LENGTH:
        errors.append(
            (
                "id_abonnement",
                f"l'identifiant compte au plus {ID_ABONNEMENT_MAX_LENGTH} caractères, "
                f"et non {len(id_abonnement)}.",
            )
        )
    elif id_abonnement.startswith("_"):
        errors.append(
            (
                "id_abonnement",
                "l'identifiant ne peut pas commencer par « _ » (réservé aux abonnements "
                "supprimés).",
            )
        )
    elif not _ID_ABONNEMENT.fullmatch(id_abonnement):
        errors.append(
            (
                "id_abonnement",
                "l'identifiant ne contient que des lettres sans accent, des chiffres, "
                "« . », « _ » et « - », et commence par une lettre ou un chiffre.",
            )
        )
    elif id_abonnement.lower() in RESERVED_IDS:
        errors.append(("id_abonnement", "cet identifiant est réservé par le GAR."))

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

    libelle = sub.libelle_ressource
    if not libelle.strip():
        errors.append(("libelle_ressource", "le titre de la ressource est obligatoire."))
    elif len(libelle) > LIBELLE_MAX_LENGTH:
        errors.append(
            (
                "libelle_ressource",
                f"le titre de la ressource compte au plus {LIBELLE_MAX_LENGTH} caractères.",
            )
        )
    if len(sub.commentaire_abonnement) > COMMENTAIRE_MAX_LENGTH:
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
    elif end > _add_years(start, MAX_VALIDITY_YEARS):
        errors.append(
            (
                "fin_validite",
                f"un abonnement dure au plus {MAX_VALIDITY_YEARS} ans.",
            )
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


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_COUNT


def _count_errors(sub: Subscription) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    global_count = sub.nb_licence_globale
    if global_count is not None and global_count != UNLIMITED and not _is_count(global_count):
        errors.append(
            (
                "nb_licence_globale",
                f"le nombre de licences est un entier de 1 à {MAX_COUNT} ou « {UNLIMITED} ».",
            )
        )
    per_public = sub.per_public_counts()
    for field, value in per_public.items():
        if value is not None and not _is_count(value):
            errors.append((field, f"le nombre de licences est un entier de 1 à {MAX_COUNT}."))

    # RG1: a global count, or counts per public, never both, never none.
    has_global = global_count is not None
    has_per_public = any(value is not None for value in per_public.values())
    if has_global and has_per_public:
        errors.append(
            (
                "nb_licence_globale",
                "indiquez soit un nombre de licences global, soit des nombres par public, "
                "pas les deux.",
            )
        )
    elif not has_global and not has_per_public:
        errors.append(
            (
                "nb_licence_globale",
                "indiquez un nombre de licences global ou des nombres par public.",
            )
        )

    # RG5: a count for a public needs that public among the targets.
    for field, public in _COUNT_PUBLICS:
        if per_public[field] is not None and public not in sub.public_cible:
            errors.append((field, f"ce nombre de licences demande le public cible « {public} »."))

    # RG6: a whole-school affectation has a global count and no count per public.
    if sub.type_affectation == AFFECTATION_ETABL and (has_per_public or not has_global):
        errors.append(
            (
                "type_affectation",
                "une affectation ETABL porte un nombre de licences global et aucun "
                "nombre par public.",
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
    return errors


# --- document and request -------------------------------------------------------------------


def _format_datetime(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def to_xml(sub: Subscription) -> bytes:
    """The subscription as the GAR's XML document (UTF-8), after :func:`validate`."""
    validate(sub)
    root = ET.Element(f"{{{NAMESPACE}}}abonnement")

    def add(tag: str, text: str) -> None:
        ET.SubElement(root, f"{{{NAMESPACE}}}{tag}").text = text

    add("idAbonnement", sub.id_abonnement)
    if sub.commentaire_abonnement:
        add("commentaireAbonnement", sub.commentaire_abonnement)
    add("idDistributeurCom", sub.id_distributeur_com)
    add("idRessource", sub.id_ressource)
    add("typeIdRessource", sub.type_id_ressource)
    add("libelleRessource", sub.libelle_ressource)
    add("debutValidite", _format_datetime(sub.debut_validite))
    add("finValidite", _format_datetime(sub.fin_validite))
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


def put_request(base_url: str, sub: Subscription) -> tuple[str, bytes, dict[str, str]]:
    """``(url, body, headers)`` of the ``PUT`` that creates ``sub`` at the GAR.

    The body is :func:`to_xml` (so an invalid subscription raises before any request is
    described). The caller sends it with the distributor's client certificate.
    """
    body = to_xml(sub)
    url = f"{base_url.rstrip('/')}/{sub.id_abonnement}"
    headers = {
        "Content-Type": "application/xml;charset=utf-8",
        "Accept": "application/xml",
    }
    return url, body, headers


def delete_request(base_url: str, id_abonnement: str) -> tuple[str, dict[str, str]]:
    """``(url, headers)`` of the ``DELETE`` that ends the subscription ``id_abonnement`` at
    the GAR (a cancelled licence). No body. The identifier is checked as for a creation."""
    probe = _identifier_errors_of(id_abonnement)
    if probe:
        raise InvalidSubscription([("id_abonnement", reason) for reason in probe])
    url = f"{base_url.rstrip('/')}/{id_abonnement}"
    return url, {"Accept": "application/xml"}


def _identifier_errors_of(id_abonnement: str) -> list[str]:
    if (
        not id_abonnement
        or len(id_abonnement) > ID_ABONNEMENT_MAX_LENGTH
        or id_abonnement.startswith("_")
        or not _ID_ABONNEMENT.fullmatch(id_abonnement)
        or id_abonnement.lower() in RESERVED_IDS
    ):
        return ["identifiant d'abonnement invalide pour le GAR."]
    return []


# --- mapping from the app's licences --------------------------------------------------------


def for_licence(
    *,
    licence_id: int,
    ark: str,
    title: str,
    uai: str,
    plan_kind: str,
    seats: int,
    valid_from: date,
    valid_until: date,
    distributor_id: str,
    prefix: str = "CR",
) -> Subscription:
    """The subscription for one licence of the app; not validated (:func:`to_xml` does).

    - ``teacher`` plan: INDIV, public ENSEIGNANT, one teacher seat;
    - ``class`` plan: INDIV, publics ENSEIGNANT and ELEVE, one teacher seat and ``seats``
      pupil seats;
    - ``school`` plan: ETABL, publics ENSEIGNANT, ELEVE and DOCUMENTALISTE, global count
      "ILLIMITE" whatever ``seats`` says: an ETABL affectation opens the resource to every
      member of its publics in the school, and a number would only cut some of them off.

    Validity runs from ``valid_from`` at 00:00:00 to ``valid_until`` at 23:59:59, Paris
    time. ``distributor_id`` is our idDistributeurCom (SIREN_ISNI).
    """
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
        publics = (PUBLIC_ENSEIGNANT, PUBLIC_ELEVE, PUBLIC_DOCUMENTALISTE)
        global_count = UNLIMITED
    else:
        raise InvalidSubscription([("plan_kind", f"formule inconnue : {plan_kind!r}.")])
    return Subscription(
        id_abonnement=subscription_id(licence_id, prefix),
        id_distributeur_com=distributor_id,
        id_ressource=ark,
        libelle_ressource=title,
        debut_validite=datetime.combine(valid_from, time(0, 0, 0), tzinfo=PARIS),
        fin_validite=datetime.combine(valid_until, time(23, 59, 59), tzinfo=PARIS),
        uai_etab=normalize_uai(uai),
        type_affectation=affectation,
        nb_licence_globale=global_count,
        nb_licence_enseignant=teacher_seats,
        nb_licence_eleve=pupil_seats,
        public_cible=publics,
        commentaire_abonnement=f"Compte Ressources, licence {licence_id}",
    )


def subscription_id(licence_id: int, prefix: str = "CR") -> str:
    """The idAbonnement of a licence's subscription."""
    return f"{prefix}-{licence_id}"
