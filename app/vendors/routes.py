"""Vendor pages: registering a company, its space and team; the operator's vendor list,
suspensions and exclusion list."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.accounts.signin import sign_in
from app.core import dates
from app.core.auth import role_required
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.forms import attach_errors
from app.extensions import db, limiter
from app.orders import services as orders
from app.payouts import services as payouts
from app.products import services as products
from app.vendors import services
from app.vendors.forms import (
    CompanyRegistrationForm,
    DecisionForm,
    ExclusionForm,
    InvitationAnswerForm,
    InviteForm,
    RefusalForm,
    RegistrationForm,
    SuspendForm,
)
from app.vendors.services import ExcludedVendor
from app.vendors.terms import TERMS_PUBLISHED_ON, TERMS_VERSION

blueprint = Blueprint("vendors", __name__, template_folder="templates")

REFUSED = (ValidationFailed, Conflict, ExcludedVendor)


@blueprint.route("/editeur/inscription", methods=["GET", "POST"])
@limiter.limit(
    lambda: str(current_app.config["VENDOR_REGISTRATIONS_PER_ADDRESS"]), methods=["POST"]
)
def register() -> ResponseReturnValue:
    """A company registers; someone without an account creates theirs at the same time."""
    signed_in = current_user.is_authenticated
    form = CompanyRegistrationForm() if signed_in else RegistrationForm()
    error = None
    if form.validate_on_submit():
        try:
            user = current_user if signed_in else _new_account(form)
            accepts = bool(form.accept_terms.data)
            vendor = services.register_vendor(user, form.details(), accepts_terms=accepts)
            db.session.commit()
        except REFUSED as refused:
            db.session.rollback()
            error = refused
            error.details = attach_errors(form, refused.details)
        else:
            if not signed_in:
                sign_in(user, "registration")
                db.session.commit()
            flash(
                _(
                    "Votre entreprise est inscrite. L’opérateur va examiner l’inscription ; "
                    "vous pouvez déjà préparer vos produits. Confirmez votre adresse "
                    "électronique avec le lien que nous venons de vous envoyer."
                ),
                "success",
            )
            return redirect(url_for("vendors.space", vendor_id=vendor.id))
    status = 422 if error or form.errors else 200
    return render_template("vendors/register.html", form=form, error=error), status


@blueprint.get("/editeur/conditions-d-utilisation")
def terms() -> ResponseReturnValue:
    return render_template(
        "vendors/terms.html", version=TERMS_VERSION, published_on=TERMS_PUBLISHED_ON
    )


@blueprint.get("/editeur/confirmation/<token>")
def confirm_email(token: str) -> ResponseReturnValue:
    """The link of the mail sent at registration: the registering person's address is
    confirmed."""
    vendor = services.confirm_registrant_email(token)
    db.session.commit()
    flash(
        _("Votre adresse électronique est confirmée pour %(name)s.", name=vendor.legal_name),
        "success",
    )
    return redirect(url_for("vendors.home"))


def _new_account(form: CompanyRegistrationForm) -> User:
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
    )


@blueprint.get("/editeur/<int:vendor_id>/equipe")
@role_required(Role.VENDOR, scope="vendor_id")
def team(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    return render_template(
        "vendors/team.html",
        vendor=vendor,
        members=services.members(vendor),
        invitations=services.pending_invitations(vendor),
        invite_form=InviteForm(),
    )


@blueprint.post("/editeur/<int:vendor_id>/equipe")
@role_required(Role.VENDOR, scope="vendor_id")
def invite(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite_member(
                current_user, vendor, form.email.data or "", form.name.data or ""
            )
            db.session.commit()
        except REFUSED as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            flash(
                _(
                    "Invitation envoyée à %(email)s : cette personne rejoindra l’équipe si elle "
                    "l’accepte.",
                    email=invitation.email,
                ),
                "success",
            )
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("vendors.team", vendor_id=vendor.id))


@blueprint.get("/editeur/invitation/<token>")
def invitation(token: str) -> ResponseReturnValue:
    """The link of the invitation mail: who invites, to which vendor; accept or decline."""
    try:
        found = services.invitation_of_token(token)
    except DomainError as error:
        return render_template("accounts/link_invalid.html", message=error.message), 410
    return render_template(
        "vendors/invitation.html", invitation=found, token=token, form=InvitationAnswerForm()
    )


@blueprint.post("/editeur/invitation/<token>/accepter")
def accept_invitation(token: str) -> ResponseReturnValue:
    if not InvitationAnswerForm().validate_on_submit():
        return redirect(url_for("vendors.invitation", token=token))
    try:
        accepted, user = services.accept_invitation(token)
    except DomainError as error:
        db.session.rollback()
        return render_template("accounts/link_invalid.html", message=error.message), 410
    db.session.commit()
    name = accepted.vendor.legal_name
    flash(_("Vous faites maintenant partie de l’équipe de %(name)s.", name=name), "success")
    if user.password_hash is None:  # a new account: its password first
        return redirect(url_for("accounts.activate", token=accounts.activation_token(user)))
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("vendors.home"))
    return redirect(url_for("accounts.login"))


@blueprint.post("/editeur/invitation/<token>/refuser")
def decline_invitation(token: str) -> ResponseReturnValue:
    if not InvitationAnswerForm().validate_on_submit():
        return redirect(url_for("vendors.invitation", token=token))
    try:
        declined = services.decline_invitation(token)
    except DomainError as error:
        db.session.rollback()
        return render_template("accounts/link_invalid.html", message=error.message), 410
    db.session.commit()
    flash(
        _(
            "Invitation refusée : vous ne ferez pas partie de l’équipe de %(name)s.",
            name=declined.vendor.legal_name,
        ),
        "info",
    )
    return redirect(url_for("accounts.index"))


# --- the operator ---------------------------------------------------------------------------


@blueprint.get("/admin/editeurs")
@role_required(Role.ADMIN)
def admin_list() -> ResponseReturnValue:
    return render_template(
        "vendors/admin_list.html", vendors=services.all_vendors(), suspend_form=SuspendForm()
    )


@blueprint.get("/admin/editeurs/<int:vendor_id>")
@role_required(Role.ADMIN)
def admin_detail(vendor_id: int) -> ResponseReturnValue:
    """Everything the operator knows of one vendor, and what it can do about it."""
    vendor = services.get_vendor(vendor_id)
    return render_template(
        "vendors/admin_detail.html",
        vendor=vendor,
        history=services.status_history(vendor),
        members=services.members(vendor),
        invitations=services.pending_invitations(vendor),
        products=products.vendor_products(vendor),
        payout=payouts.payout_state(vendor.id),
        sales=orders.vendor_sales_totals(vendor.id),
        recent_lines=orders.vendor_order_lines(vendor.id, orders.VendorOrderFilters(), limit=10),
        today=dates.today(),
        suspend_form=SuspendForm(),
        decision_form=DecisionForm(),
        refusal_form=RefusalForm(),
    )


@blueprint.get("/admin/editeurs/a-valider")
@role_required(Role.ADMIN)
def pending() -> ResponseReturnValue:
    """The registrations waiting for the operator's decision."""
    return render_template(
        "vendors/admin_pending.html",
        vendors=services.pending_vendors(),
        decision_form=DecisionForm(),
        refusal_form=RefusalForm(),
    )


