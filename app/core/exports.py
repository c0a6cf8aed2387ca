"""CSV files that open right in a French spreadsheet: UTF-8 with a BOM, `;` between
cells, and no cell a spreadsheet would take for a formula (a product title such as
"=HYPERLINK(…)" is written as text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A cell's text; text that starts like a formula is prefixed with an apostrophe."""
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
