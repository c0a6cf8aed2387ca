"""Cart, checkout and order pages of teachers; the orders of a vendor's products."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.budgets.services import school_year_code
from app.core import args, dates, exports, storage
from app.core.auth import role_required
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.forms import options
from app.core.money import format_euros
from app.extensions import db
from app.licences.services import GAR_PRESUMED_OPENED_AFTER_DAYS
from app.orders import services
from app.orders.forms import AddToCartForm, CheckoutForm, SchoolChoiceForm, SeatsForm
from app.orders.models import OrderLineStatus
from app.products import services as products
from app.products.models import PLAN_LABELS, PlanKind
from app.vendors import services as vendors

blueprint = Blueprint("orders", __name__, template_folder="templates")

TEACHER = Role.TEACHER


def _school_choices(form: SchoolChoiceForm | CheckoutForm) -> None:
    schools = services.teacher_schools(current_user)
    form.school.choices = options((s.id, f"{s.name} — {s.city} ({s.uai})") for s in schools)


def _cart_page(error: DomainError | None = None) -> ResponseReturnValue:
    cart = services.cart(current_user, school_year_code(services.today()))
    form = SchoolChoiceForm(formdata=None)
    _school_choices(form)
    page = render_template(
        "orders/cart.html",
        cart=cart,
        form=form,
        error=error,
        plan_labels=PLAN_LABELS,
        seats_form=SeatsForm(),
    )
    return page, (error.status if error else 200)


def _summary_page(
    summary: services.Summary, form: CheckoutForm, error: DomainError | None = None
) -> ResponseReturnValue:
    form.school.data = summary.school.id
    form.cart.data = summary.fingerprint
    page = render_template(
        "orders/summary.html",
        summary=summary,
        form=form,
        error=error,
        plan_labels=PLAN_LABELS,
        withdrawal_days=services.WITHDRAWAL_DAYS,
    )
    return page, (error.status if error else 200)


@blueprint.post("/panier/ajouter/<int:product_id>")
@role_required(TEACHER)
def add(product_id: int) -> ResponseReturnValue:
    form = AddToCartForm()
    form.plan.choices = options((kind.value, PLAN_LABELS[kind]) for kind in PlanKind)
    # Back to the product page with what the teacher chose, if refused.
    back = url_for(
        "products.storefront_product",
        product_id=product_id,
        offre=form.plan.data,
        eleves=form.seats.data,
    )
    if not form.validate_on_submit():
        if form.seats.errors:
            flash(_("Nombre d’élèves : indiquez un nombre entier."), "error")
        else:
            flash(_("Choisissez une offre."), "error")
        return redirect(back)
    try:
        services.add_to_cart(current_user, product_id, PlanKind(form.plan.data), form.seats.data)
        db.session.commit()
    except (ValidationFailed, Conflict, services.NotPurchasable) as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(back)
    flash(_("Ajouté au panier."), "success")
    return redirect(url_for("orders.cart"))


@blueprint.get("/panier")
@role_required(TEACHER)
def cart() -> ResponseReturnValue:
    return _cart_page()


@blueprint.post("/panier/<int:line_id>/eleves")
@role_required(TEACHER)
def change_seats(line_id: int) -> ResponseReturnValue:
    form = SeatsForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed(
                _("Nombre d’élèves : indiquez un nombre entier."),
                details={"seats": [_("nombre entier attendu")]},
            )
        services.change_seats(current_user, line_id, form.seats.data)
        db.session.commit()
    except (ValidationFailed, services.NotPurchasable) as refused:
        db.session.rollback()
        return _cart_page(refused)
    return redirect(url_for("orders.cart"))


@blueprint.post("/panier/<int:line_id>/retirer")
@role_required(TEACHER)
def remove(line_id: int) -> ResponseReturnValue:
    services.remove_from_cart(current_user, line_id)
    db.session.commit()
    flash(_("Retiré du panier."), "success")
    return redirect(url_for("orders.cart"))


@blueprint.post("/panier/confirmer-prix")
@role_required(TEACHER)
def confirm_prices() -> ResponseReturnValue:
    services.confirm_prices(current_user)
    db.session.commit()
    flash(_("Nouveaux prix confirmés."), "success")
    return redirect(url_for("orders.cart"))


@blueprint.get("/panier/recapitulatif")
@role_required(TEACHER)
def summary() -> ResponseReturnValue:
    """What will be bought, for which school, and the credit left: confirmed, then paid."""
    choice = SchoolChoiceForm(request.args)
    _school_choices(choice)
    school_id = choice.school.data if choice.validate() else None
    found = services.summary(current_user, school_id)
    if not found.cart.items:
        return redirect(url_for("orders.cart"))
    form = CheckoutForm()
    _school_choices(form)
    return _summary_page(found, form)


@blueprint.post("/panier/commander")
@role_required(TEACHER)
def checkout() -> ResponseReturnValue:
    form = CheckoutForm()
    _school_choices(form)
    if not form.validate_on_submit():
        return _cart_page(ValidationFailed(_("Le formulaire de commande est incomplet.")))
    try:
        order = services.checkout(
            current_user,
            form.token.data or "",
            school_id=form.school.data,
            confirmed=form.cart.data,
        )
        number, order_id = order.number, order.id  # not read again after the commit
        db.session.commit()
    except services.CartChanged as changed:
        db.session.rollback()
        return _summary_page(services.summary(current_user, form.school.data), form, changed)
    except DomainError as refused:
        db.session.rollback()
        return _cart_page(refused)
    flash(_("Commande %(number)s validée : vos ressources arrivent.", number=number), "success")
    return redirect(url_for("orders.order_detail", order_id=order_id))


@blueprint.get("/mes-commandes")
@role_required(TEACHER)
def my_orders() -> ResponseReturnValue:
    orders = services.teacher_orders(current_user)
    return render_template(
        "orders/my_orders.html",
        orders=orders,
        shares=services.pooled_shares(current_user, orders),
        plan_labels=PLAN_LABELS,
    )


@blueprint.get("/mes-commandes/<int:order_id>")
@role_required(TEACHER)
def order_detail(order_id: int) -> ResponseReturnValue:
    order = services.teacher_order(current_user, order_id)
    return render_template(
        "orders/order.html",
        order=order,
        shares=services.pooled_shares(current_user, [order]),
        plan_labels=PLAN_LABELS,
        cancellations={line.id: services.cancellation(line) for line in order.lines},
        presumed_days=GAR_PRESUMED_OPENED_AFTER_DAYS,
        withdrawal_days=services.WITHDRAWAL_DAYS,
    )


@blueprint.get("/mes-commandes/<int:order_id>/recu.pdf")
@role_required(TEACHER)
def receipt(order_id: int) -> ResponseReturnValue:
    order = services.teacher_order(current_user, order_id)
    share = services.pooled_shares(current_user, [order]).get(order.id)
    if share is not None:  # a pooled purchase: each participant's own receipt
        pdf = services.pooled_receipt(order, current_user, share)
        return send_file(
            io.BytesIO(pdf),
            mimetype="application/pdf",
            as_attachment=True,
            download_name=f"recu-{order.number}.pdf",
        )
    key = services.receipt_key(order)
    db.session.commit()
    return storage.send(key, download_name=f"recu-{order.number}.pdf")


@blueprint.post("/mes-commandes/lignes/<int:line_id>/annuler")
@role_required(TEACHER)
def cancel(line_id: int) -> ResponseReturnValue:
    line = services.cancel_line(current_user, line_id)
    db.session.commit()
    flash(
        _(
            "La %(offer)s de « %(title)s » est annulée ; %(amount)s ont été recrédités.",
            offer=str(PLAN_LABELS[line.plan_kind]).lower(),
            title=line.title,
            amount=format_euros(line.price_cents),
        ),
        "success",
    )
    return redirect(url_for("orders.order_detail", order_id=line.order_id))


# --- the vendor ------------------------------------------------------------------------


def _vendor_filters() -> services.VendorOrderFilters:
    status = request.args.get("statut", "")
    return services.VendorOrderFilters(
        since=args.day("du"),
        until=args.day("au"),
        product_id=args.identifier("produit"),
        status=OrderLineStatus(status) if status in OrderLineStatus._value2member_map_ else None,
    )


@blueprint.get("/editeur/<int:vendor_id>/commandes")
@role_required(Role.VENDOR, scope="vendor_id")
def vendor_orders(vendor_id: int) -> ResponseReturnValue:
    vendor = vendors.get_vendor(vendor_id)
    filters = _vendor_filters()
    if request.args.get("format") == "csv":
        return _csv(services.vendor_order_lines(vendor_id, filters, limit=None), vendor.id)
    return render_template(
        "orders/vendor_orders.html",
        vendor=vendor,
        rows=services.vendor_order_lines(vendor_id, filters),
        filters=filters,
        products=products.vendor_products(vendor),
        plan_labels=PLAN_LABELS,
    )


def _csv(rows: list, vendor_id: int) -> Response:  # type: ignore[type-arg]
    header = [
        _("Commande"),
        _("Date"),
        _("UAI"),
        _("Produit"),
        _("Offre"),
        _("Élèves"),
        _("Montant TTC (€)"),
        _("Statut"),
        _("Licence"),
    ]
    lines = [
        [
            exports.identifier(order.number),
            dates.local_date(order.created_at).isoformat(),
            exports.identifier(uai),
            line.title,
            line.plan_kind.label,
            line.seats if line.plan_kind is PlanKind.CLASS else "",
            f"{line.price_cents / 100:.2f}".replace(".", ","),
            line.status.label,
            licence_status.label if licence_status else "",
        ]
        for line, order, uai, licence_status in rows
    ]
    data = exports.text([header, *lines])
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=commandes-editeur-{vendor_id}.csv"},
    )
