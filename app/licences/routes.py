"""Licence pages: the teacher's "Mes ressources"; the vendor's licences, codes and
delivery settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.accounts.models import Role
from app.core import args
from app.core.auth import role_required
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.forms import attach_errors, options
from app.core.limits import upload_lines
from app.extensions import db
from app.licences import services
from app.licences.forms import CodeAlertForm, CodesForm, DeliveryForm
from app.licences.models import LicenceStatus
from app.orders import services as orders
from app.products import services as products
from app.products.models import PLAN_LABELS, PlanKind
from app.vendors import services as vendors

blueprint = Blueprint("licences", __name__, template_folder="templates")

VENDOR = Role.VENDOR


@blueprint.get("/mes-ressources")
@role_required(Role.TEACHER)
def my_resources() -> ResponseReturnValue:
    held = services.teacher_licences(current_user)
    return render_template(
        "licences/my_resources.html",
        licences=held,
        plan_labels=PLAN_LABELS,
        # Where each bought licence stands with respect to cancelling its order line
        # (within WITHDRAWAL_DAYS days, until the resource is opened).
        cancellations={
            licence.id: orders.cancellation(licence.order_line)
            for licence in held
            if licence.order_line is not None
        },
        withdrawal_days=orders.WITHDRAWAL_DAYS,
        presumed_days=services.GAR_PRESUMED_OPENED_AFTER_DAYS,
    )


@blueprint.get("/mes-ressources/<int:licence_id>/ouvrir")
@role_required(Role.TEACHER)
def open_resource(licence_id: int) -> ResponseReturnValue:
    """The access link: the first opening is recorded (it ends the right to cancel), then
    the teacher goes on to the vendor's address."""
    try:
        licence = services.open_resource(current_user, licence_id, "link")
        db.session.commit()
    except Conflict as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("licences.my_resources"))
    return redirect(licence.access_url or licence.version.access_url)


@blueprint.post("/mes-ressources/<int:licence_id>/code")
@role_required(Role.TEACHER)
def reveal_code(licence_id: int) -> ResponseReturnValue:
    """The activation code is shown once asked for: that first showing is recorded."""
    try:
        services.open_resource(current_user, licence_id, "code")
        db.session.commit()
    except Conflict as refused:
        db.session.rollback()
        flash(refused.message, "error")
    return redirect(url_for("licences.my_resources", _anchor=f"licence-{licence_id}"))


@blueprint.post("/mes-ressources/<int:licence_id>/reessayer")
@role_required(Role.TEACHER)
def teacher_retry(licence_id: int) -> ResponseReturnValue:
    licence = services.get_licence(licence_id)
    if licence.teacher_id != current_user.id:
        raise NotFound(_("Licence introuvable."))
    services.retry(current_user, licence)
    db.session.commit()
    flash(_("Nouvelle tentative lancée : la page se mettra à jour dans un instant."), "success")
    return redirect(url_for("licences.my_resources"))


@blueprint.get("/editeur/<int:vendor_id>/licences")
@role_required(VENDOR, scope="vendor_id")
def vendor_licences(vendor_id: int) -> ResponseReturnValue:
    status_arg = request.args.get("statut", "")
    status = LicenceStatus(status_arg) if status_arg in LicenceStatus._value2member_map_ else None
    page = services.vendor_licences(vendor_id, status=status, page=args.page())
    return render_template(
        "licences/vendor_licences.html",
        vendor=vendors.get_vendor(vendor_id),
        page=page,
        status=status,
        plan_labels=PLAN_LABELS,
        stock=services.code_stock(vendors.get_vendor(vendor_id)),
    )


@blueprint.post("/editeur/<int:vendor_id>/licences/<int:licence_id>/reessayer")
@role_required(VENDOR, scope="vendor_id")
def vendor_retry(vendor_id: int, licence_id: int) -> ResponseReturnValue:
    licence = services.vendor_licence(vendor_id, licence_id)
    services.retry(current_user, licence)
    db.session.commit()
    flash(_("Nouvelle tentative lancée pour la licence %(id)s.", id=licence_id), "success")
    return redirect(url_for("licences.vendor_licences", vendor_id=vendor_id))


@blueprint.route("/editeur/<int:vendor_id>/codes", methods=["GET", "POST"])
@role_required(VENDOR, scope="vendor_id")
def codes(vendor_id: int) -> ResponseReturnValue:
    vendor = vendors.get_vendor(vendor_id)
    stock = services.code_stock(vendor)
    form = CodesForm()
    form.offer.choices = options(
        [
            ("", _("Choisir un produit et une offre")),
            *(
                (
                    f"{line.product.id}:{line.plan_kind.value}",
                    f"{line.product.latest.title} — {PLAN_LABELS[line.plan_kind]}",
                )
                for line in stock
            ),
        ]
    )
    alert = CodeAlertForm(obj=vendor)
    error = None
    if request.form.get("action") == "threshold":
        if alert.validate_on_submit():
            try:
                services.set_code_alert_threshold(
                    current_user, vendor, alert.code_alert_threshold.data or ""
                )
                db.session.commit()
            except ValidationFailed as refused:
                db.session.rollback()
                attach_errors(alert, refused.details)
            else:
                flash(_("Seuil d’alerte enregistré."), "success")
                return redirect(url_for("licences.codes", vendor_id=vendor_id))
    elif form.validate_on_submit():
        product_id, _sep, kind = (form.offer.data or "").partition(":")
        try:
            product = products.vendor_product(vendor_id, int(product_id))
            codes = services.parse_codes(upload_lines(form.file.data.stream))
            added = services.upload_codes(current_user, product, PlanKind(kind), codes)
            db.session.commit()
        except (ValidationFailed, Conflict) as refused:
            db.session.rollback()
            error = refused
        else:
            saved = ngettext("%(num)s code enregistré.", "%(num)s codes enregistrés.", added)
            flash(saved, "success")
            return redirect(url_for("licences.codes", vendor_id=vendor_id))
    context = {"vendor": vendor, "stock": stock, "form": form, "alert": alert, "error": error}
    return render_template("licences/codes.html", plan_labels=PLAN_LABELS, **context), (
        422 if error or form.errors or alert.errors else 200
    )


@blueprint.route("/editeur/<int:vendor_id>/livraison", methods=["GET", "POST"])
@role_required(VENDOR, scope="vendor_id")
def delivery(vendor_id: int) -> ResponseReturnValue:
    vendor = vendors.get_vendor(vendor_id)
    form = DeliveryForm(obj=vendor)
    error = new_secret = None
    if form.validate_on_submit():
        try:
            if request.form.get("action") == "rotate":
                new_secret = services.rotate_webhook_secret(current_user, vendor)
            else:
                new_secret = services.set_provisioning_url(
                    current_user, vendor, form.provisioning_url.data or ""
                )
            db.session.commit()
        except ValidationFailed as refused:
            db.session.rollback()
            error = refused
        else:
            if new_secret is None:
                flash(_("Réglages de livraison enregistrés."), "success")
                return redirect(url_for("licences.delivery", vendor_id=vendor_id))
    page = render_template(
        "licences/delivery.html", vendor=vendor, form=form, error=error, new_secret=new_secret
    )
    return page, 422 if error else 200
