"""The period of a dashboard, chosen with a GET form: a school year, a month or dates.

The form's fields are query arguments (``?periode=mois&mois=2026-11``), read with the
readers of :mod:`app.core.args`; what they refuse is shown on the field, in French, with
the field's name, and the page keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from flask import request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.budgets.services import school_year_code
from app.core import args
from app.core.errors import BadRequest
from app.reporting.services import month_bounds

YEAR, MONTH, DATES = "annee", "mois", "dates"
KINDS = (YEAR, MONTH, DATES)
T = TypeVar("T")
LABELS = {
    "periode": _l("Période"),
    YEAR: _l("Année scolaire"),
    MONTH: _l("Mois"),
    "du": _l("Date de début"),
    "au": _l("Date de fin"),
}


@dataclass(frozen=True)
class Period:
    kind: str  # YEAR, MONTH or DATES
    since: date
    until: date
    school_year: str  # the one the period lies in

    @property
    def month(self) -> date | None:
        return self.since if self.kind == MONTH else None

    @property
    def label(self) -> str:
        if self.kind == YEAR:
            return str(_("Année scolaire %(year)s", year=self.school_year))
        if self.kind == MONTH:
            return str(format_date(self.since, "MMMM y")).capitalize()
        return str(
            _(
                "Du %(since)s au %(until)s",
                since=format_date(self.since, "d MMMM y"),
                until=format_date(self.until, "d MMMM y"),
            )
        )


@dataclass
class PeriodForm:
    """What the form shows: the choice, what was typed, the errors by field."""

    kind: str
    typed: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    period: Period | None = None

    def label(self, name: str) -> str:
        return str(LABELS[name])

    def refuse(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, []).append(f"{self.label(name)} : {reason}")

    def read(self, name: str, reader: Callable[[str], T]) -> T | None:
        """The field read by an `args` reader; its refusal kept on the field."""
        try:
            return reader(name)
        except BadRequest as error:
            for reason in (error.details or {}).get(name, []):
                self.refuse(name, str(reason))
            return None


def read_period(today: date) -> PeriodForm:
    """The period asked (the current school year when nothing is)."""
    typed = {name: request.args.get(name, "").strip()[:20] for name in ("periode", *KINDS[:2])}
    typed |= {name: request.args.get(name, "").strip()[:20] for name in ("du", "au")}
    kind = typed["periode"] or YEAR
    form = PeriodForm(kind, typed)
    if kind not in KINDS:
        form.refuse("periode", _("choisissez l’année scolaire, un mois ou des dates."))
        return form
    if kind == YEAR:
        year = form.read(YEAR, args.school_year)
        code = year or school_year_code(today)
        if not form.errors:
            first = int(code[:4])
            form.period = Period(YEAR, date(first, 9, 1), date(first + 1, 8, 31), code)
    elif kind == MONTH:
        month = form.read(MONTH, args.month)
        if month is not None:
            since, until = month_bounds(month)
            form.period = Period(MONTH, since, until, school_year_code(since))
        elif not form.errors:
            form.refuse(MONTH, _("choisissez un mois."))
    else:
        form.period = _dates(form)
    return form


def _dates(form: PeriodForm) -> Period | None:
    since, until = form.read("du", args.day), form.read("au", args.day)
    for name, value in (("du", since), ("au", until)):
        if value is None and name not in form.errors:
            form.refuse(name, _("choisissez une date."))
    if since is None or until is None:
        return None
    if until < since:
        form.refuse("au", _("elle ne peut pas précéder la date de début."))
        return None
    if school_year_code(since) != school_year_code(until):
        form.refuse(
            "au",
            _(
                "la période doit tenir dans une année scolaire (du 1er septembre au 31 août) : "
                "choisissez une date de fin au plus tard le %(last)s.",
                last=date(int(school_year_code(since)[-4:]), 8, 31).strftime("%d/%m/%Y"),
            ),
        )
        return None
    return Period(DATES, since, until, school_year_code(since))
