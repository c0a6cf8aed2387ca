"""Reading an allocation file: `email;amount_eur;uai`, one teacher per line.

Accepted: `;` or `,` separated, UTF-8 with or without BOM, an optional header line in
French or English (`courriel;montant;uai`, `Email,Montant,UAI`, `e-mail;amount_eur;
établissement`…, any case and accents; its columns may then come in any order), French
decimal comma (`12,50`; with `,` as separator, quote it: `"12,50"`).
This module only reads and checks the file's own content; whether schools exist and
belong to the academy is checked by `services.preview_file` against the database.
Every problem is reported with its line number; nothing is written from a file with
a single error.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from app.core.limits import too_many_lines
from app.core.money import InvalidAmount, parse_euros
from catalog.identifiers import is_valid_uai, normalize_uai

HEADER = ("email", "amount_eur", "uai")
MAX_LINES = 200_000  # lines of one upload (the size of a request body is capped too)

# The names a header cell may carry for each column, once normalised (`_header_word`):
# lower case, no accents, every run of other characters than letters and digits a space.
HEADER_NAMES = {
    "email": {
        "email",
        "e mail",
        "mail",
        "courriel",
        "adresse",
        "adresse email",
        "adresse e mail",
        "adresse mail",
        "adresse electronique",
        "adresse courriel",
    },
    "amount_eur": {
        "montant",
        "montant eur",
        "montant euro",
        "montant euros",
        "montant en euros",
        "amount",
        "amount eur",
    },
    "uai": {"uai", "code uai", "etablissement", "uai etablissement", "uai de l etablissement"},
}
# The header of the template file offered for download.
TEMPLATE_HEADER = ("courriel", "montant", "uai")


@dataclass(slots=True)
class FileLine:
    number: int  # line number in the file, header included, from 1
    email: str
    cents: int
    uai: str
    errors: list[str] = field(default_factory=list)
    # The same reasons, by the column they are about ("email", "amount", "uai").
    field_errors: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, column: str, message: str) -> None:
        self.errors.append(message)
        self.field_errors.setdefault(column, []).append(message)


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


def parse(text: Iterable[str]) -> ParsedFile:
    """Read a file given as its lines of text (an upload's stream, `upload_lines`, or a
    stored source), one row at a time: at most MAX_LINES lines are kept, the others are
    only counted, for the message."""
    lines: list[FileLine] = []
    count = 0  # lines to allocate, counted even past the limit
    number = 0
    try:
        text = iter(text)
        blank = []
        first = ""
        for first in text:  # the first line that is not blank tells the separator
            if first.strip():
                break
            blank.append(first)
        delimiter = ";" if ";" in first else ","
        rows = csv.reader(itertools.chain(blank, [first], text), delimiter=delimiter)
        seen: dict[str, int] = {}
        order = (0, 1, 2)  # where the email, the amount and the UAI are in each row
        first_row = True
        for number, row in enumerate(rows, start=1):
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if first_row:
                first_row = False
                header = _header(cells)
                if header is not None:
                    order = header
                    continue
                if _looks_like_header(cells):
                    names = ", ".join(f"« {cell} »" for cell in cells)
                    return ParsedFile(
                        [],
                        [
                            f"Ligne {number} : en-tête non reconnu ({names}). En-têtes "
                            "acceptés : courriel (ou email), montant (ou montant_eur, "
                            "amount_eur) et uai (ou établissement)."
                        ],
                    )
            count += 1
            if count > MAX_LINES:
                continue
            if len(cells) == len(HEADER):
                cells = [cells[index] for index in order]
            lines.append(_parse_line(number, cells, seen))
    except UnicodeDecodeError:
        return ParsedFile([], [f"Ligne {number + 1} : le fichier n'est pas encodé en UTF-8."])
    except csv.Error as error:
        return ParsedFile(
            [], [f"Ligne {number + 1} : le fichier n'est pas un CSV lisible ({error})."]
        )
    if count > MAX_LINES:
        return ParsedFile([], [too_many_lines(count, MAX_LINES)])
    if not lines:
        return ParsedFile([], ["Le fichier ne contient aucune ligne à répartir."])
    return ParsedFile(lines)


def _header_word(cell: str) -> str:
    """ "\ufeffÉtablissement " → "etablissement", "Montant_EUR" → "montant eur"."""
    plain = unicodedata.normalize("NFKD", cell).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def _header(cells: list[str]) -> tuple[int, int, int] | None:
    """The positions of the email, amount and UAI columns when `cells` is a header line."""
    if len(cells) != len(HEADER):
        return None
    words = [_header_word(cell) for cell in cells]
    positions: list[int] = []
    for column in HEADER:
        found = [i for i, word in enumerate(words) if word in HEADER_NAMES[column]]
        if len(found) != 1:
            return None
        positions.append(found[0])
    if len(set(positions)) != len(HEADER):
        return None
    return positions[0], positions[1], positions[2]


def _looks_like_header(cells: list[str]) -> bool:
    """A first line of words only: no address, no amount, no UAI — a header we do not know."""
    for cell in cells:
        if "@" in cell or is_valid_uai(normalize_uai(cell)):
            return False
        try:
            parse_euros(cell)
        except InvalidAmount:
            continue
        return False
    return any(any(ch.isalpha() for ch in cell) for cell in cells)


def _parse_line(number: int, cells: list[str], seen: dict[str, int]) -> FileLine:
    if len(cells) != len(HEADER):
        found = len(cells)
        line = FileLine(number, "", 0, "")
        found_word = "trouvée" if found < 2 else "trouvées"
        line.refuse(
            "line", f"Trois colonnes attendues (courriel;montant;uai), {found} {found_word}."
        )
        return line
    raw_email, raw_amount, raw_uai = cells
    line = FileLine(number, raw_email.lower(), 0, normalize_uai(raw_uai))
    try:
        line.email = _email(raw_email)
    except EmailNotValidError:
        line.refuse("email", f"Adresse électronique invalide : « {raw_email} ».")
    try:
        line.cents = parse_euros(raw_amount)
        if line.cents <= 0:
            line.refuse("amount", "Le montant doit être strictement positif.")
    except InvalidAmount as error:
        line.refuse("amount", f"Montant invalide : {error}.")
    if not is_valid_uai(line.uai):
        line.refuse("uai", f"UAI invalide : « {raw_uai} ».")
    if line.email in seen:
        line.refuse("email", f"Doublon : cet enseignant figure déjà ligne {seen[line.email]}.")
    elif line.email:
        seen[line.email] = number
    return line


# A plain address: ASCII, its local part a dot-atom. Nearly every line holds one; it is
# checked by this pattern and its domain once per domain, rather than by the whole of
# email_validator on every line (60 s for 200,000 lines on a busy machine).
PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9.-]+)"
)


def _email(raw: str) -> str:
    """The address in lower case; EmailNotValidError (with its reason) if it is not one."""
    plain = PLAIN_EMAIL.fullmatch(raw)
    if plain and len(plain[1]) <= 64 and len(raw) <= 254 and _valid_domain(plain[2].lower()):
        return raw.lower()
    return validate_email(raw, check_deliverability=False).normalized.lower()


@lru_cache(maxsize=1024)
def _valid_domain(domain: str) -> bool:
    try:
        validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def template(email: str, uai: str) -> bytes:
    """The template file offered for download: UTF-8 with a BOM (spreadsheets then read the
    accents right), `;`-separated, the header and one example line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow((email, "300,00", uai))
    return buffer.getvalue().encode("utf-8-sig")
