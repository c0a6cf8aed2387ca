"""Budget pages: the teacher's account, the academy's budget and allocations, national funding.

Each page that writes parses its form, calls one service, commits once, then redirects
with a message. A refusal of the service (`REFUSED`) is shown on the same form, with
what the person typed, and status 422.
"""

from __future__ import annotations

import math
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.accounts import services as accounts
from app.accounts.models import Role
from app.budgets import services
from app.budgets.forms import (
    AllocateOneForm,
    AllocationFileForm,
    FundingForm,
    FundingReversalForm,
    PoolThresholdForm,
    RuleForm,
)
from app.budgets.models import Academy, Allocation
from app.core import args, dates
from app.core.auth import role_required
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.forms import attach_errors
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
    return args.school_year("annee") or services.school_year_code(dates.today())


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
        expiry=services.credit_expiry(year, dates.today()),
    )


# --- academy manager -------------------------------------------------------------------------


@blueprint.get("/academies/<academy_code>")
@role_required(MANAGER, scope="academy_code")
def academy_home(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    threshold = services.pool_threshold(academy.code, year)
    form = PoolThresholdForm(threshold=_euros_input(threshold.threshold_cents) if threshold else "")
    return _academy_home_page(academy, year, form)


def _euros_input(cents: int) -> str:
    """An amount as typed in a field: "5000", "12,50"."""
    euros, rest = divmod(cents, 100)
    return f"{euros},{rest:02d}" if rest else str(euros)


def _academy_home_page(
    academy: Academy, year: str, form: PoolThresholdForm, status: int = 200, **context: object
) -> ResponseReturnValue:
    counts = next(row for row in services.academy_summaries() if row[0].code == academy.code)
    page = _page(
        academy,
        year,
        schools=counts[1],
        teachers=counts[2],
        summary=services.budget_summary(academy.code, year),
        allocations=services.allocation_history(academy.code, year)[:10],
        threshold=services.pool_threshold(academy.code, year),
        threshold_form=form,
        **context,
    )
    return render_template("budgets/academy_home.html", **page), status


@blueprint.post("/academies/<academy_code>/seuil-alerte")
@role_required(MANAGER, scope="academy_code")
def pool_threshold(academy_code: str) -> ResponseReturnValue:
    """The amount under which the academy's managers are told the pool runs low."""
    academy, year, form = services.get_academy(academy_code), _school_year(), PoolThresholdForm()
    if not form.validate_on_submit():
        return _academy_home_page(academy, year, form, 422)
    try:
        threshold = services.set_pool_threshold(
            current_user, academy.code, year, form.threshold.data or ""
        )
    except REFUSED as error:
        db.session.rollback()
        error.details = attach_errors(form, error.details)
        return _academy_home_page(academy, year, form, 422, error=error)
    db.session.commit()
    if threshold is None:
        flash(_("Seuil d’alerte retiré : vous ne serez plus prévenu."), "info")
    else:
        amount = format_cents(threshold.threshold_cents)
        flash(
            _(
                "Seuil d’alerte enregistré : les gestionnaires de l’académie seront prévenus "
                "quand l’enveloppe %(year)s passera sous %(amount)s.",
                year=year,
                amount=amount,
            ),
            "success",
        )
    return _home(academy.code, year)


@blueprint.get("/academies/<academy_code>/repartitions")
@role_required(MANAGER, scope="academy_code")
def allocations(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    history = services.allocation_history(academy.code, year)
    return render_template("budgets/allocations.html", **_page(academy, year, allocations=history))


@blueprint.route("/academies/<academy_code>/repartitions/enseignant", methods=["GET", "POST"])
@role_required(MANAGER, scope="academy_code")
def allocate_one(academy_code: str) -> ResponseReturnValue:
    """The form, then the confirmation page: nothing moves before « Confirmer »."""
    academy, year = services.get_academy(academy_code), _school_year()
    typed = {name: request.args.get(name, "")[:254] for name in ("email", "uai", "amount")}
    form = AllocateOneForm(services.academy_schools(academy.code), **typed)
    page = _page(academy, year, form=form)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("budgets/allocate_one.html", **page), status
    try:
        preview = services.preview_one(
            current_user,
            academy.code,
            year,
            form.email.data,
            form.uai.data,
            form.amount.data,
            form.token.data,
        )
    except REFUSED as error:
        error.details = attach_errors(form, error.details)
        return _refused("budgets/allocate_one.html", error, **page)
    db.session.commit()  # the allocation to confirm
    if preview.allocation.applied_at is not None:
        flash(_("Cette répartition avait déjà été appliquée : rien n’a changé."), "info")
        return _home(academy.code, year)
    return render_template("budgets/one_preview.html", **_page(academy, year, preview=preview))


@blueprint.get("/academies/<academy_code>/repartitions/modele.csv")
@role_required(MANAGER, scope="academy_code")
def allocation_template(academy_code: str) -> ResponseReturnValue:
    """The CSV template of the file allocation: header and one example line."""
    content = services.allocation_template(services.get_academy(academy_code).code)
    return Response(
        content,
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="modele-repartition.csv"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


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
        preview = services.preview_file(current_user, academy.code, year, form.fichier.data.stream)
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
        applied = services.confirm(current_user, allocation)
    except REFUSED as error:
        return _refused("budgets/confirm_refused.html", error, **page)
    db.session.commit()
    if not applied:  # a large one: a worker applies it, its page follows it
        return redirect(
            url_for(
                "budgets.allocation_progress",
                academy_code=academy_code,
                allocation_id=allocation.id,
            )
        )
    flash(_applied_message(allocation), "success")
    return _home(academy_code, allocation.school_year_code)


@blueprint.get("/academies/<academy_code>/repartitions/<int:allocation_id>")
@role_required(MANAGER, scope="academy_code")
def allocation_progress(academy_code: str, allocation_id: int) -> ResponseReturnValue:
    """Where a large allocation stands: waiting for a worker, being applied, applied or
    refused. The page reloads itself until it is done."""
    allocation = services.get_allocation(academy_code, allocation_id)
    job = services.application_job(allocation)
    page = _page(allocation.academy, allocation.school_year_code, allocation=allocation, job=job)
    if allocation.applied_at is not None:
        page["applied_message"] = _applied_message(allocation)
    response = make_response(render_template("budgets/allocation_progress.html", **page))
    if allocation.applied_at is None and (job is None or job.status != "dead"):
        response.headers["Refresh"] = "5"  # the browser asks again until it is done
    return response


def _applied_message(allocation: Allocation) -> str:
    total = format_cents(allocation.total_cents)
    email = allocation.recipient_email
    if not email:
        return str(
            ngettext(
                "Répartition n°%(id)s appliquée : %(num)s enseignant crédité, total %(total)s.",
                "Répartition n°%(id)s appliquée : %(num)s enseignants crédités, total %(total)s.",
                allocation.teacher_count,
                id=allocation.id,
                total=total,
            )
        )
    if accounts.account_waiting_for(email) is not None:
        return str(
            _(
                "%(amount)s attribués à %(email)s. Cette personne n'a pas encore de compte actif : "
                "un lien d'activation lui est envoyé par courriel.",
                amount=total,
                email=email,
            )
        )
    return str(_("%(amount)s attribués à %(email)s.", amount=total, email=email))


@blueprint.get("/academies/<academy_code>/enseignants")
@role_required(MANAGER, scope="academy_code")
def teachers(academy_code: str) -> ResponseReturnValue:
    academy, year = services.get_academy(academy_code), _school_year()
    search = request.args.get("q", "").strip()[:100]
    number = args.page()
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
    rows = [(row, *counts[row.academy.code]) for row in services.funding_overview(year)]
    page = render_template(
        "budgets/national.html",
        form=form,
        school_year=year,
        year_args=_year_args(year),
        rows=rows,
        remaining_hint=services.REMAINING_HINT,
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
        entry = services.fund_academy(
            current_user, code, year, form.cents, key, form.reason.data or ""
        )
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


def _fundings_page(
    academy: Academy, year: str, form: FundingReversalForm, status: int = 200, **context: object
) -> ResponseReturnValue:
    page = render_template(
        "budgets/fundings.html",
        academy=academy,
        school_year=year,
        year_args=_year_args(year),
        fundings=services.funding_history(academy.code, year),
        pool_cents=services.pool_balance(academy.code, year),
        form=form,
        **context,
    )
    return page, status


@blueprint.get("/admin/academies/<academy_code>/dotations")
@role_required(Role.ADMIN)
def fundings(academy_code: str) -> ResponseReturnValue:
    """Every funding of the academy for the year: who, when, how much, why; and the way
    to cancel a mistaken one."""
    return _fundings_page(services.get_academy(academy_code), _school_year(), FundingReversalForm())


@blueprint.post("/admin/academies/<academy_code>/dotations/<int:entry_id>/annuler")
@role_required(Role.ADMIN)
def reverse_funding(academy_code: str, entry_id: int) -> ResponseReturnValue:
    academy, year, form = services.get_academy(academy_code), _school_year(), FundingReversalForm()
    if not form.validate_on_submit():
        return _fundings_page(academy, year, form, 422, failed_entry_id=entry_id)
    try:
        reversal = services.reverse_funding(current_user, academy.code, entry_id, form.reason.data)
    except REFUSED as error:
        db.session.rollback()
        error.details = attach_errors(form, error.details)
        return _fundings_page(academy, year, form, 422, error=error, failed_entry_id=entry_id)
    db.session.commit()
    if reversal.replayed:
        flash(_("Cette dotation avait déjà été annulée : rien n’a changé."), "info")
    else:
        flash(
            _(
                "Dotation n°%(id)s annulée : le montant a été repris de l’enveloppe de l’académie.",
                id=entry_id,
            ),
            "success",
        )
    return redirect(url_for("budgets.fundings", academy_code=academy.code, **_year_args(year)))
