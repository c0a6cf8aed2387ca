"""The code of conduct: automated checks of a vendor's data-practices declaration.

A vendor declares where the data is hosted, who processes it, which personal data of teachers
and pupils the resource collects and what it does with it. :meth:`Declaration.from_dict`
reads that declaration strictly (every error is reported with its field path, in French);
:func:`check` applies the code-of-conduct rules and returns one :class:`Finding` per rule:
``blocker`` (the submission is refused), ``warning`` (reviewers will look at it) or ``ok``.

The reference data lives in ``catalog/data``: the limits (``conduct_limits.json``), the groups
excluded from the marketplace (``exclusion_list.json``), the label criteria assessed by the
reviewers (``label_criteria.json``) and the categories of personal data
(``data_categories.json``). Each loader is cached; a broken file raises
:class:`~catalog.vocabularies.VocabularyError`.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from catalog.datafiles import (
    VocabularyError,
    check_unique,
    load_objects,
    object_list,
    read_json,
    str_field,
)
from catalog.exclusion import (
    Entry,
    excluded_match,
    find_match,
    known_groups,
    normalize_company_name,
)

__all__ = [
    "RULES",
    "RULE_FIELDS",
    "Company",
    "DataCategory",
    "Declaration",
    "ExcludedCompany",
    "Finding",
    "Hosting",
    "InvalidDeclaration",
    "LabelCriterion",
    "Limits",
    "Public",
    "Severity",
    "Subprocessor",
    "PartialCheck",
    "check",
    "check_partial",
    "counted",
    "data_categories",
    "excluded_match",
    "exclusion_list",
    "has_blocker",
    "label_criteria",
    "limits",
    "normalize_company_name",
    "sample_declaration",
]

Public = Literal["teacher", "pupil"]


def counted(number: int, noun: str) -> str:
    """`number` and `noun`, agreed in French: "1 jour", "0 jour", "2 jours"."""
    return f"{number} {noun}{'s' if abs(number) > 1 else ''}"


RULES: tuple[str, ...] = (
    "hosting_eea",
    "subprocessors_eea",
    "advertising",
    "data_sale",
    "pupil_profiling",
    "retention",
    "dpo_contact",
    "privacy_policy",
    "breach_notification",
    "deletion_at_end",
    "pupil_identity_gar",
    "exclusion_list",
    "trackers",
    "certifications",
)
"""The rule ids, in the order :func:`check` returns their findings."""


class Severity(enum.StrEnum):
    """How serious a finding is. A ``blocker`` refuses the submission on the spot."""

    BLOCKER = "blocker"
    WARNING = "warning"
    OK = "ok"

    @property
    def label(self) -> str:
        """The French word shown to users: Bloquant, Avertissement, Conforme."""
        return _SEVERITY_LABELS[self]


_SEVERITY_LABELS = {
    Severity.BLOCKER: "Bloquant",
    Severity.WARNING: "Avertissement",
    Severity.OK: "Conforme",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of one rule. ``message`` is in French, for the vendor; ``field`` is the
    path of the declaration's field concerned (``hosting[1].country``), when there is one."""

    rule: str
    severity: Severity
    message: str
    field: str | None = None


# --- reference data ------------------------------------------------------------------------

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Limits:
    """The numeric limits of the code of conduct and the countries of the EEA."""

    retention_days_max: int
    breach_notification_hours_max: int
    eea_countries: frozenset[str]


@dataclass(frozen=True, slots=True)
class ExcludedCompany:
    """A company of a group excluded from the marketplace, e.g. YouTube of Alphabet."""

    name: str
    group: str


@dataclass(frozen=True, slots=True)
class LabelCriterion:
    """A criterion of the label grid that reviewers assess."""

    code: str
    label: str
    description: str


@dataclass(frozen=True, slots=True)
class DataCategory:
    """A category of personal data. ``identifying`` ones name the person directly."""

    code: str
    label: str
    identifying: bool