@blueprint.post("/admin/editeurs/<int:vendor_id>/valider")
@role_required(Role.ADMIN)
def approve(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    if DecisionForm().validate_on_submit():
        services.approve(current_user, vendor)
        db.session.commit()
        flash(
            _("L’inscription de %(name)s est validée ; l’équipe est prévenue.", name=vendor),
            "success",
        )
    return redirect(url_for("vendors.pending"))


@blueprint.post("/admin/editeurs/<int:vendor_id>/refuser")
@role_required(Role.ADMIN)
def refuse(vendor_id: int) -> ResponseReturnValue:
    vendor = services.get_vendor(vendor_id)
    form = RefusalForm()
    if not form.validate_on_submit():
        flash(_("Indiquez le motif du refus."), "error")
        return redirect(url_for("vendors.pending"))
    services.refuse(current_user, vendor, form.reason.data or "")
    db.session.commit()
    flash(
        _("L’inscription de %(name)s est refusée ; l’équipe est prévenue.", name=vendor), "success"
    )
    return redirect(url_for("vendors.pending"))


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
        found = services.recheck_vendors(current_user, company)
        db.session.commit()
        flash(_("%(name)s est sur la liste d’exclusion.", name=company.name), "success")
        if found:
            flash(
                ngettext(
                    "%(num)s éditeur inscrit correspond à cette entrée : décidez ci-dessous.",
                    "%(num)s éditeurs inscrits correspondent à cette entrée : décidez ci-dessous.",
                    len(found),
                ),
                "warning",
            )
        return redirect(url_for("vendors.exclusions"))
    return render_template(
        "vendors/exclusions.html",
        form=form,
        companies=services.excluded_companies(),
        matches=services.open_exclusion_matches(),
        explain=services.match_explanation,
        decision_form=DecisionForm(),
    )


@blueprint.post(
    "/admin/exclusions/correspondances/<int:match_id>/<any(suspendre, ecarter):decision>"
)
@role_required(Role.ADMIN)
def decide_match(match_id: int, decision: str) -> ResponseReturnValue:
    """The operator decides on a vendor matching an entry added to the list."""
    match = services.get_exclusion_match(match_id)
    if not DecisionForm().validate_on_submit():
        flash(_("Le formulaire a expiré : rechargez la page et réessayez."), "error")
    elif decision == "suspendre":
        services.suspend_for_exclusion(current_user, match)
        db.session.commit()
        flash(_("%(name)s est suspendu.", name=match.vendor), "success")
    else:
        services.dismiss_exclusion_match(current_user, match)
        db.session.commit()
        flash(_("La correspondance de %(name)s est écartée.", name=match.vendor), "success")
    return redirect(url_for("vendors.exclusions"))


@blueprint.post("/admin/exclusions/<int:company_id>/retirer")
@role_required(Role.ADMIN)
def remove_exclusion(company_id: int) -> ResponseReturnValue:
    services.remove_exclusion(current_user, company_id)
    db.session.commit()
    flash(_("L’entreprise a été retirée de la liste d’exclusion."), "success")
    return redirect(url_for("vendors.exclusions"))
