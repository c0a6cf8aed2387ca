"""Payout pages: the vendor's payout account and payouts; the operator's settlement runs
and reconciliation; the Stripe webhook endpoint."""

from __future__ import annotations

from datetime import timedelta

import stripe
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.core import args, dates, exports, storage
from app.core.auth import role_required
from app.core.errors import BadRequest, Conflict, DomainError, ValidationFailed
from app.core.forms import attach_errors
from app.extensions import csrf, db
from app.payouts import services, webhooks
from app.payouts.forms import BankDetailsForm, MarkPaidForm, SettlementForm
from app.payouts.gateway import GatewayError, StripeGateway, gateway, gateway_label, stripe_client
from app.payouts.models import PayoutAccount
from app.vendors import services as vendors

blueprint = Blueprint("payouts", __name__, template_folder="templates")


# --- the vendor ------------------------------------------------------------------------


@blueprint.get("/editeur/<int:vendor_id>/versements")
@role_required(Role.VENDOR, scope="vendor_id")
def vendor_payouts(vendor_id: int) -> ResponseReturnValue:
    vendor = vendors.get_vendor(vendor_id)
    account = db.session.get(PayoutAccount, vendor_id)
    payout_gateway = gateway()
    return render_template(
        "payouts/vendor_payouts.html",
        vendor=vendor,
        account=account,
        bank=services.bank_details(vendor_id),
        gateway_name=payout_gateway.name,
        unusable=payout_gateway.unusable_reason(vendor_id),
        payouts=services.vendor_payouts(vendor_id),
    )


@blueprint.route("/editeur/<int:vendor_id>/coordonnees-bancaires", methods=["GET", "POST"])
@role_required(Role.VENDOR, scope="vendor_id")
def bank_details(vendor_id: int) -> ResponseReturnValue:
    """Where the vendor's manual payouts are sent; every change is mailed to its team."""
    vendor = vendors.get_vendor(vendor_id)
    current = services.bank_details(vendor_id)
    form = BankDetailsForm()
    if not form.is_submitted() and current is not None:
        form.holder.data, form.bic.data = current.holder, current.bic
    if form.validate_on_submit():
        try:
            changed = services.save_bank_details(
                current_user,
                vendor,
                form.holder.data or "",
                form.iban.data or "",
                form.bic.data or "",
            )
            db.session.commit()
        except ValidationFailed as refused:
            db.session.rollback()
            attach_errors(form, refused.details)
        else:
            if changed:
                flash(
                    _(
                        "Coordonnées bancaires enregistrées ; votre équipe en est avertie "
                        "par courriel."
                    ),
                    "success",
                )
            else:
                flash(_("Ces coordonnées bancaires étaient déjà enregistrées."), "info")
            return redirect(url_for("payouts.bank_details", vendor_id=vendor_id))
    return render_template(
        "payouts/bank_details.html", vendor=vendor, details=current, form=form
    ), (422 if form.errors else 200)


@blueprint.post("/editeur/<int:vendor_id>/versements/inscription")
@role_required(Role.VENDOR, scope="vendor_id")
def onboarding(vendor_id: int) -> ResponseReturnValue:
    """Create the vendor's Stripe Express account if needed, then send them to Stripe."""
    payout_gateway = gateway()
    if not isinstance(payout_gateway, StripeGateway):
        return redirect(url_for("payouts.vendor_payouts", vendor_id=vendor_id))
    vendor = vendors.get_vendor(vendor_id)
    account = db.session.get(PayoutAccount, vendor_id) or PayoutAccount(vendor_id=vendor_id)
    db.session.add(account)
    back = url_for("payouts.vendor_payouts", vendor_id=vendor_id, _external=True)
    try:
        if account.stripe_account_id is None:
            account.stripe_account_id = payout_gateway.create_account(vendor)
            db.session.commit()
        link = payout_gateway.onboarding_link(account.stripe_account_id, back, back)
    except (stripe.StripeError, GatewayError) as error:
        db.session.rollback()
        current_app.logger.warning("Stripe onboarding failed for vendor %s: %s", vendor_id, error)
        flash(_("Stripe ne répond pas pour l’instant : réessayez dans quelques minutes."), "error")
        return redirect(url_for("payouts.vendor_payouts", vendor_id=vendor_id))
    return redirect(link)


@blueprint.get("/editeur/<int:vendor_id>/versements/<int:payout_id>/releve.pdf")
@role_required(Role.VENDOR, scope="vendor_id")
def statement(vendor_id: int, payout_id: int) -> ResponseReturnValue:
    payout = services.vendor_payout(vendor_id, payout_id)
    key = services.statement_key(payout)
    db.session.commit()
    return storage.send(key, download_name=f"releve-{payout.number}.pdf")


# --- the operator ----------------------------------------------------------------------


