"""CSV files that open right in a French spreadsheet: UTF-8 with a BOM, `;` between
cells, and no cell a spreadsheet would take for a formula (a product title such as
"=HYPERLINK(…)" is written as text), and identifiers kept whole: a SIRET, an IBAN or a
UAI wrapped in `identifier()` is written `="…"`, which Excel and LibreOffice read as
text, so a SIRET does not become 1,23457E+13 and a leading zero is not lost."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


_IDENTIFIER = re.compile(r"[0-9A-Za-z ]*")


@dataclass(frozen=True)
class Identifier:
    """A code made of digits and letters that a spreadsheet must keep as text."""

    value: str


def identifier(value: str | None) -> Identifier | str:
    """`value` as a cell a spreadsheet keeps whole (empty stays empty)."""
    if not value:
        return ""
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"not an identifier: {value!r}")
    return Identifier(value)


def cell(value: object) -> str:
    """A cell's text; text that starts like a formula is prefixed with an apostrophe."""
    if isinstance(value, Identifier):
        return f'="{value.value}"'
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The file, line by line (the BOM first), for streaming or joining."""
    yield BOM
    for row in rows:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";").writerow([cell(value) for value in row])
        yield buffer.getvalue()


def text(rows: Iterable[Iterable[object]]) -> str:
    return "".join(lines(rows))
