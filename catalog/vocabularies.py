"""Controlled vocabularies of the catalogue, loaded from the JSON files of ``catalog/data``.

Each loader is cached and returns an immutable tuple in file order. The data is checked when
it is loaded (required fields, unique codes); a broken file raises :class:`VocabularyError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal, TypeVar

from catalog.datafiles import (
    VocabularyError,
    check_unique,
    list_field,
    load_objects,
    str_field,
)
from catalog.identifiers import normalize_uai

__all__ = [
    "Academy",
    "Discipline",
    "Level",
    "ResourceType",
    "SchoolClass",
    "SchoolKind",
    "VocabularyError",
    "VocabularyName",
    "academies",
    "academy",
    "academy_for_uai",
    "disciplines",
    "is_first_degree",
    "label_of",
    "levels",
    "resource_types",
    "school_kinds",
]


@dataclass(frozen=True, slots=True)
class Academy:
    """An academy (rectorat), with the ministry's code, e.g. ``"01"`` Paris.

    ``email_domains`` are the domains of its staff's addresses, the current one first
    (Normandie still has addresses of the former academies of Caen and Rouen).
    """

    code: str
    name: str
    email_domains: tuple[str, ...]
    departments: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.name

    @property
    def email_domain(self) -> str:
        """The academy's current domain, the one new addresses are made with."""
        return self.email_domains[0]

    def accepts_email(self, email: str) -> bool:
        """Whether ``email`` is an address of one of the academy's domains (any case).

        >>> academy("01").accepts_email("Anne.Martin@AC-Paris.fr")
        True
        >>> academy("01").accepts_email("claire.roux@gmail.com")
        False
        """
        local, at, domain = email.strip().rpartition("@")
        return bool(local and at) and domain.lower() in self.email_domains


@dataclass(frozen=True, slots=True)
class SchoolKind:
    """A kind of school: école maternelle, collège, lycée professionnel…"""

    code: str
    label: str
    plural: str  # lowercase, for a sentence: "collèges", "lycées professionnels"
    degree: int  # 1: premier degré (écoles), 2: second degré (collèges, lycées, EREA)

    @property
    def first_degree(self) -> bool:
        return self.degree == 1


@dataclass(frozen=True, slots=True)
class SchoolClass:
    """A class (year group) within a level, e.g. ``"CE1"`` or ``"6e"``."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class Level:
    """A cycle (cycles 1 to 4) or the lycée, with its classes in order."""

    code: str
    label: str
    classes: tuple[SchoolClass, ...]


@dataclass(frozen=True, slots=True)
class Discipline:
    """A school subject."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A type of digital resource (manuel numérique, jeu sérieux…)."""

    code: str
    label: str


VocabularyName = Literal[
    "academies", "school_kinds", "levels", "classes", "disciplines", "resource_types"
]

_T = TypeVar("_T")


# --- loading -------------------------------------------------------------------------------


def _load_coded(filename: str, factory: Callable[[str, str], _T]) -> tuple[_T, ...]:
    items = load_objects(filename)
    codes = [str_field(filename, i, item, "code") for i, item in enumerate(items)]
    labels = [str_field(filename, i, item, "label") for i, item in enumerate(items)]
    check_unique(filename, "codes", codes)
    return tuple(factory(code, label) for code, label in zip(codes, labels, strict=True))


@cache
def academies() -> tuple[Academy, ...]:
    """The 30 academies, in file order."""
    filename = "academies.json"
    result: list[Academy] = []
    for i, item in enumerate(load_objects(filename)):
        code = str_field(filename, i, item, "code")
        if len(code) != 2 or not code.isdigit():
            raise VocabularyError(f"{filename}: item {i}: code {code!r} must be 2 digits")
        departments: list[str] = []
        for department in list_field(filename, i, item, "departments"):
            if not (isinstance(department, str) and len(department) == 3 and department.isdigit()):
                raise VocabularyError(
                    f"{filename}: academy {code}: department {department!r} must be 3 digits"
                )
            departments.append(department)
        domains: list[str] = []
        for domain in list_field(filename, i, item, "email_domains"):
            if not (isinstance(domain, str) and "." in domain and "@" not in domain):
                raise VocabularyError(
                    f"{filename}: academy {code}: e-mail domain {domain!r} must be a domain name"
                )
            domains.append(domain.strip().lower())
        result.append(
            Academy(
                code=code,
                name=str_field(filename, i, item, "name"),
                email_domains=tuple(domains),
                departments=tuple(departments),
            )
        )
    check_unique(filename, "codes", [a.code for a in result])
    check_unique(filename, "email domains", [d for a in result for d in a.email_domains])
    check_unique(filename, "departments", [d for a in result for d in a.departments])
    return tuple(result)


