"""Vetting pages: the vendor submits a version; the commission reviews the queue."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.core.auth import role_required
from app.core.errors import ValidationFailed
from app.core.forms import attach_errors
from app.extensions import db
from app.products import services as products
from app.products.forms import CHANNEL_LABELS
from app.products.models import PLAN_LABELS
from app.vetting import services
from app.vetting.forms import DecisionForm
from app.vetting.models import Decision
from catalog import privacy
from catalog.conduct import Declaration

blueprint = Blueprint("vetting", __name__, template_folder="templates")


@blueprint.post("/editeur/<int:vendor_id>/produits/<int:product_id>/soumettre")
@role_required(Role.VENDOR, scope="vendor_id")
def submit(vendor_id: int, product_id: int) -> ResponseReturnValue:
    product = products.vendor_product(vendor_id, product_id)
    try:
        submission = services.submit(current_user, product.latest)
    except services.VendorNotApproved as pending:
        flash(pending.message, "error")
        return redirect(url_for("products.detail", vendor_id=vendor_id, product_id=product_id))
    except ValidationFailed:
        db.session.rollback()
        flash(
            _(
                "Soumission impossible : des informations manquent ou sont invalides. "
                "Elles sont listées ci-dessous ; complétez-les puis soumettez à nouveau."
            ),
            "error",
        )
        return redirect(
            url_for(
                "products.edit",
                vendor_id=vendor_id,
                product_id=product_id,
                verifier=1,
            )
        )
    db.session.commit()  # a refused submission keeps its findings and its trace
    if not submission.accepted:
        flash(
            _(
                "Soumission refusée : la déclaration ne respecte pas le code de conduite. "
                "Corrigez les points bloquants ci-dessous."
            ),
            "error",
        )
    else:
        flash(_("Votre produit est soumis à la commission."), "success")
    return redirect(url_for("products.detail", vendor_id=vendor_id, product_id=product_id))


@blueprint.get("/commission")
@role_required(Role.REVIEWER)
def queue() -> ResponseReturnValue:
    versions = services.review_queue()
    conflicts = {v.id for v in versions if services.conflict_of_interest(current_user, v)}
    return render_template("vetting/queue.html", versions=versions, conflicts=conflicts)


@blueprint.route("/commission/versions/<int:version_id>", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def review(version_id: int) -> ResponseReturnValue:
    version = services.submitted_version(version_id)
    form = DecisionForm()
    error = None
    if form.validate_on_submit():
        try:
            services.decide(
                current_user,
                version,
                Decision(form.decision.data),
                comment=form.comment.data or "",
                criteria=form.criteria(),
                label_expires_on=form.label_expires_on.data,
            )
            db.session.commit()
        except ValidationFailed as refused:
            db.session.rollback()
            error = refused
            error.details = attach_errors(form, refused.details)
        else:
            flash(_("Décision enregistrée."), "success")
            return redirect(url_for("vetting.queue"))
    page = render_template(
        "vetting/review.html",
        version=version,
        vendor=version.product.vendor,
        form=form,
        error=error,
        conflict=services.conflict_of_interest(current_user, version),
        findings=services.findings_of(version),
        reviews=services.reviews_of(version),
        timeline=services.timeline(version.product),
        plan_labels=PLAN_LABELS,
        channel_label=CHANNEL_LABELS[version.channel],
        data_summary=privacy.plain_summary(Declaration.from_dict(version.declaration)),
    )
    return page, 422 if error or form.errors else 200
