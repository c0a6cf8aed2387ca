"""Pages of pooled purchases, for teachers: start one from a product page, the list of
their school's, the detail with « Participer » and « Retirer ma participation »."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.core.auth import role_required
from app.core.errors import DomainError
from app.core.forms import attach_errors, options
from app.extensions import db
from app.orders import services as orders
from app.pooled_purchases import services
from app.pooled_purchases.forms import JoinForm, StartForm
from app.products.models import PlanKind

blueprint = Blueprint("pooled_purchases", __name__, template_folder="templates")

TEACHER = Role.TEACHER


@blueprint.get("/achats-groupes")
@role_required(TEACHER)
def index() -> ResponseReturnValue:
    return render_template(
        "pooled_purchases/index.html", purchases=services.of_my_schools(current_user)
    )


def _detail_page(
    pooled_id: int, form: JoinForm, error: DomainError | None = None, status: int = 200
) -> ResponseReturnValue:
    pooled = services.visible(current_user, pooled_id)
    page = render_template(
        "pooled_purchases/detail.html",
        pooled=pooled,
        form=form,
        error=error,
        mine=services.my_share(pooled, current_user),
        credit=services.credit_for(current_user, pooled),
        today=services.today(),
    )
    return page, (error.status if error else status)


@blueprint.get("/achats-groupes/<int:pooled_id>")
@role_required(TEACHER)
def detail(pooled_id: int) -> ResponseReturnValue:
    return _detail_page(pooled_id, JoinForm(formdata=None))


@blueprint.post("/achats-groupes/<int:pooled_id>/participer")
@role_required(TEACHER)
def join(pooled_id: int) -> ResponseReturnValue:
    form = JoinForm()
    if not form.validate_on_submit():
        return _detail_page(pooled_id, form, status=422)
    try:
        share = services.join(current_user, pooled_id, form.cents)
    except DomainError as refused:
        db.session.rollback()
        attach_errors(form, refused.details)
        return _detail_page(pooled_id, form, refused)
    db.session.commit()
    if share is None:
        flash(
            _(
                "Cet achat groupé a été annulé (la ressource a changé) : "
                "les participations ont été rendues."
            ),
            "warning",
        )
    else:
        flash(_("Votre participation est enregistrée."), "success")
    return redirect(url_for("pooled_purchases.detail", pooled_id=pooled_id))


@blueprint.post("/achats-groupes/<int:pooled_id>/retirer")
@role_required(TEACHER)
def withdraw(pooled_id: int) -> ResponseReturnValue:
    try:
        services.withdraw(current_user, pooled_id)
    except DomainError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("pooled_purchases.detail", pooled_id=pooled_id))
    db.session.commit()
    flash(_("Votre participation vous a été rendue."), "success")
    return redirect(url_for("pooled_purchases.detail", pooled_id=pooled_id))


def _start_form(form: StartForm) -> StartForm:
    schools = services.teacher_schools(current_user)
    form.school.choices = options((s.id, f"{s.name} — {s.city} ({s.uai})") for s in schools)
    return form


def _start_page(
    product_id: int, form: StartForm, error: DomainError | None = None, status: int = 200
) -> ResponseReturnValue:
    found = orders.offer(product_id, PlanKind.SCHOOL)
    day = services.today()
    page = render_template(
        "pooled_purchases/start.html",
        found=found,
        product_id=product_id,
        form=form,
        error=error,
        latest=services.latest_deadline(day),
        today=day,
    )
    return page, (error.status if error else status if found else 404)


@blueprint.get("/achats-groupes/lancer/<int:product_id>")
@role_required(TEACHER)
def start_page(product_id: int) -> ResponseReturnValue:
    form = _start_form(StartForm(formdata=None))
    form.deadline.data = services.latest_deadline(services.today())
    return _start_page(product_id, form)


@blueprint.post("/achats-groupes/lancer/<int:product_id>")
@role_required(TEACHER)
def start(product_id: int) -> ResponseReturnValue:
    form = _start_form(StartForm())
    if not form.validate_on_submit():
        return _start_page(product_id, form, status=422)
    try:
        pooled = services.start(
            current_user,
            product_id,
            deadline=form.deadline.data,
            share_cents=form.cents,
            school_id=form.school.data,
        )
    except DomainError as refused:
        db.session.rollback()
        attach_errors(form, refused.details)
        return _start_page(product_id, form, refused)
    db.session.commit()
    flash(_("Votre achat groupé est lancé : vos collègues en sont informés."), "success")
    return redirect(url_for("pooled_purchases.detail", pooled_id=pooled.id))