@cache
def _academies_by_code() -> dict[str, Academy]:
    return {a.code: a for a in academies()}


@cache
def _academies_by_department() -> dict[str, Academy]:
    return {d: a for a in academies() for d in a.departments}


def academy(code: str) -> Academy | None:
    """The academy with this ministry code (``"01"``…), or ``None`` when unknown."""
    return _academies_by_code().get(code.strip())


def academy_for_uai(uai: str) -> Academy | None:
    """The academy of a school, from the department prefix (3 first characters) of its UAI.

    Returns ``None`` when no academy holds that department. The UAI's check letter is not
    verified here: use :func:`catalog.identifiers.is_valid_uai` for that.
    """
    return _academies_by_department().get(normalize_uai(uai)[:3])


@cache
def school_kinds() -> tuple[SchoolKind, ...]:
    """The kinds of school, in file order, with their plural and degree."""
    filename = "school_kinds.json"
    coded = _load_coded(filename, lambda code, label: (code, label))
    items = load_objects(filename)
    plurals = [str_field(filename, i, item, "plural") for i, item in enumerate(items)]
    degrees: list[int] = []
    for i, item in enumerate(items):
        degree = item.get("degree")
        if degree != 1 and degree != 2:  # (not "not in": mypy narrows this one to int)
            raise VocabularyError(f"{filename}: item {i}: 'degree' must be 1 or 2")
        degrees.append(degree)
    return tuple(
        SchoolKind(code, label, plural, degree)
        for (code, label), plural, degree in zip(coded, plurals, degrees, strict=True)
    )


def is_first_degree(kind: str) -> bool:
    """Whether a kind of school (its code) is of the first degree: an école."""
    return any(k.code == kind and k.first_degree for k in school_kinds())


@cache
def levels() -> tuple[Level, ...]:
    """Cycles 1 to 4 and the lycée, each with its classes, in file order."""
    filename = "levels.json"
    result: list[Level] = []
    for i, item in enumerate(load_objects(filename)):
        code = str_field(filename, i, item, "code")
        classes: list[SchoolClass] = []
        for j, raw in enumerate(list_field(filename, i, item, "classes")):
            if not isinstance(raw, dict):
                raise VocabularyError(f"{filename}: level {code}: class {j} must be an object")
            where = f"{filename} (level {code})"
            classes.append(
                SchoolClass(str_field(where, j, raw, "code"), str_field(where, j, raw, "label"))
            )
        result.append(Level(code, str_field(filename, i, item, "label"), tuple(classes)))
    check_unique(filename, "level codes", [level.code for level in result])
    check_unique(filename, "class codes", [c.code for level in result for c in level.classes])
    return tuple(result)


@cache
def disciplines() -> tuple[Discipline, ...]:
    """The disciplines (school subjects), in file order."""
    return _load_coded("disciplines.json", Discipline)


@cache
def resource_types() -> tuple[ResourceType, ...]:
    """The types of resource, in file order."""
    return _load_coded("resource_types.json", ResourceType)


@cache
def _labels(vocabulary: VocabularyName) -> dict[str, str]:
    if vocabulary == "academies":
        return {a.code: a.name for a in academies()}
    if vocabulary == "school_kinds":
        return {k.code: k.label for k in school_kinds()}
    if vocabulary == "levels":
        return {level.code: level.label for level in levels()}
    if vocabulary == "classes":
        return {c.code: c.label for level in levels() for c in level.classes}
    if vocabulary == "disciplines":
        return {d.code: d.label for d in disciplines()}
    if vocabulary == "resource_types":
        return {t.code: t.label for t in resource_types()}
    raise ValueError(f"unknown vocabulary: {vocabulary!r}")


def label_of(vocabulary: VocabularyName, code: str) -> str | None:
    """The French label of ``code`` in ``vocabulary`` (an academy's name for academies),
    or ``None`` when the code is unknown.

    >>> label_of("disciplines", "mathematiques")
    'Mathématiques'
    """
    return _labels(vocabulary).get(code)
