"""Reading the query string: one place that knows what a page number, an id, a day, a
month and a school year look like, and refuses the rest with a French 400 naming the
argument, before any of it reaches the database.

`init_app` also refuses, for every request, a NUL byte in the path, the query string,
a form field or a JSON body (PostgreSQL text cannot hold one): 400, the field named; the
vendors' API answers 422 instead, the status of all its refused data.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _

from app.core.dates import EARLIEST, LATEST
from app.core.errors import BadRequest, ValidationFailed, is_api_request

# What a page number can be: past it, the last page (a list never has a million pages).
MAX_PAGE = 1_000_000
# Identifiers are PostgreSQL `integer` columns.
MAX_ID = 2**31 - 1
SCHOOL_YEAR = re.compile(r"(\d{4})-(\d{4})", re.ASCII)


def refused(name: str, reason: str) -> BadRequest:
    return BadRequest(
        _("Paramètre « %(name)s » : %(reason)s", name=name, reason=reason),
        code="bad_argument",
        details={name: [reason]},
    )


def _asked(name: str) -> str:
    return request.args.get(name, "").strip()


def page(name: str = "page") -> int:
    """The page number asked, from 1: absent or not a number → 1, past `MAX_PAGE` → `MAX_PAGE`
    (the lists show their last page for a page past the end)."""
    asked = _asked(name)
    if not asked.isascii() or not asked.lstrip("-").isdigit():
        return 1
    return min(max(int(asked), 1), MAX_PAGE)


def identifier(name: str) -> int | None:
    """An id (`?produit=12`); absent or empty → None."""
    asked = _asked(name)
    if not asked:
        return None
    if not (asked.isascii() and asked.isdigit() and 1 <= int(asked) <= MAX_ID):
        raise refused(name, _("un identifiant (nombre entier positif) est attendu."))
    return int(asked)


def _checked_day(name: str, day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise refused(
            name,
            _(
                "la date doit être comprise entre le %(first)s et le %(last)s.",
                first=EARLIEST.strftime("%d/%m/%Y"),
                last=LATEST.strftime("%d/%m/%Y"),
            ),
        )
    return day


def day(name: str) -> date | None:
    """A day `AAAA-MM-JJ` (`?du=2026-10-01`); absent or empty → None."""
    asked = _asked(name)
    if not asked:
        return None
    try:
        parsed = date.fromisoformat(asked) if len(asked) == 10 and asked.isascii() else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise refused(name, _("une date au format AAAA-MM-JJ est attendue (ex. 2026-10-01)."))
    return _checked_day(name, parsed)


def month(name: str) -> date | None:
    """A month `AAAA-MM` (`?mois=2026-11`), as its first day; absent or empty → None."""
    asked = _asked(name)
    if not asked:
        return None
    try:
        parsed = date.fromisoformat(f"{asked}-01") if len(asked) == 7 and asked.isascii() else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise refused(name, _("un mois au format AAAA-MM est attendu (ex. 2026-11)."))
    return _checked_day(name, parsed)


def school_year(name: str = "annee") -> str | None:
    """A school year `2026-2027`; absent or empty → None."""
    asked = _asked(name)
    if not asked:
        return None
    match = SCHOOL_YEAR.fullmatch(asked)
    first = int(match[1]) if match else 0
    if not match or int(match[2]) != first + 1 or not EARLIEST.year <= first < LATEST.year:
        raise refused(name, _("une année scolaire comme 2026-2027 est attendue."))
    return asked


# --- NUL bytes ----------------------------------------------------------------------------


def _nul_in_json(value: Any, path: str) -> str | None:
    """The path of the first string (key or value) of a JSON document holding a NUL."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _nul_in_json(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in_json(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _field_with_nul() -> str | None:
    if "\x00" in request.path:
        return str(_("adresse de la page"))
    for fields in (request.args, request.form):
        for key, values in fields.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return str(key).replace("\x00", "\\0")
    if request.is_json:
        found = _nul_in_json(request.get_json(silent=True), "")
        return None if found is None else found or str(_("corps de la requête"))
    return None


def refuse_nul_bytes() -> None:
    field = _field_with_nul()
    if field is None:
        return
    reason = _("le caractère nul (\\0) n'est pas accepté.")
    if is_api_request():  # the API refuses invalid data as its schemas do: 422, field named
        raise ValidationFailed(
            _("Les données envoyées sont invalides : voir le détail par champ."),
            details={field: [reason]},
        )
    raise refused(field, reason)


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_bytes)