@blueprint.route("/admin/versements", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_runs() -> ResponseReturnValue:
    """Two steps: a date gives the summary of what would be paid (nothing is written);
    "Confirmer le paiement" runs the settlement, unless that summary changed meanwhile."""
    form = SettlementForm()
    summary = None
    if form.validate_on_submit():
        try:
            if form.confirmed.data:
                return _run(form)
            summary = services.preview(form.until.data)
        except ValidationFailed as refused:
            attach_errors(form, refused.details)
        except Conflict as changed:  # the summary changed: show the new one to confirm
            db.session.rollback()
            flash(changed.message, "warning")
            summary = services.preview(form.until.data)
        except services.NothingToPay:
            db.session.rollback()
            summary = services.preview(form.until.data)
        if summary is not None and not summary.nothing_to_pay:
            form.confirmed.data = summary.fingerprint
            return render_template("payouts/admin_confirm.html", form=form, summary=summary)
    if not form.is_submitted():
        first = dates.today().replace(day=1)
        form.until.data = first - timedelta(days=1)
    return render_template(
        "payouts/admin_runs.html",
        form=form,
        nothing=summary,
        runs=services.runs(),
        to_pay=len(services.payouts_to_pay()),
        gateway_name=gateway().name,
        gateway_label=gateway_label(gateway().name),
    ), (422 if form.errors else 200)


def _run(form: SettlementForm) -> ResponseReturnValue:
    run = services.start_run(current_user, form.until.data, confirmed=form.confirmed.data)
    db.session.commit()
    for _result in services.settle(current_user, run):
        db.session.commit()
    db.session.commit()
    flash(_("Règlement %(id)s terminé.", id=run.id), "success")
    return redirect(url_for("payouts.admin_run", run_id=run.id))


@blueprint.get("/admin/versements/reglements/<int:run_id>")
@role_required(Role.ADMIN)
def admin_run(run_id: int) -> ResponseReturnValue:
    run = services.get_run(run_id)
    names = {str(v.id): v.legal_name for v, _count in vendors.all_vendors()}
    return render_template("payouts/admin_run.html", run=run, names=names, paid_form=MarkPaidForm())


@blueprint.post("/admin/versements/<int:payout_id>/paye")
@role_required(Role.ADMIN)
def mark_paid(payout_id: int) -> ResponseReturnValue:
    """Manual gateway: the accounting office made the transfer, with this bank reference."""
    payout = services.get_payout(payout_id)
    form = MarkPaidForm()
    if form.validate_on_submit():
        try:
            services.mark_paid(current_user, payout, form.bank_reference.data or "")
            db.session.commit()
        except DomainError as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            flash(_("Versement %(number)s marqué payé.", number=payout.number), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("payouts.admin_run", run_id=payout.run_id))


@blueprint.post("/admin/versements/<int:payout_id>/annuler-virement")
@role_required(Role.ADMIN)
def reverse(payout_id: int) -> ResponseReturnValue:
    """Ask Stripe to take a transfer back (a correction); the `transfer.reversed` webhook
    then books the money as owed to the vendor again."""
    payout = services.get_payout(payout_id)
    try:
        services.request_reversal(current_user, payout)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        flash(_("Annulation demandée à Stripe ; elle apparaîtra à sa confirmation."), "success")
    return redirect(url_for("payouts.admin_run", run_id=payout.run_id))


@blueprint.get("/admin/versements/a-payer.csv")
@role_required(Role.ADMIN)
def manual_export() -> ResponseReturnValue:
    """The payouts of the manual gateway still to pay, with the bank details to pay them
    to, for the accounting office's bank transfers; a payout marked paid leaves it."""
    rows = [
        [
            exports.identifier(payout.number),
            dates.local_date(payout.created_at).isoformat(),
            payout.vendor.legal_name,
            exports.identifier(payout.vendor.siret),
            bank.holder if bank else "",
            exports.identifier(bank.iban if bank else None),
            exports.identifier(bank.bic if bank else None),
            f"{payout.amount_cents / 100:.2f}".replace(".", ","),
        ]
        for payout, bank in services.payouts_to_pay()
    ]
    header = [
        _("Versement"),
        _("Date"),
        _("Éditeur"),
        _("SIRET"),
        _("Titulaire du compte"),
        _("IBAN"),
        _("BIC"),
        _("Montant (€)"),
    ]
    return Response(
        exports.text([header, *rows]),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=versements-a-payer.csv"},
    )


@blueprint.get("/admin/versements/rapprochement")
@role_required(Role.ADMIN)
def reconciliation() -> ResponseReturnValue:
    today = dates.today()
    since = args.day("du") or today.replace(day=1)
    until = args.day("au") or today
    return render_template("payouts/reconciliation.html", report=services.reconcile(since, until))


# --- Stripe ----------------------------------------------------------------------------


@blueprint.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook() -> ResponseReturnValue:
    """The platform's own events (transfers)."""
    return _receive(webhooks.PLATFORM)


@blueprint.post("/webhooks/stripe/connect")
@csrf.exempt
def stripe_connect_webhook() -> ResponseReturnValue:
    """The connected accounts' events (the vendors' accounts and bank payouts)."""
    return _receive(webhooks.CONNECT)


def _receive(endpoint: webhooks.Endpoint) -> ResponseReturnValue:
    """Verified with the endpoint's own secret before anything is read: a bad or missing
    signature is a 400; so is an event that does not belong here (nothing written)."""
    secret = current_app.config[endpoint.secret_setting]
    if not secret:  # never accept events signed with an empty key
        return jsonify(error={"code": "not_configured", "message": "Webhook non configuré."}), 400
    payload = request.get_data()
    try:
        event = stripe_client().construct_event(
            payload, request.headers.get("Stripe-Signature"), secret
        )
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error={"code": "bad_signature", "message": "Signature invalide."}), 400
    except AttributeError:  # signed, but not a JSON object: the SDK cannot read it
        event = None
    try:
        event = webhooks.checked(event, endpoint)
    except BadRequest as refused:  # Stripe sends it again; the log tells what was wrong
        current_app.logger.warning(
            "Stripe event refused on the %s endpoint: %s %s",
            endpoint.name,
            refused.message,
            payload[:500],
        )
        raise
    try:
        processed = webhooks.handle(event)
    except GatewayError as error:  # Stripe sends it again later
        db.session.rollback()
        current_app.logger.warning("Stripe event %s not processed: %s", event.id, error)
        message = "Stripe injoignable : événement à renvoyer."
        return jsonify(error={"code": "stripe_unavailable", "message": message}), 503
    db.session.commit()
    return jsonify(received=True, duplicate=not processed)
