"""Vendor pages: registering a company, its space and team; the operator's vendor list,
suspensions and exclusion list."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role, User
from app.accounts.signin import sign_in
from app.core.auth import role_required
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import attach_errors
from app.extensions import db
from app.products import services as products
from app.vendors import services
from app.vendors.forms import (
    CompanyForm,
    ExclusionForm,
    InviteForm,
    RegistrationForm,
    SuspendForm,
)
from app.vendors.services import ExcludedVendor

blueprint = Blueprint("vendors", __name__, template_folder="templates")

REFUSED = (ValidationFailed, Conflict, ExcludedVendor)


@blueprint.route("/editeur/inscription", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """A company registers; someone without an account creates theirs at the same time."""
    signed_in = current_user.is_authenticated
    form: CompanyForm = CompanyForm() if signed_in else RegistrationForm()
    error = None
    if form.validate_on_submit():
        try:
            user = current_user if signed_in else _new_account(form)
            vendor = services.register_vendor(user, form.details())
            db.session.commit()
        except REFUSED as refused:
            db.session.rollback()
            error = refused
            error.details = attach_errors(form, refused.details)
        else:
            if not signed_in:
                sign_in(user, "registration")
                db.session.commit()
            flash(_("Votre entreprise est inscrite. Vous pouvez déposer vos produits."), "success")
            return redirect(url_for("vendors.space", vendor_id=vendor.id))
    status = 422 if error or form.errors else 200
    return render_template("vendors/register.html", form=form, error=error), status


def _new_account(form: CompanyForm) -> User:
    assert isinstance(form, RegistrationForm)  # noqa: S101 - anonymous visitors get this form
    return services.new_account(form.email.data or "", form.name.data or "", form.password.data)


@blueprint.get("/editeur")
@role_required(Role.VENDOR)
def home() -> ResponseReturnValue:
    vendors = current_user.scopes(Role.VENDOR)
    if len(vendors) == 1:
        return redirect(url_for("vendors.space", vendor_id=vendors[0].id))
    return render_template("vendors/home.html", vendors=vendors)


@blueprint.get("/editeur/<int:vendor_id>")
@role_required(Role.VENDOR, scope="vendor_id")
def space(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    return render_template(
        "vendors/space.html",
        vendor=vendor,
        products=products.vendor_products(vendor),
        members=services.members(vendor),
        invite_form=InviteForm(),
    )


@blueprint.post("/editeur/<int:vendor_id>/equipe")
@role_required(Role.VENDOR, scope="vendor_id")
def invite(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = services.invite_member(
                current_user, vendor, form.email.data or "", form.name.data or ""
            )
            db.session.commit()
        except REFUSED as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            if user.password_hash is None:
                message = _(
                    "%(email)s fait maintenant partie de l’équipe : un lien pour activer son "
                    "compte vient de lui être envoyé.",
                    email=user.email,
                )
            else:
                message = _("%(email)s fait maintenant partie de l’équipe.", email=user.email)
            flash(message, "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("vendors.space", vendor_id=vendor.id))


# --- the operator ---------------------------------------------------------------------------


@blueprint.get("/admin/editeurs")
@role_required(Role.ADMIN)
def admin_list() -> ResponseReturnValue:
    return render_template(
        "vendors/admin_list.html", vendors=services.all_vendors(), suspend_form=SuspendForm()
    )


@blueprint.post("/admin/editeurs/<int:vendor_id>/suspendre")
@role_required(Role.ADMIN)
def suspend(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    form = SuspendForm()
    if not form.validate_on_submit():
        flash(_("Indiquez le motif de la suspension."), "error")
        return redirect(url_for("vendors.admin_list"))
    services.suspend(current_user, vendor, form.reason.data or "")
    db.session.commit()
    flash(
        _("%(name)s est suspendu : ses produits ont quitté le catalogue.", name=vendor), "success"
    )
    return redirect(url_for("vendors.admin_list"))


@blueprint.post("/admin/editeurs/<int:vendor_id>/retablir")
@role_required(Role.ADMIN)
def reinstate(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    services.reinstate(current_user, vendor)
    db.session.commit()
    flash(_("%(name)s est rétabli.", name=vendor), "success")
    return redirect(url_for("vendors.admin_list"))


@blueprint.route("/admin/exclusions", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def exclusions() -> ResponseReturnValue:
    form = ExclusionForm()
    if form.validate_on_submit():
        company = services.exclude_company(
            current_user, form.name.data or "", form.group_name.data or ""
        )
        db.session.commit()
        flash(_("%(name)s est sur la liste d’exclusion.", name=company.name), "success")
        return redirect(url_for("vendors.exclusions"))
    return render_template(
        "vendors/exclusions.html", form=form, companies=services.excluded_companies()
    )


@blueprint.post("/admin/exclusions/<int:company_id>/retirer")
@role_required(Role.ADMIN)
def remove_exclusion(company_id: int) -> ResponseReturnValue:
    services.remove_exclusion(current_user, company_id)
    db.session.commit()
    flash(_("L’entreprise a été retirée de la liste d’exclusion."), "success")
    return redirect(url_for("vendors.exclusions"))
