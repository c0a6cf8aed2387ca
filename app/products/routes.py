"""Product pages: the vendor's drafts and versions, and the storefront teachers browse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.core import args as query_args
from app.core import storage
from app.core.auth import role_required
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import attach_errors
from app.core.money import InvalidAmount, parse_euros
from app.core.templating import format_cents
from app.extensions import db, limiter
from app.pooled_purchases import services as pooled_purchases
from app.products import services
from app.products.forms import CHANNEL_LABELS_FOR_TEACHERS, ProductForm, ScreenshotForm
from app.products.models import PLAN_LABELS, SCREENSHOTS_MAX, PlanKind, Product, ProductVersion
from app.vendors import services as vendors
from app.vetting import services as vetting
from catalog import conduct, privacy, vocabularies

blueprint = Blueprint("products", __name__, template_folder="templates")

VENDOR = Role.VENDOR
REFUSED = (ValidationFailed, Conflict)
PUBLIC_FILES = ("logos/", "screenshots/")


def _save(form: ProductForm, version: ProductVersion | None, vendor_id: int) -> Product:
    """Create the product (version None) or update the draft, then store the logo."""
    plans, price_errors = form.plan_drafts()
    if price_errors:
        raise ValidationFailed("Certains prix sont invalides.", details=price_errors)
    draft = form.to_draft(plans)
    if version is None:
        product = services.create_product(current_user, vendors.get_vendor(vendor_id), draft)
        version = product.latest
    else:
        services.update_draft(current_user, version, draft)
    if form.logo.data:
        data = form.logo.data.read(current_app.config["LOGO_MAX_BYTES"] + 1)
        services.set_logo(current_user, version, data, current_app.config["LOGO_MAX_BYTES"])
    return version.product


def _form_page(
    form: ProductForm,
    vendor_id: int,
    product: Product | None,
    source: services.DeclarationSource | None = None,
) -> ResponseReturnValue:
    error = None
    if form.validate_on_submit():
        try:
            product = _save(form, product.latest if product else None, vendor_id)
            db.session.commit()
        except REFUSED as refused:
            db.session.rollback()
            error = refused
            error.details = attach_errors(form, refused.details)
        else:
            flash(_("Brouillon enregistré."), "success")
            if request.form.get("action") == "verifier":
                return redirect(_verification_url(vendor_id, product.id))
            return redirect(url_for("products.detail", vendor_id=vendor_id, product_id=product.id))
    elif form.is_submitted():
        error = ValidationFailed(_("Certaines informations du produit sont invalides."))
    context = {
        "form": form,
        "vendor": vendors.get_vendor(vendor_id),
        "product": product,
        "source": source,
    }
    if product is not None and request.args.get("verifier") and product.latest.editable:
        verification = vetting.verify(product.latest)
        context["verification"] = verification
        context["missing"] = [
            (form.label_of(path), reasons) for path, reasons in verification.missing.items()
        ]
    return render_template("products/form.html", error=error, **context), 422 if error else 200


def _verification_url(vendor_id: int, product_id: int) -> str:
    """The draft's form with the checks of a submission shown on top (nothing submitted)."""
    return url_for(
        "products.edit",
        vendor_id=vendor_id,
        product_id=product_id,
        verifier=1,
    )


@blueprint.route("/editeur/<int:vendor_id>/produits/nouveau", methods=["GET", "POST"])
@role_required(VENDOR, scope="vendor_id")
def create(vendor_id: int) -> ResponseReturnValue:
    form = ProductForm()
    source = services.previous_declaration(vendors.get_vendor(vendor_id))
    if not form.is_submitted() and source is not None:
        form.declaration.form.fill(source.declaration)
    return _form_page(form, vendor_id, None, source)


