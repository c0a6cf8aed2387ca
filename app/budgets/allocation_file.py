"""Reading an allocation file: `email;amount_eur;uai`, one teacher per line.

Accepted: `;` or `,` separated, UTF-8 with or without BOM, an optional header line,
French decimal comma (`12,50`; with `,` as separator, quote it: `"12,50"`).
This module only reads and checks the file's own content; whether schools exist and
belong to the academy is checked by `services.preview_file` against the database.
Every problem is reported with its line number; nothing is written from a file with
a single error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from app.core.money import InvalidAmount, parse_euros
from catalog.identifiers import is_valid_uai, normalize_uai

HEADER = ("email", "amount_eur", "uai")
MAX_BYTES = 10 * 1024 * 1024
MAX_LINES = 200_000


@dataclass
class FileLine:
    number: int  # line number in the file, header included, from 1
    email: str
    cents: int
    uai: str
    errors: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    lines: list[FileLine]
    errors: list[str] = field(default_factory=list)  # about the whole file

    @property
    def valid(self) -> bool:
        return not self.errors and not any(line.errors for line in self.lines)

    @property
    def total_cents(self) -> int:
        return sum(line.cents for line in self.lines)

    def error_count(self) -> int:
        return len(self.errors) + sum(len(line.errors) for line in self.lines)


def parse(data: bytes) -> ParsedFile:
    if len(data) > MAX_BYTES:
        return ParsedFile([], [f"Le fichier dépasse {MAX_BYTES // (1024 * 1024)} Mo."])
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return ParsedFile([], [f"Le fichier n'est pas encodé en UTF-8 (octet {error.start + 1})."])
    first = next((line for line in content.splitlines() if line.strip()), "")
    delimiter = ";" if ";" in first else ","
    rows = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    lines: list[FileLine] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if not lines and tuple(cell.lower() for cell in cells) == HEADER:
            continue
        if len(lines) >= MAX_LINES:
            return ParsedFile(lines, [f"Le fichier dépasse {MAX_LINES} lignes."])
        lines.append(_parse_line(number, cells, seen))
    if not lines:
        return ParsedFile([], ["Le fichier ne contient aucune ligne à répartir."])
    return ParsedFile(lines)


def _parse_line(number: int, cells: list[str], seen: dict[str, int]) -> FileLine:
    if len(cells) != len(HEADER):
        found = len(cells)
        found_word = "trouvée" if found < 2 else "trouvées"
        return FileLine(
            number, "", 0, "", [f"3 colonnes attendues (email;montant;uai), {found} {found_word}"]
        )
    raw_email, raw_amount, raw_uai = cells
    line = FileLine(number, raw_email.lower(), 0, normalize_uai(raw_uai))
    try:
        line.email = validate_email(raw_email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        line.errors.append(f"adresse électronique invalide : « {raw_email} »")
    try:
        line.cents = parse_euros(raw_amount)
        if line.cents <= 0:
            line.errors.append("le montant doit être strictement positif")
    except InvalidAmount as error:
        line.errors.append(f"montant invalide : {error}")
    if not is_valid_uai(line.uai):
        line.errors.append(f"UAI invalide : « {raw_uai} »")
    if line.email in seen:
        line.errors.append(f"doublon : cet enseignant figure déjà ligne {seen[line.email]}")
    elif line.email:
        seen[line.email] = number
    return line
