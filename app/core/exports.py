"""CSV files that open right in a French spreadsheet and read right in any other tool.

The format is the one French administrations publish (data.gouv.fr and OpenDataFrance
guides, INSEE's SIRENE files): plain RFC 4180 CSV in UTF-8, with a BOM so that Excel
reads the accents, `;` between cells and a decimal comma as French spreadsheets expect,
one header line of French words, values in words (a status is "Annulée", never
`cancelled`). No cell a spreadsheet would take for a formula: text that starts like one
("=HYPERLINK(…)") is prefixed with an apostrophe.

Identifiers (SIRET, SIREN, IBAN, BIC, UAI, order and payout numbers, codes) wrapped in
`identifier()` are written as they are, always between double quotes, and every other
cell is quoted only when it must be. Why:
- the value in the file is the identifier itself, so a script, a database import or a
  bank tool reads `90412345200016`, not a spreadsheet formula;
- quotes are the mark that spreadsheets honour on import: LibreOffice Calc's "Champs
  entre guillemets comme texte" (import option 7 of its CSV filter) keeps every quoted
  cell as text, so a SIRET stays `90412345200016` and a leading zero stays, while the
  unquoted amounts stay numbers (checked with LibreOffice 7.4: quoted SIRET → text,
  unquoted `12,50` → 12.5); in Excel, "Données > À partir d'un fichier texte/CSV" lets the
  column be typed as text, and Excel 365 can keep leading zeros and long numbers
  (Options > Données > Conversion automatique des données).
Rejected: `="…"` (the previous choice) is a formula: LibreOffice and Excel show the text,
but every other reader gets `="90412345200016"`, which breaks the bank-transfer and
accounting imports; a leading apostrophe stays in the value in every tool; an .xlsx is a
second format to keep. Letters already keep UAI, IBAN and BIC as text everywhere; the
digits-only identifiers (SIRET, SIREN, numeric codes) rely on the import option above
when the file is opened by a double click.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = re.compile(r'[;"\r\n]')
_IDENTIFIER = re.compile(r"[0-9A-Za-z][0-9A-Za-z -]*")


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
    """A cell as written in the file: an identifier quoted, other text quoted only when it
    holds `;`, a quote or a line break, and prefixed with an apostrophe when it starts
    like a formula."""
    if isinstance(value, Identifier):
        return f'"{value.value}"'
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The file, line by line (the BOM first), for streaming or joining."""
    yield BOM
    for row in rows:
        yield ";".join(cell(value) for value in row) + "\r\n"


def text(rows: Iterable[Iterable[object]]) -> str:
    return "".join(lines(rows))