@blueprint.route(
    "/editeur/<int:vendor_id>/produits/<int:product_id>/modifier", methods=["GET", "POST"]
)
@role_required(VENDOR, scope="vendor_id")
def edit(vendor_id: int, product_id: int) -> ResponseReturnValue:
    product = services.vendor_product(vendor_id, product_id)
    if not product.latest.editable:
        flash(_("Cette version n’est plus modifiable : créez une nouvelle version."), "error")
        return redirect(url_for("products.detail", vendor_id=vendor_id, product_id=product_id))
    form = ProductForm()
    if not form.is_submitted():
        form.fill(services.draft_of(product.latest))
    return _form_page(form, vendor_id, product)


def _detail_page(
    product: Product, form: ScreenshotForm, error: ValidationFailed | None = None
) -> ResponseReturnValue:
    page = render_template(
        "products/detail.html",
        vendor=product.vendor,
        product=product,
        version=product.latest,
        findings=vetting.findings_of(product.latest),
        reviews={v.id: vetting.reviews_of(v) for v in product.versions},
        timeline=vetting.timeline(product),
        purchasable=product.listed is not None and services.is_purchasable(product.listed),
        screenshot_form=form,
        screenshots_max=SCREENSHOTS_MAX,
        screenshot_pixels=format_decimal(services.SCREENSHOT_MAX_PIXELS),
        error=error,
    )
    return page, 422 if error else 200


@blueprint.get("/editeur/<int:vendor_id>/produits/<int:product_id>")
@role_required(VENDOR, scope="vendor_id")
def detail(vendor_id: int, product_id: int) -> ResponseReturnValue:
    return _detail_page(services.vendor_product(vendor_id, product_id), ScreenshotForm())


@blueprint.post("/editeur/<int:vendor_id>/produits/<int:product_id>/captures")
@role_required(VENDOR, scope="vendor_id")
def add_screenshot(vendor_id: int, product_id: int) -> ResponseReturnValue:
    product = services.vendor_product(vendor_id, product_id)
    form = ScreenshotForm()
    if not form.validate_on_submit():
        error = ValidationFailed(_("La capture d’écran n’a pas été ajoutée."))
        return _detail_page(product, form, error)
    most = current_app.config["SCREENSHOT_MAX_BYTES"]
    data = form.screenshot.data.read(most + 1) if form.screenshot.data else b""
    try:
        services.add_screenshot(current_user, product.latest, data, form.alt_text.data or "", most)
        db.session.commit()
    except ValidationFailed as refused:
        db.session.rollback()
        refused.details = attach_errors(form, refused.details)
        return _detail_page(services.vendor_product(vendor_id, product_id), form, refused)
    flash(_("Capture d’écran ajoutée."), "success")
    return redirect(_screenshots_url(vendor_id, product_id))


@blueprint.post(
    "/editeur/<int:vendor_id>/produits/<int:product_id>/captures/<int:screenshot_id>/supprimer"
)
@role_required(VENDOR, scope="vendor_id")
def remove_screenshot(vendor_id: int, product_id: int, screenshot_id: int) -> ResponseReturnValue:
    product = services.vendor_product(vendor_id, product_id)
    services.remove_screenshot(current_user, product.latest, screenshot_id)
    db.session.commit()
    flash(_("Capture d’écran supprimée."), "success")
    return redirect(_screenshots_url(vendor_id, product_id))


def _screenshots_url(vendor_id: int, product_id: int) -> str:
    return url_for(
        "products.detail", vendor_id=vendor_id, product_id=product_id, _anchor="captures"
    )


@blueprint.post("/editeur/<int:vendor_id>/produits/<int:product_id>/nouvelle-version")
@role_required(VENDOR, scope="vendor_id")
def new_version(vendor_id: int, product_id: int) -> ResponseReturnValue:
    product = services.vendor_product(vendor_id, product_id)
    services.new_version(current_user, product)
    db.session.commit()
    return redirect(url_for("products.edit", vendor_id=vendor_id, product_id=product_id))


# --- the storefront -------------------------------------------------------------------------


PRICE_ARGS = ("prix_min", "prix_max")
PLAN_KINDS = frozenset(kind.value for kind in PlanKind)
# The filters by code: query parameter, vocabulary of its codes.
FILTER_ARGS: tuple[tuple[str, vocabularies.VocabularyName], ...] = (
    ("niveau", "levels"),
    ("discipline", "disciplines"),
    ("type", "resource_types"),
)


