"""Budget pages: the teacher's account, the academy's budget and allocations, national funding.

Each page that writes parses its form, calls one service, commits once, then redirects
with a message. A refusal of the service (`REFUSED`) is shown on the same form, with
what the person typed, and status 422.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.accounts import services as accounts
from app.accounts.models import Role
from app.budgets import services
from app.budgets.forms import AllocateOneForm, AllocationFileForm, FundingForm, RuleForm
from app.budgets.models import Academy
from app.core import dates
from app.core.auth import role_required
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.templating import format_cents
from app.extensions import db
from app.ledger.services import InsufficientFunds, YearClosed

blueprint = Blueprint("budgets", __name__, template_folder="templates")

MANAGER = Role.ACADEMY_MANAGER
# Refusals shown on the form that caused them; any other error goes to the error pages.
REFUSED = (ValidationFailed, InsufficientFunds, YearClosed, Conflict)
TEACHERS_PER_PAGE = 50


def _school_year() -> str:
    """The school year of the page: `?annee=2026-2027`, else the current one."""
    asked = request.args.get("annee", "")
    match = re.fullmatch(r"(\d{4})-(\d{4})", asked)
    if match and int(match[2]) == int(match[1]) + 1:
        return asked
    return services.school_year_code(dates.today())


def _year_args(year: str) -> dict[str, Any]:
    """The query arguments that keep a school year other than the current one in links."""
    return {} if year == services.school_year_code(dates.today()) else {"annee": year}


def _home(academy_code: str, year: str) -> ResponseReturnValue:
    return redirect(url_for("budgets.academy_home", academy_code=academy_code, **_year_args(year)))


def _page(academy: Academy, year: str, **context: object) -> dict[str, object]:
    """The context of an academy manager page: the academy, the school year, its link args."""
    return {"academy": academy, "school_year": year, "year_args": _year_args(year), **context}


def _refused(template: str, error: DomainError, **context: object) -> ResponseReturnValue:
    """The form page again, with what was typed and why the service refused it."""
    db.session.rollback()  # whatever the refused operation flushed is not kept
    return render_template(template, error=error, **context), 422


# --- teacher -------------------------------------------------------------------------------


@blueprint.get("/mon-compte")
@role_required(Role.TEACHER)
def my_account() -> ResponseReturnValue:
    year = _school_year()
    return render_template(
        "budgets/my_account.html",
        school_year=year,
        schools=current_user.scopes(Role.TEACHER),
        balance=services.teacher_balance(current_user.id, year),
        movements=services.teacher_movements(current_user.id, year),
    )


# --- academy manager -------------------------------------------------------------------------


@blueprint.get("/academies/<academy_code>")
@role_required(MANAGER, scope="academy_code")
def academy_home(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    counts = next(row for row in services.academy_summaries() if row[0].code == academy.code)
    page = _page(
        academy,
        year,
        schools=counts[1],
        teachers=counts[2],
        summary=services.budget_summary(academy.code, year),
        allocations=services.allocation_history(academy.code, year)[:10],
    )
    return render_template("budgets/academy_home.html", **page)


@blueprint.get("/academies/<academy_code>/repartitions")
@role_required(MANAGER, scope="academy_code")
def allocations(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    history = services.allocation_history(academy.code, year)
    return render_template("budgets/allocations.html", **_page(academy, year, allocations=history))


@blueprint.route("/academies/<academy_code>/repartitions/enseignant", methods=["GET", "POST"])
@role_required(MANAGER, scope="academy_code")
def allocate_one(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    form = AllocateOneForm(services.academy_schools(academy.code))
    page = _page(academy, year, form=form)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("budgets/allocate_one.html", **page), status
    email = form.email.data.strip().lower()
    try:
        allocation = services.allocate_one(
            current_user,
            academy.code,
            year,
            email,
            form.uai.data,
            form.amount.data,
            form.token.data,
        )
    except REFUSED as error:
        return _refused("budgets/allocate_one.html", error, **page)
    db.session.commit()
    total = format_cents(allocation.total_cents)
    if accounts.account_waiting_for(email) is not None:
        message = _(
            "%(amount)s attribués à %(email)s. Cette personne n'a pas encore de compte actif : "
            "un lien d'activation lui est envoyé par courriel.",
            amount=total,
            email=email,
        )
    else:
        message = _("%(amount)s attribués à %(email)s.", amount=total, email=email)
    flash(message, "success")
    return _home(academy.code, year)


@blueprint.route("/academies/<academy_code>/repartitions/fichier", methods=["GET", "POST"])
@role_required(MANAGER, scope="academy_code")
def allocate_file(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    form = AllocationFileForm()
    page = _page(academy, year, form=form)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("budgets/allocate_file.html", **page), status
    try:
        preview = services.preview_file(current_user, academy.code, year, form.fichier.data.read())
    except REFUSED as error:
        return _refused("budgets/allocate_file.html", error, **page)
    db.session.commit()  # the allocation to confirm, when the file is valid
    status = 200 if preview.valid else 422
    return render_template(
        "budgets/file_preview.html", **_page(academy, year, preview=preview)
    ), status


@blueprint.route("/academies/<academy_code>/repartitions/regle", methods=["GET", "POST"])
@role_required(MANAGER, scope="academy_code")
def allocate_rule(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    form = RuleForm(services.academy_schools(academy.code))
    page = _page(academy, year, form=form)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("budgets/allocate_rule.html", **page), status
    rule = services.Rule(form.cents, tuple(form.schools.data), tuple(form.school_kinds.data))
    try:
        preview = services.preview_rule(
            current_user, academy.code, year, rule, "rule:" + form.token.data
        )
    except REFUSED as error:
        return _refused("budgets/allocate_rule.html", error, **page)
    db.session.commit()  # the allocation to confirm
    return render_template("budgets/rule_preview.html", **_page(academy, year, preview=preview))


@blueprint.post("/academies/<academy_code>/repartitions/<int:allocation_id>/confirmer")
@role_required(MANAGER, scope="academy_code")
def confirm_allocation(academy_code: str, allocation_id: int) -> ResponseReturnValue:
    allocation = services.get_allocation(academy_code, allocation_id)
    page = _page(allocation.academy, allocation.school_year_code, allocation=allocation)
    try:
        for _progress in services.apply_allocation(current_user, allocation):
            pass
    except REFUSED as error:
        return _refused("budgets/confirm_refused.html", error, **page)
    db.session.commit()
    message = ngettext(
        "Répartition n°%(id)s appliquée : %(num)s enseignant crédité, total %(total)s.",
        "Répartition n°%(id)s appliquée : %(num)s enseignants crédités, total %(total)s.",
        allocation.teacher_count,
        id=allocation.id,
        total=format_cents(allocation.total_cents),
    )
    flash(message, "success")
    return _home(academy_code, allocation.school_year_code)


@blueprint.get("/academies/<academy_code>/enseignants")
@role_required(MANAGER, scope="academy_code")
def teachers(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    search = request.args.get("q", "").strip()[:100]
    number = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = services.teacher_balances(academy.code, year, search, number, TEACHERS_PER_PAGE)
    page = _page(
        academy,
        year,
        search=search,
        rows=rows,
        total=total,
        page=number,
        pages=max(math.ceil(total / TEACHERS_PER_PAGE), 1),
        page_args={**_year_args(year), **({"q": search} if search else {})},
    )
    return render_template("budgets/teachers.html", **page)


# --- national operator -----------------------------------------------------------------------


def _national_page(
    form: FundingForm, year: str, status: int = 200, **context: object
) -> ResponseReturnValue:
    counts = {academy.code: (s, t) for academy, s, t in services.academy_summaries()}
    rows = [(*row, *counts[row[0].code]) for row in services.funding_overview(year)]
    page = render_template(
        "budgets/national.html",
        form=form,
        school_year=year,
        year_args=_year_args(year),
        rows=rows,
        **context,
    )
    return page, status


@blueprint.get("/admin/academies")
@role_required(Role.ADMIN)
def national() -> ResponseReturnValue:
    return _national_page(FundingForm(), _school_year())


@blueprint.post("/admin/dotations")
@role_required(Role.ADMIN)
def fund() -> ResponseReturnValue:
    year, form = _school_year(), FundingForm()
    if not form.validate_on_submit():
        return _national_page(form, year, 422)
    code, key = form.academy_code.data, "fund:" + form.token.data
    try:
        entry = services.fund_academy(current_user, code, year, form.cents, key)
    except REFUSED as error:
        db.session.rollback()
        return _national_page(form, year, 422, error=error)
    db.session.commit()
    if entry.replayed:
        flash(_("Cette dotation avait déjà été enregistrée : rien n’a changé."), "info")
    else:
        academy, amount = str(services.get_academy(code)), format_cents(form.cents)
        flash(
            _("Dotation enregistrée : %(academy)s, %(amount)s.", academy=academy, amount=amount),
            "success",
        )
    return redirect(url_for("budgets.national", **_year_args(year)))