def _data_int(filename: str, data: Mapping[str, object], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise VocabularyError(f"{filename}: {key!r} must be a positive integer")
    return value


def _is_country_code(value: str) -> bool:
    return len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()


@cache
def limits() -> Limits:
    """The limits of ``conduct_limits.json``: retention, breach notification, EEA countries."""
    filename = "conduct_limits.json"
    data = read_json(filename)
    if not isinstance(data, dict):
        raise VocabularyError(f"{filename}: expected a JSON object")
    countries = data.get("eea_countries")
    if not isinstance(countries, list) or not countries:
        raise VocabularyError(f"{filename}: 'eea_countries' must be a non-empty list")
    for country in countries:
        if not isinstance(country, str) or not _is_country_code(country):
            raise VocabularyError(f"{filename}: country {country!r} must be 2 capital letters")
    check_unique(filename, "countries", countries)
    return Limits(
        retention_days_max=_data_int(filename, data, "retention_days_max"),
        breach_notification_hours_max=_data_int(filename, data, "breach_notification_hours_max"),
        eea_countries=frozenset(countries),
    )


_default_limits = limits  # `check`'s parameter of the same name hides the loader.


@cache
def exclusion_list() -> tuple[ExcludedCompany, ...]:
    """Every name of ``exclusion_list.json``, each group's own then its aliases, with the
    group it belongs to (the list the operator starts from)."""
    return tuple(
        ExcludedCompany(name, group.name) for group in known_groups() for name in group.names
    )


@cache
def label_criteria() -> tuple[LabelCriterion, ...]:
    """The criteria of the label grid, in the order reviewers assess them."""
    filename = "label_criteria.json"
    result = [
        LabelCriterion(
            code=str_field(filename, i, item, "code"),
            label=str_field(filename, i, item, "label"),
            description=str_field(filename, i, item, "description"),
        )
        for i, item in enumerate(load_objects(filename))
    ]
    check_unique(filename, "codes", [c.code for c in result])
    return tuple(result)


@cache
def _all_data_categories() -> dict[str, tuple[DataCategory, ...]]:
    filename = "data_categories.json"
    data = read_json(filename)
    if not isinstance(data, dict):
        raise VocabularyError(f"{filename}: expected a JSON object")
    result: dict[str, tuple[DataCategory, ...]] = {}
    for public in ("teacher", "pupil"):
        where = f"{filename} ({public})"
        categories: list[DataCategory] = []
        for i, item in enumerate(object_list(where, data.get(public))):
            identifying = item.get("identifying")
            if not isinstance(identifying, bool):
                raise VocabularyError(f"{where}: item {i}: 'identifying' must be true or false")
            categories.append(
                DataCategory(
                    str_field(where, i, item, "code"),
                    str_field(where, i, item, "label"),
                    identifying,
                )
            )
        check_unique(where, "codes", [c.code for c in categories])
        result[public] = tuple(categories)
    return result


def data_categories(public: Public) -> tuple[DataCategory, ...]:
    """The categories of personal data of teachers or of pupils, in file order."""
    try:
        return _all_data_categories()[public]
    except KeyError:
        raise ValueError(f"unknown public: {public!r} (expected 'teacher' or 'pupil')") from None


@cache
def _sample_text() -> str:
    path = resources.files("catalog") / "data" / "declaration_example.json"
    return path.read_text(encoding="utf-8")


def sample_declaration() -> dict[str, object]:
    """A compliant declaration, as a new JSON-like dict at each call (safe to modify).

    The same example is shipped as ``catalog/data/declaration_example.json``.
    """
    data = json.loads(_sample_text())
    if not isinstance(data, dict):
        raise VocabularyError("declaration_example.json: expected a JSON object")
    return data


# --- the declaration -----------------------------------------------------------------------


class InvalidDeclaration(ValueError):
    """A declaration cannot be read. ``errors`` lists every problem as
    ``(field path, French reason)``, e.g. ``("hosting[0].country", "…")``."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        super().__init__("; ".join(f"{field} : {reason}" for field, reason in self.errors))


@dataclass(frozen=True, slots=True)
class Hosting:
    """Where the data is hosted: a country (ISO 3166 alpha-2) and a hosting provider."""

    country: str
    provider: str


@dataclass(frozen=True, slots=True)
class Subprocessor:
    """A sub-processor that handles personal data for the vendor, and why."""

    name: str
    country: str
    purpose: str


@dataclass(frozen=True, slots=True)
class Company:
    """The vendor's company and its parent company, if any."""

    legal_name: str
    parent_company: str | None = None


_DECLARATION_KEYS = (
    "company",
    "hosting",
    "subprocessors",
    "teacher_data",
    "pupil_data",
    "purposes",
    "retention_days",
    "advertising",
    "data_sale",
    "pupil_profiling",
    "trackers",
    "gar_access",
    "dpo_contact",
    "privacy_policy_url",
    "certifications",
    "breach_notification_hours",
    "deletion_at_end",
)


class _Missing(enum.Enum):
    """The value of a missing key, already reported: no other error is added for it."""

    MISSING = enum.auto()


_MISSING = _Missing.MISSING


class _Reader:
    """Reads the JSON-like values of a declaration, collecting every error.

    A value in error is replaced by a neutral one (``""``, ``0``, ``False``) so that reading
    goes on; :meth:`Declaration.from_dict` raises before any such value is used.
    """

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, reason: str) -> None:
        self.errors.append((path, reason))

    def get(self, data: Mapping[str, object], key: str, path: str) -> object:
        if key not in data:
            self.error(path, "champ obligatoire manquant.")
            return _MISSING
        return data[key]

    def unknown_keys(self, data: Mapping[str, object], known: Iterable[str], prefix: str) -> None:
        known = set(known)
        for key in data:
            if key not in known:
                self.error(f"{prefix}{key}", "champ inconnu.")

    def text(self, value: object, path: str, *, required: bool = True) -> str:
        if not isinstance(value, str):
            if value is not _MISSING:
                self.error(path, "doit être un texte.")
            return ""
        value = value.strip()
        if required and not value:
            self.error(path, "ne doit pas être vide.")
        return value

    def boolean(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            if value is not _MISSING:
                self.error(path, "doit valoir true ou false.")
            return False
        return value

    def count(self, value: object, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            if value is not _MISSING:
                self.error(path, "doit être un nombre entier.")
            return 0
        if value < 0:
            self.error(path, "ne doit pas être négatif.")
        return value

    def country(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            return self.text(value, path)
        code = value.strip().upper()
        if not _is_country_code(code):
            self.error(path, f"« {value} » n'est pas un code pays à 2 lettres (FR, DE, IE…).")
        return code

    def items(self, value: object, path: str, *, min_items: int = 0) -> list[object] | None:
        if not isinstance(value, list):
            if value is not _MISSING:
                self.error(path, "doit être une liste.")
            return None
        if len(value) < min_items:
            self.error(path, "doit contenir au moins un élément.")
            return None
        return value

    def mapping(self, value: object, path: str) -> Mapping[str, object] | None:
        if not isinstance(value, Mapping):
            self.error(path, "doit être un objet.")
            return None
        return value

    def records(
        self,
        value: object,
        path: str,
        parse: Callable[[Mapping[str, object], str], _T],
        *,
        min_items: int = 0,
    ) -> tuple[_T, ...]:
        result: list[_T] = []
        for i, item in enumerate(self.items(value, path, min_items=min_items) or []):
            item_path = f"{path}[{i}]"
            record = self.mapping(item, item_path)
            if record is not None:
                result.append(parse(record, item_path))
        return tuple(result)

    def texts(self, value: object, path: str, *, min_items: int = 0) -> tuple[str, ...]:
        return tuple(
            self.text(item, f"{path}[{i}]")
            for i, item in enumerate(self.items(value, path, min_items=min_items) or [])
        )

    def categories(self, value: object, path: str, public: Public) -> tuple[str, ...]:
        known = [c.code for c in data_categories(public)]
        result: list[str] = []
        for i, item in enumerate(self.items(value, path) or []):
            item_path = f"{path}[{i}]"
            if not isinstance(item, str):
                self.error(item_path, "doit être un code de catégorie (texte).")
            elif item not in known:
                self.error(
                    item_path,
                    f"catégorie inconnue « {item} » (attendu : {', '.join(known)}).",
                )
            elif item in result:
                self.error(item_path, f"la catégorie « {item} » est déjà déclarée.")
            else:
                result.append(item)
        return tuple(result)

    def field(self, data: Mapping[str, object], key: str, path: str) -> tuple[object, str]:
        """The value of ``data[key]`` (reported when missing) and its path."""
        field_path = f"{path}.{key}"
        return self.get(data, key, field_path), field_path

    def hosting(self, data: Mapping[str, object], path: str) -> Hosting:
        self.unknown_keys(data, ("country", "provider"), f"{path}.")
        return Hosting(
            country=self.country(*self.field(data, "country", path)),
            provider=self.text(*self.field(data, "provider", path)),
        )

    def subprocessor(self, data: Mapping[str, object], path: str) -> Subprocessor:
        self.unknown_keys(data, ("name", "country", "purpose"), f"{path}.")
        return Subprocessor(
            name=self.text(*self.field(data, "name", path)),
            country=self.country(*self.field(data, "country", path)),
            purpose=self.text(*self.field(data, "purpose", path)),
        )

    def company(self, value: object, path: str) -> Company | None:
        data = self.mapping(value, path)
        if data is None:
            return None
        self.unknown_keys(data, ("legal_name", "parent_company"), f"{path}.")
        parent = data.get("parent_company")
        return Company(
            legal_name=self.text(*self.field(data, "legal_name", path)),
            parent_company=(
                None
                if parent is None
                else self.text(parent, f"{path}.parent_company", required=False) or None
            ),
        )


@dataclass(frozen=True, slots=True)
class Declaration:
    """A vendor's data-practices declaration (see ``catalog/data/declaration_example.json``).

    ``teacher_data`` and ``pupil_data`` hold codes of :func:`data_categories`; countries are
    ISO 3166 alpha-2 codes in capitals. ``dpo_contact`` and ``privacy_policy_url`` may be
    empty: the rules of :func:`check`, not the parser, refuse that.
    """

    hosting: tuple[Hosting, ...]
    subprocessors: tuple[Subprocessor, ...]
    teacher_data: tuple[str, ...]
    pupil_data: tuple[str, ...]
    purposes: tuple[str, ...]
    retention_days: int
    advertising: bool
    data_sale: bool
    pupil_profiling: bool
    trackers: tuple[str, ...]
    gar_access: bool
    dpo_contact: str
    privacy_policy_url: str
    certifications: tuple[str, ...]
    breach_notification_hours: int
    deletion_at_end: bool
    company: Company | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Declaration:
        """Read a declaration from its JSON form, or raise :class:`InvalidDeclaration`
        listing every error with its field path. Strings are stripped and countries put in
        capitals; unknown keys and category codes, wrong types, negative numbers and missing
        keys are errors. ``company`` is optional.
        """
        reader = _Reader()
        if not isinstance(data, Mapping):
            raise InvalidDeclaration([("declaration", "la déclaration doit être un objet.")])

        def get(key: str) -> object:
            return reader.get(data, key, key)

        raw_company = data.get("company")
        company = None if raw_company is None else reader.company(raw_company, "company")
        hosting = reader.records(get("hosting"), "hosting", reader.hosting, min_items=1)
        subprocessors = reader.records(get("subprocessors"), "subprocessors", reader.subprocessor)
        teacher_data = reader.categories(get("teacher_data"), "teacher_data", "teacher")
        pupil_data = reader.categories(get("pupil_data"), "pupil_data", "pupil")
        purposes = reader.texts(get("purposes"), "purposes", min_items=1)
        retention_days = reader.count(get("retention_days"), "retention_days")
        advertising = reader.boolean(get("advertising"), "advertising")
        data_sale = reader.boolean(get("data_sale"), "data_sale")
        pupil_profiling = reader.boolean(get("pupil_profiling"), "pupil_profiling")
        trackers = reader.texts(get("trackers"), "trackers")
        gar_access = reader.boolean(get("gar_access"), "gar_access")
        dpo_contact = reader.text(get("dpo_contact"), "dpo_contact", required=False)
        privacy_policy_url = reader.text(
            get("privacy_policy_url"), "privacy_policy_url", required=False
        )
        certifications = reader.texts(get("certifications"), "certifications")
        breach_hours = reader.count(get("breach_notification_hours"), "breach_notification_hours")
        deletion_at_end = reader.boolean(get("deletion_at_end"), "deletion_at_end")

        reader.unknown_keys(data, _DECLARATION_KEYS, "")
        if reader.errors:
            raise InvalidDeclaration(reader.errors)
        return cls(
            hosting=hosting,
            subprocessors=subprocessors,
            teacher_data=teacher_data,
            pupil_data=pupil_data,
            purposes=purposes,
            retention_days=retention_days,
            advertising=advertising,
            data_sale=data_sale,
            pupil_profiling=pupil_profiling,
            trackers=trackers,
            gar_access=gar_access,
            dpo_contact=dpo_contact,
            privacy_policy_url=privacy_policy_url,
            certifications=certifications,
            breach_notification_hours=breach_hours,
            deletion_at_end=deletion_at_end,
            company=company,
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON form read by :meth:`from_dict`; ``company`` is left out when unknown."""
        result: dict[str, object] = {}
        if self.company is not None:
            result["company"] = {
                "legal_name": self.company.legal_name,
                "parent_company": self.company.parent_company,
            }
        result.update(
            {
                "hosting": [{"country": h.country, "provider": h.provider} for h in self.hosting],
                "subprocessors": [
                    {"name": s.name, "country": s.country, "purpose": s.purpose}
                    for s in self.subprocessors
                ],
                "teacher_data": list(self.teacher_data),
                "pupil_data": list(self.pupil_data),
                "purposes": list(self.purposes),
                "retention_days": self.retention_days,
                "advertising": self.advertising,
                "data_sale": self.data_sale,
                "pupil_profiling": self.pupil_profiling,
                "trackers": list(self.trackers),
                "gar_access": self.gar_access,
                "dpo_contact": self.dpo_contact,
                "privacy_policy_url": self.privacy_policy_url,
                "certifications": list(self.certifications),
                "breach_notification_hours": self.breach_notification_hours,
                "deletion_at_end": self.deletion_at_end,
            }
        )
        return result


# --- the rules -----------------------------------------------------------------------------

_EEA = "l'Union européenne et de l'EEE"


def _join(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` → ``"a, b et c"``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} et {items[-1]}"


def _hosting_eea(declaration: Declaration, limits: Limits) -> Finding:
    outside = [
        (i, h) for i, h in enumerate(declaration.hosting) if h.country not in limits.eea_countries
    ]
    if not outside:
        return Finding(
            "hosting_eea",
            Severity.OK,
            "Hébergement dans l'Union européenne ou l'EEE.",
            "hosting",
        )
    places = _join([f"chez {h.provider} ({h.country})" for _, h in outside])
    return Finding(
        "hosting_eea",
        Severity.BLOCKER,
        f"L'hébergement {places} est hors de {_EEA} : "
        "les données des élèves doivent rester dans l'EEE.",
        f"hosting[{outside[0][0]}].country",
    )


def _subprocessors_eea(declaration: Declaration, limits: Limits) -> Finding:
    outside = [
        (i, s)
        for i, s in enumerate(declaration.subprocessors)
        if s.country not in limits.eea_countries
    ]
    if not outside:
        message = (
            "Sous-traitants établis dans l'Union européenne ou l'EEE."
            if declaration.subprocessors
            else "Aucun sous-traitant déclaré."
        )
        return Finding("subprocessors_eea", Severity.OK, message, "subprocessors")
    names = _join([f"{s.name} ({s.country})" for _, s in outside])
    subject = (
        f"Le sous-traitant {names} est établi"
        if len(outside) == 1
        else f"Les sous-traitants {names} sont établis"
    )
    return Finding(
        "subprocessors_eea",
        Severity.BLOCKER,
        f"{subject} hors de {_EEA} : les données personnelles ne peuvent être confiées "
        "qu'à des sous-traitants établis dans l'EEE.",
        f"subprocessors[{outside[0][0]}].country",
    )


def _advertising(declaration: Declaration) -> Finding:
    if declaration.advertising:
        return Finding(
            "advertising",
            Severity.BLOCKER,
            "La ressource affiche de la publicité : la publicité est interdite dans les "
            "ressources destinées aux élèves et aux enseignants.",
            "advertising",
        )
    return Finding("advertising", Severity.OK, "Aucune publicité.", "advertising")


def _data_sale(declaration: Declaration) -> Finding:
    if declaration.data_sale:
        return Finding(
            "data_sale",
            Severity.BLOCKER,
            "Vous déclarez vendre les données ou les réutiliser à des fins commerciales : "
            "c'est interdit, les données ne peuvent servir qu'à fournir le service.",
            "data_sale",
        )
    return Finding(
        "data_sale",
        Severity.OK,
        "Aucune vente ni réutilisation commerciale des données.",
        "data_sale",
    )


def _pupil_profiling(declaration: Declaration) -> Finding:
    if declaration.pupil_profiling:
        return Finding(
            "pupil_profiling",
            Severity.BLOCKER,
            "Vous déclarez établir des profils des élèves ou suivre leur comportement : "
            "le profilage et le suivi comportemental des élèves sont interdits.",
            "pupil_profiling",
        )
    return Finding(
        "pupil_profiling",
        Severity.OK,
        "Aucun profilage des élèves.",
        "pupil_profiling",
    )


def _retention(declaration: Declaration, limits: Limits) -> Finding:
    days, limit = declaration.retention_days, limits.retention_days_max
    if days > limit:
        return Finding(
            "retention",
            Severity.BLOCKER,
            f"La durée de conservation déclarée ({counted(days, 'jour')}) dépasse la durée "
            f"maximale autorisée de {counted(limit, 'jour')}.",
            "retention_days",
        )
    return Finding(
        "retention",
        Severity.OK,
        f"Durée de conservation de {counted(days, 'jour')}, dans la limite de "
        f"{counted(limit, 'jour')}.",
        "retention_days",
    )


def _dpo_contact(declaration: Declaration) -> Finding:
    if not declaration.dpo_contact.strip():
        return Finding(
            "dpo_contact",
            Severity.BLOCKER,
            "Aucun contact du délégué à la protection des données (DPO) n'est indiqué : il est "
            "obligatoire pour que les écoles et les familles puissent exercer leurs droits.",
            "dpo_contact",
        )
    return Finding(
        "dpo_contact",
        Severity.OK,
        "Contact du délégué à la protection des données indiqué.",
        "dpo_contact",
    )


def _privacy_policy(declaration: Declaration) -> Finding:
    url = declaration.privacy_policy_url.strip()
    if not url:
        return Finding(
            "privacy_policy",
            Severity.BLOCKER,
            "Aucune politique de confidentialité n'est indiquée : donnez l'adresse "
            "(https://…) de la page publique qui la présente.",
            "privacy_policy_url",
        )
    try:
        parts = urlsplit(url)
        secure = parts.scheme.lower() == "https" and bool(parts.hostname) and " " not in url
    except ValueError:
        secure = False
    if not secure:
        return Finding(
            "privacy_policy",
            Severity.BLOCKER,
            f"L'adresse de la politique de confidentialité (« {url} ») doit être une adresse "
            "web sécurisée commençant par https://.",
            "privacy_policy_url",
        )
    return Finding(
        "privacy_policy",
        Severity.OK,
        "Politique de confidentialité publiée à une adresse sécurisée.",
        "privacy_policy_url",
    )


def _breach_notification(declaration: Declaration, limits: Limits) -> Finding:
    hours, limit = declaration.breach_notification_hours, limits.breach_notification_hours_max
    if hours > limit:
        return Finding(
            "breach_notification",
            Severity.BLOCKER,
            f"Le délai de notification d'une violation de données ({counted(hours, 'heure')}) "
            f"dépasse le maximum de {counted(limit, 'heure')}.",
            "breach_notification_hours",
        )
    return Finding(
        "breach_notification",
        Severity.OK,
        f"Notification d'une violation de données sous {counted(hours, 'heure')}.",
        "breach_notification_hours",
    )


def _deletion_at_end(declaration: Declaration) -> Finding:
    if not declaration.deletion_at_end:
        return Finding(
            "deletion_at_end",
            Severity.BLOCKER,
            "Les données ne sont ni supprimées ni restituées à la fin du contrat : "
            "elles doivent l'être.",
            "deletion_at_end",
        )
    return Finding(
        "deletion_at_end",
        Severity.OK,
        "Suppression ou restitution des données à la fin du contrat.",
        "deletion_at_end",
    )


def _pupil_identity_gar(declaration: Declaration) -> Finding:
    identifying = [
        f"« {c.label} »"
        for c in data_categories("pupil")
        if c.identifying and c.code in declaration.pupil_data
    ]
    if not identifying:
        return Finding(
            "pupil_identity_gar",
            Severity.OK,
            "Aucune donnée identifiant directement les élèves.",
            "pupil_data",
        )
    if declaration.gar_access:
        return Finding(
            "pupil_identity_gar",
            Severity.OK,
            "Données identifiant les élèves reçues par le GAR.",
            "pupil_data",
        )
    return Finding(
        "pupil_identity_gar",
        Severity.BLOCKER,
        f"Vous collectez des données qui identifient directement les élèves "
        f"({_join(identifying)}) sans passer par le GAR : l'accès des élèves doit se faire "
        "par le GAR (gestionnaire d'accès aux ressources), qui protège leur identité.",
        "gar_access",
    )


def _exclusion(company: Company | None, excluded_names: Sequence[Entry | str]) -> Finding:
    if company is None or not company.legal_name.strip():
        return Finding(
            "exclusion_list",
            Severity.WARNING,
            "La société n'est pas indiquée : son appartenance à un groupe exclu de la place "
            "de marché n'a pas pu être vérifiée.",
            "company",
        )
    hits: list[tuple[str, str]] = []
    candidates = [("la société", "company.legal_name", company.legal_name)]
    if company.parent_company:
        candidates.append(("la maison mère", "company.parent_company", company.parent_company))
    for what, field, name in candidates:
        match = find_match(name, excluded_names)
        if match is not None:
            of_group = f" (groupe {match.group})" if match.group else ""
            hits.append((field, f"{what} « {name} » correspond à « {match.found} »{of_group}"))
    if not hits:
        return Finding(
            "exclusion_list",
            Severity.OK,
            "Ni la société ni sa maison mère n'appartiennent à un groupe exclu.",
            "company",
        )
    details = _join([text for _, text in hits])
    return Finding(
        "exclusion_list",
        Severity.BLOCKER,
        f"{details[0].upper()}{details[1:]} : la société ou sa maison mère appartient à un "
        "groupe exclu de la place de marché.",
        hits[0][0],
    )


def _trackers(declaration: Declaration) -> Finding:
    if declaration.trackers:
        return Finding(
            "trackers",
            Severity.WARNING,
            f"La ressource intègre des traceurs tiers ({_join(list(declaration.trackers))}) : "
            "retirez-les ou limitez-vous à une mesure d'audience qui ne suit pas les élèves.",
            "trackers",
        )
    return Finding("trackers", Severity.OK, "Aucun traceur tiers.", "trackers")


def _certifications(declaration: Declaration) -> Finding:
    if not declaration.certifications:
        return Finding(
            "certifications",
            Severity.WARNING,
            "Aucune certification de sécurité déclarée (ISO 27001, HDS, SecNumCloud…) : "
            "elle n'est pas obligatoire mais rassure les établissements.",
            "certifications",
        )
    return Finding(
        "certifications",
        Severity.OK,
        f"Certifications déclarées ({_join(list(declaration.certifications))}).",
        "certifications",
    )


def check(
    declaration: Declaration,
    company: Company | None = None,
    excluded_names: Iterable[Entry | str] | None = None,
    limits: Limits | None = None,
) -> list[Finding]:
    """Apply every rule of the code of conduct; one finding per rule, in the order of
    :data:`RULES`.

    ``company`` defaults to the declaration's own, ``excluded_names`` (the entries of the
    exclusion list, see :mod:`catalog.exclusion`) to the names of :func:`exclusion_list`
    and ``limits`` to :func:`limits`.
    """
    if company is None:
        company = declaration.company
    names = [c.name for c in exclusion_list()] if excluded_names is None else list(excluded_names)
    if limits is None:
        limits = _default_limits()
    return [
        _hosting_eea(declaration, limits),
        _subprocessors_eea(declaration, limits),
        _advertising(declaration),
        _data_sale(declaration),
        _pupil_profiling(declaration),
        _retention(declaration, limits),
        _dpo_contact(declaration),
        _privacy_policy(declaration),
        _breach_notification(declaration, limits),
        _deletion_at_end(declaration),
        _pupil_identity_gar(declaration),
        _exclusion(company, names),
        _trackers(declaration),
        _certifications(declaration),
    ]


def has_blocker(findings: Iterable[Finding]) -> bool:
    """Whether any finding is a blocker (the submission must be refused)."""
    return any(f.severity is Severity.BLOCKER for f in findings)


# --- checking a declaration still being written ---------------------------------------------

RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "hosting_eea": ("hosting",),
    "subprocessors_eea": ("subprocessors",),
    "advertising": ("advertising",),
    "data_sale": ("data_sale",),
    "pupil_profiling": ("pupil_profiling",),
    "retention": ("retention_days",),
    "dpo_contact": ("dpo_contact",),
    "privacy_policy": ("privacy_policy_url",),
    "breach_notification": ("breach_notification_hours",),
    "deletion_at_end": ("deletion_at_end",),
    "pupil_identity_gar": ("pupil_data", "gar_access"),
    "exclusion_list": ("company",),
    "trackers": ("trackers",),
    "certifications": ("certifications",),
}
"""The declaration's fields each rule reads: a rule is applied to a partial declaration only
when all of them could be read."""

# Values that read without error, put in place of the fields in error; the rules reading them
# are left out, so these values never show in a finding.
_PLACEHOLDERS: dict[str, object] = {
    "hosting": [{"country": "FR", "provider": "?"}],
    "subprocessors": [],
    "teacher_data": [],
    "pupil_data": [],
    "purposes": ["?"],
    "retention_days": 0,
    "advertising": False,
    "data_sale": False,
    "pupil_profiling": False,
    "trackers": [],
    "gar_access": False,
    "dpo_contact": "",
    "privacy_policy_url": "",
    "certifications": [],
    "breach_notification_hours": 0,
    "deletion_at_end": False,
}


@dataclass(frozen=True, slots=True)
class PartialCheck:
    """The checks of a declaration still being written: the findings of the rules whose
    fields could be read, and the errors (missing or invalid fields, as
    :attr:`InvalidDeclaration.errors`) that keep the declaration from being submitted."""

    findings: list[Finding]
    errors: list[tuple[str, str]]

    @property
    def complete(self) -> bool:
        return not self.errors


def _top_field(path: str) -> str:
    """``hosting[0].country`` → ``hosting``; ``company.legal_name`` → ``company``."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def check_partial(
    data: Mapping[str, object],
    company: Company | None = None,
    excluded_names: Iterable[Entry | str] | None = None,
    limits: Limits | None = None,
) -> PartialCheck:
    """Apply :func:`check` to a declaration that may be incomplete or wrong in places.

    A complete declaration gets exactly the findings of :func:`check`. Otherwise the rules
    reading a field in error (see :data:`RULE_FIELDS`) are left out of the findings, and the
    errors say what is missing or wrong. Pure: nothing is stored.
    """
    try:
        declaration = Declaration.from_dict(data)
    except InvalidDeclaration as invalid:
        errors = invalid.errors
    else:
        return PartialCheck(check(declaration, company, excluded_names, limits), [])
    if not isinstance(data, Mapping):
        return PartialCheck([], errors)
    broken = {_top_field(path) for path, _ in errors}
    if company is not None:
        broken.discard("company")  # the company given is checked, not the declared one
    readable = {k: v for k, v in data.items() if k in _DECLARATION_KEYS and k not in broken}
    try:
        placeholder = Declaration.from_dict({**_PLACEHOLDERS, **readable})
    except InvalidDeclaration:  # pragma: no cover - the placeholders read without error
        return PartialCheck([], errors)
    findings = [
        finding
        for finding in check(placeholder, company, excluded_names, limits)
        if not broken.intersection(RULE_FIELDS[finding.rule])
    ]
    return PartialCheck(findings, errors)