@dataclass(frozen=True)
class PriceBounds:
    """The price bounds typed in the filters, in cents, and why a bound is ignored, by
    parameter: a teacher is told, on the field and above the results, instead of seeing
    results that silently ignore what they typed."""

    low: int | None
    high: int | None
    errors: dict[str, str]


def _price_bounds() -> PriceBounds:
    errors: dict[str, str] = {}
    bounds: dict[str, int | None] = {}
    ignored = {"prix_min": _("Prix minimum ignoré"), "prix_max": _("Prix maximum ignoré")}
    for name in PRICE_ARGS:
        text = request.args.get(name, "").strip()
        bounds[name] = None
        if not text:
            continue
        try:
            cents = parse_euros(text)
        except InvalidAmount:
            errors[name] = _(
                "%(field)s : « %(text)s » n’est pas un montant en euros (par exemple 15 ou 12,50).",
                field=ignored[name],
                text=text[:20],
            )
            continue
        if cents < 0:
            errors[name] = _("%(field)s : un prix ne peut pas être négatif.", field=ignored[name])
            continue
        bounds[name] = cents
    low, high = bounds["prix_min"], bounds["prix_max"]
    if low is not None and high is not None and high < low:
        errors["prix_max"] = _(
            "%(field)s : il est inférieur au prix minimum (%(low)s).",
            field=ignored["prix_max"],
            low=format_cents(low),
        )
        high = None
    return PriceBounds(low, high, errors)


Coded = vocabularies.Level | vocabularies.Discipline | vocabularies.ResourceType


def _codes(name: str, known: Sequence[Coded]) -> list[str]:
    """The codes asked for a filter that its vocabulary knows (`known`), in the
    vocabulary's order (the order of the form), each once."""
    asked = set(request.args.getlist(name))
    return [item.code for item in known if item.code in asked]


def _storefront_query(prices: PriceBounds) -> services.StorefrontQuery:
    args = request.args
    kinds = [PlanKind(k) for k in dict.fromkeys(args.getlist("offre")) if k in PLAN_KINDS]
    sort = args.get("tri", "pertinence")
    return services.StorefrontQuery(
        text=args.get("q", "")[:200],
        disciplines=_codes("discipline", vocabularies.disciplines()),
        levels=_codes("niveau", vocabularies.levels()),
        resource_types=_codes("type", vocabularies.resource_types()),
        plan_kinds=kinds,
        price_min_cents=prices.low,
        price_max_cents=prices.high,
        sort=sort if sort in services.SORTS else "pertinence",
        page=query_args.page(),
    )


@dataclass(frozen=True)
class ActiveFilter:
    """A filter in force, shown as a tag whose link is the same search without it."""

    label: str
    href: str


def _applied_args(query: services.StorefrontQuery) -> dict[str, list[str]]:
    """The query string of what the search applies: unknown codes and ignored prices left
    out, the page dropped (fewer filters, other pages)."""
    args: dict[str, list[str]] = {
        "q": [query.text],
        "niveau": list(query.levels),
        "discipline": list(query.disciplines),
        "type": list(query.resource_types),
        "offre": [kind.value for kind in query.plan_kinds],
        "prix_min": [request.args.get("prix_min", "").strip()]
        if query.price_min_cents is not None
        else [],
        "prix_max": [request.args.get("prix_max", "").strip()]
        if query.price_max_cents is not None
        else [],
        "tri": [query.sort] if query.sort != "pertinence" else [],
    }
    return {name: [value for value in values if value] for name, values in args.items()}


def _storefront_url(args: dict[str, list[str]]) -> str:
    values: dict[str, Any] = {name: values for name, values in args.items() if values}
    return url_for("products.storefront", **values)


