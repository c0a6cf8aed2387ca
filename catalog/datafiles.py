"""Reading the JSON data files of ``catalog/data``, with errors that name the file and
the item. Shared by the vocabularies, the code of conduct and the demo catalogue."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources


class VocabularyError(ValueError):
    """A data file of ``catalog/data`` is missing, malformed or inconsistent."""


def read_json(filename: str) -> object:
    path = resources.files("catalog") / "data" / filename
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VocabularyError(f"{filename}: cannot be read ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise VocabularyError(f"{filename}: invalid JSON ({exc})") from exc


def object_list(filename: str, data: object) -> list[Mapping[str, object]]:
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise VocabularyError(f"{filename}: expected a JSON list of objects")
    if not data:
        raise VocabularyError(f"{filename}: the list is empty")
    return data


def load_objects(filename: str) -> list[Mapping[str, object]]:
    """The non-empty list of objects a data file holds."""
    return object_list(filename, read_json(filename))


def str_field(filename: str, index: int, item: Mapping[str, object], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise VocabularyError(f"{filename}: item {index}: {key!r} must be a non-empty string")
    return value


def list_field(filename: str, index: int, item: Mapping[str, object], key: str) -> list[object]:
    value = item.get(key)
    if not isinstance(value, list) or not value:
        raise VocabularyError(f"{filename}: item {index}: {key!r} must be a non-empty list")
    return value


def check_unique(filename: str, what: str, values: Iterable[str]) -> None:
    duplicates = sorted(value for value, count in Counter(values).items() if count > 1)
    if duplicates:
        raise VocabularyError(f"{filename}: duplicate {what}: {', '.join(duplicates)}")
