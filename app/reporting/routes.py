"""Dashboard pages: an academy's (its managers only) and the national one (admins);
exports and the monthly PDF report of an academy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    stream_with_context,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role
from app.budgets import services as budgets
from app.core import args, dates, exports
from app.core.auth import role_required
from app.core.db import utcnow
from app.core.errors import BadRequest, NotFound
from app.extensions import db
from app.reporting import forms, services
from app.reporting.models import NATIONAL
from app.reporting.services import Dashboard

blueprint = Blueprint("reporting", __name__, template_folder="templates")

MANAGER = Role.ACADEMY_MANAGER


def _today() -> date:
    return dates.today()


def _school_year() -> str:
    return args.school_year("annee") or budgets.school_year_code(_today())


def _dashboard(year: str, academy_code: str = NATIONAL) -> Dashboard:
    """The figures of the year: summed now when the year has none yet (a page never shows
    zeros that are not true); when they are old, shown as they are while a job rebuilds
    them (the page says so, with their date)."""
    dash = services.dashboard(year, academy_code)
    if dash.refreshed_at is None:
        services.refresh(year)
        try:
            db.session.commit()
        except IntegrityError:  # another request summed the year meanwhile: as good
            db.session.rollback()
        return services.dashboard(year, academy_code, primary=True)
    max_age = timedelta(seconds=int(current_app.config["REPORTING_MAX_AGE_SECONDS"]))
    if utcnow() - dash.refreshed_at > max_age:
        services.refresh_soon(year)
        db.session.commit()
    return replace(dash, refreshing=services.refreshing(year))


@blueprint.get("/academies/<academy_code>/tableau-de-bord")
@role_required(MANAGER, scope="academy_code")
def academy_dashboard(academy_code: str) -> ResponseReturnValue:
    """The academy's figures: those of a period chosen with the form (a school year, a
    month, dates), its exports and monthly report, then the year's spending in tabs."""
    academy = budgets.get_academy(academy_code)
    form = forms.read_period(_today())
    period = form.period
    year = period.school_year if period else _school_year_or_current()
    month = period.month if period and period.month else _today().replace(day=1)
    page = render_template(
        "reporting/academy_dashboard.html",
        academy=academy,
        dash=_dashboard(year, academy.code),
        form=form,
        period=period,
        figures=services.period_figures(academy.code, period.since, period.until)
        if period
        else None,
        years=services.school_years(_today()),
        year_args={} if year == budgets.school_year_code(_today()) else {"annee": year},
        report_month=f"{month:%Y-%m}",
        report_label=format_date(month, "MMMM y"),
    )
    return page, 400 if form.errors else 200


def _school_year_or_current() -> str:
    """The year of a page whose period was refused: the one asked if it reads, else now."""
    try:
        return _school_year()
    except BadRequest:
        return budgets.school_year_code(_today())


@blueprint.get("/admin/tableau-de-bord")
@role_required(Role.ADMIN)
def national_dashboard() -> ResponseReturnValue:
    year = _school_year()
    return render_template(
        "reporting/national_dashboard.html",
        dash=_dashboard(year),
        academies=services.academies_side_by_side(year),
        catalogue=services.catalogue_figures(_today()),
        years=services.school_years(_today()),
        remaining_hint=budgets.REMAINING_HINT,
    )


EXPORTS = {"allocations", "achats", "remboursements"}


@blueprint.get("/academies/<academy_code>/exports/<kind>.csv")
@role_required(MANAGER, scope="academy_code")
def export(academy_code: str, kind: str) -> ResponseReturnValue:
    """CSV for a French spreadsheet: UTF-8 with BOM, `;`, decimal comma."""
    if kind not in EXPORTS:
        raise NotFound("Export inconnu.")
    academy = budgets.get_academy(academy_code)
    year = _school_year()
    since = args.day("du") or date(int(year[:4]), 9, 1)
    until = args.day("au") or date(int(year[-4:]), 8, 31)
    if kind == "allocations":
        rows = services.allocation_rows(academy.code, since, until)
    else:
        rows = services.purchase_rows(academy.code, since, until, refunds=kind == "remboursements")

    filename = f"{kind}-{academy.code}-{since}-{until}.csv"
    return Response(
        stream_with_context(exports.lines(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@blueprint.get("/academies/<academy_code>/rapport.pdf")
@role_required(MANAGER, scope="academy_code")
def monthly_report(academy_code: str) -> ResponseReturnValue:
    """The month's report (`?mois=2026-11`, the current month by default)."""
    from app.documents import services as documents

    academy = budgets.get_academy(academy_code)
    month = args.month("mois") or _today().replace(day=1)
    year = budgets.school_year_code(month)
    pdf = documents.render_pdf(
        "documents/monthly_report.html",
        academy=academy,
        dash=_dashboard(year, academy.code),
        month=services.month_figures(academy.code, month),
        month_label=format_date(month, "MMMM y"),
        remaining_hint=budgets.REMAINING_HINT,
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename=rapport-{academy.code}-{month:%Y-%m}.pdf"
        },
    )