def _without(args: dict[str, list[str]], name: str, value: str | None = None) -> str:
    """The storefront's address with `args` but one filter: `value` of `name`, or all of it."""
    return _storefront_url(
        {
            key: [v for v in values if key != name or (value is not None and v != value)]
            for key, values in args.items()
        }
    )


def active_filters(query: services.StorefrontQuery) -> list[ActiveFilter]:
    """Every filter in force, in the order of the filters' form, each with the link that
    removes it; the search text and the sort are not filters (they stay)."""
    args = _applied_args(query)
    found: list[ActiveFilter] = []
    for name, vocabulary in FILTER_ARGS:
        for code in args[name]:
            label = vocabularies.label_of(vocabulary, code) or code
            found.append(ActiveFilter(label, _without(args, name, code)))
    for kind in query.plan_kinds:
        found.append(ActiveFilter(str(PLAN_LABELS[kind]), _without(args, "offre", kind.value)))
    if query.price_min_cents is not None:
        label = _("%(price)s minimum", price=format_cents(query.price_min_cents))
        found.append(ActiveFilter(label, _without(args, "prix_min")))
    if query.price_max_cents is not None:
        label = _("%(price)s maximum", price=format_cents(query.price_max_cents))
        found.append(ActiveFilter(label, _without(args, "prix_max")))
    return found


@blueprint.get("/catalogue")
def storefront() -> ResponseReturnValue:
    prices = _price_bounds()
    query = _storefront_query(prices)
    page = services.search(query)
    args = {key: request.args.getlist(key) for key in request.args if key != "page"}
    applied = _applied_args(query)
    return render_template(
        "products/storefront.html",
        page=page,
        args=args,
        correction=services.did_you_mean(page),
        filters=active_filters(query),
        # « Tout effacer » keeps what was searched and the sort: they are not filters.
        clear_filters_url=_storefront_url({"q": applied["q"], "tri": applied["tri"]}),
        price_errors=prices.errors,
        disciplines=vocabularies.disciplines(),
        levels=vocabularies.levels(),
        resource_types=vocabularies.resource_types(),
        plan_labels=PLAN_LABELS,
    )


@blueprint.get("/catalogue/suggestions")
@limiter.limit(lambda: str(current_app.config["SEARCH_SUGGESTIONS_PER_ADDRESS"]))
def storefront_suggestions() -> ResponseReturnValue:
    """What to offer someone typing in the catalogue's search, as JSON: the same for
    everyone, so browsers and proxies may keep it a few minutes (a signed-in session,
    touched by every request, adds `Vary: Cookie`)."""
    found = services.suggestions(request.args.get("q", ""))
    response = jsonify(suggestions=[{"label": s.label, "kind": s.kind} for s in found])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@blueprint.get("/catalogue/<int:product_id>")
def storefront_product(product_id: int) -> ResponseReturnValue:
    version = services.storefront_product(product_id)
    pooled = None  # for a teacher, when the product has a school plan: their school's
    if version.plan(PlanKind.SCHOOL) is not None and _is_teacher():
        pooled = pooled_purchases.open_for_product(current_user, product_id)
    return render_template(
        "products/product.html",
        pooled=pooled,
        version=version,
        terms=services.terms_of(version),
        vendor=version.product.vendor,
        plan_labels=PLAN_LABELS,
        class_plan=version.plan(PlanKind.CLASS),
        channel_label=CHANNEL_LABELS_FOR_TEACHERS[version.channel],
        data_summary=privacy.plain_summary(conduct.Declaration.from_dict(version.declaration)),
        # What the teacher chose, when the cart sent them back here with a refusal.
        chosen_plan=request.args.get("offre"),
        chosen_seats=query_args.identifier("eleves"),
    )


def _is_teacher() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role(Role.TEACHER))


@blueprint.get("/fichiers/<path:key>")
def stored_file(key: str) -> ResponseReturnValue:
    """Logos and screenshots (public, like the products they show). Other namespaces
    (receipts…) are served by their own guarded routes."""
    if not key.startswith(PUBLIC_FILES):
        return redirect(url_for("products.storefront"))
    return storage.send(key, max_age=31_536_000)
