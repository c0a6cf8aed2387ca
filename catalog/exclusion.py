"""The exclusion list: matching a company's name against the groups that may not sell on
the marketplace.

The operator keeps the list (a name per entry, e.g. "Meta"); ``exclusion_list.json`` keeps,
for the groups we know, their other names and subsidiaries ("Meta": Facebook, Instagram,
WhatsApp…). A company matches an entry when the entry's name, or one of the names known
for its group, appears as whole words in the company's name, both normalised
(:func:`normalize_company_name`: case, accents, punctuation and legal-form words such as
SAS or Inc. do not count). "Edu Meta SAS" matches "Meta"; "Metaphore Éditions" does not.
Every :class:`Match` says which entry matched and through which name, so that a false
positive can be explained.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from catalog.datafiles import VocabularyError, check_unique, load_objects, str_field

__all__ = [
    "LEGAL_FORMS",
    "Entry",
    "KnownGroup",
    "Match",
    "excluded_match",
    "find_match",
    "known_groups",
    "known_names",
    "normalize_company_name",
]

FILENAME = "exclusion_list.json"

LEGAL_FORMS: frozenset[str] = frozenset(
    {
        # France
        "sa",
        "sas",
        "sasu",
        "sarl",
        "eurl",
        "sca",
        "scs",
        "snc",
        "sci",
        "scop",
        "selarl",
        # elsewhere
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "unlimited",
        "llc",
        "llp",
        "lp",
        "plc",
        "corp",
        "corporation",
        "co",
        "gmbh",
        "ag",
        "kg",
        "bv",
        "nv",
        "srl",
        "spa",
        "sl",
        "ab",
        "oy",
    }
)
"""Words of a legal form, ignored when names are compared ("Google LLC" is "Google")."""

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
# "S.A.S." and "S.A." are written with dots between single letters: joined before the
# punctuation goes, so they read "sas" and "sa" ("Amazon.com" is left alone).
_DOTTED_ACRONYM = re.compile(r"(?<![0-9a-z])(?:[a-z]\.){1,}[a-z](?![0-9a-z])\.?")


@lru_cache(maxsize=4096)
def normalize_company_name(name: str) -> str:
    """The words of a company name that identify it: casefolded, without accents,
    punctuation or legal-form words, single-spaced. ``"Google  Ireland, Ltd."`` →
    ``"google ireland"``; ``"Méta-Éducation S.A.S."`` → ``"meta education"``. Letters
    outside ASCII that have no accent to remove are dropped."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    joined = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), ascii_only)
    words = _NOT_ALPHANUMERIC.sub(" ", joined).split()
    return " ".join(word for word in words if word not in LEGAL_FORMS)


def _contains_words(company: str, name: str) -> bool:
    """Whether the normalised `name` appears as whole words in the normalised `company`."""
    return bool(name) and f" {name} " in f" {company} "


@dataclass(frozen=True, slots=True)
class KnownGroup:
    """A group we know the other names and subsidiaries of (``exclusion_list.json``)."""

    name: str
    aliases: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@cache
def known_groups() -> tuple[KnownGroup, ...]:
    """The groups of ``exclusion_list.json``, in file order. Every name (a group's or an
    alias) must keep a word once normalised, and appear once in the whole file."""
    result: list[KnownGroup] = []
    for i, item in enumerate(load_objects(FILENAME)):
        name = str_field(FILENAME, i, item, "name")
        aliases = item.get("aliases", [])
        if not isinstance(aliases, list) or not all(
            isinstance(a, str) and a.strip() for a in aliases
        ):
            raise VocabularyError(f"{FILENAME}: item {i}: 'aliases' must be a list of names")
        group = KnownGroup(name, tuple(aliases))
        for known in group.names:
            if not normalize_company_name(known):
                raise VocabularyError(
                    f"{FILENAME}: item {i}: name {known!r} has no letter or digit "
                    "once its legal form is removed"
                )
        result.append(group)
    check_unique(FILENAME, "names", [normalize_company_name(n) for g in result for n in g.names])
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry of the exclusion list as the operator keeps it: a name, and the group it
    belongs to when known (empty: the entry is its own group)."""

    name: str
    group: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """Why a company name matched the exclusion list: the `entry` of the list, and the
    name `found` in the company's name — the entry's own, or one known for its `group`."""

    entry: Entry
    found: str
    group: str | None = None

    @property
    def through_alias(self) -> bool:
        """True when the company matched through another name of the entry's group."""
        return normalize_company_name(self.found) != normalize_company_name(self.entry.name)


def _group_of(entry: Entry, groups: Sequence[KnownGroup]) -> KnownGroup | None:
    """The known group an entry belongs to: the one it names (or one of its aliases), or
    the one its `group` names."""
    keys = {normalize_company_name(entry.name)}
    if entry.group.strip():
        keys.add(normalize_company_name(entry.group))
    for group in groups:
        if keys & {normalize_company_name(n) for n in group.names}:
            return group
    return None


def known_names(entry: Entry, groups: Sequence[KnownGroup] | None = None) -> tuple[str, ...]:
    """The names a company may carry to match `entry`: its own first, then every name of
    its known group (duplicates after normalisation removed)."""
    group = _group_of(entry, known_groups() if groups is None else groups)
    names = [entry.name, *(group.names if group else ())]
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        key = normalize_company_name(name)
        if key and key not in seen:
            seen.add(key)
            result.append(name)
    return tuple(result)


def find_match(
    company_name: str,
    entries: Iterable[Entry | str],
    groups: Sequence[KnownGroup] | None = None,
) -> Match | None:
    """The entry of the list `company_name` matches, or None.

    When several match, an entry found by its own name wins over one found through an
    alias, then the longest name found (the most specific: "Google France" over "Google").
    """
    groups = known_groups() if groups is None else groups
    company = normalize_company_name(company_name)
    if not company:
        return None
    best: tuple[tuple[bool, int], Match] | None = None
    for item in entries:
        entry = Entry(item) if isinstance(item, str) else item
        group = _group_of(entry, groups)
        for name in known_names(entry, groups):
            normalized = normalize_company_name(name)
            if not _contains_words(company, normalized):
                continue
            direct = normalized == normalize_company_name(entry.name)
            rank = (direct, len(normalized))
            if best is None or rank > best[0]:
                group_name = group.name if group else (entry.group.strip() or None)
                best = (rank, Match(entry, name, group_name))
    return None if best is None else best[1]


def excluded_match(company_name: str, excluded_names: Iterable[Entry | str]) -> str | None:
    """The name of the entry `company_name` matches, as given, or None (see
    :func:`find_match`)."""
    match = find_match(company_name, excluded_names)
    return None if match is None else match.entry.name
