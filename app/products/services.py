"""Products: drafting versions, their plans, declarations and logos; the storefront.

A vendor works on the newest version of a product while it is a draft (or sent back
for changes). Once submitted it is frozen; once approved it goes on sale and any
further change starts a new draft, the approved one staying on sale meanwhile.

The storefront shows only *purchasable* versions (:func:`purchasable`): listed (approved),
with a label still valid today, of an active vendor. Checkout uses the same rule.
"""

from __future__ import annotations

import difflib
import io
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, UOWTransaction, contains_eager, selectinload

from app.accounts.models import User
from app.core import audit, dates, schedule, storage
from app.core.db import insert_or_ignore, is_postgres
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.products.models import (
    SCREENSHOTS_MAX,
    VAT_RATES_BP,
    Channel,
    Plan,
    PlanKind,
    Product,
    ProductSearch,
    ProductVersion,
    Screenshot,
    SearchWord,
    VersionDiscipline,
    VersionLevel,
    VersionStatus,
)
from app.vendors.models import Vendor, VendorStatus
from catalog import conduct, vocabularies

ARK = re.compile(r"ark:/\d{5}/\S{1,200}")
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
# Control characters: invisible, and most of them cannot be carried by an XML document
# (the GAR subscription takes the title). Longer texts may hold tabs and line ends.
SINGLE_LINE = ("title", "summary", "access_url", "gar_resource_id")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LOGO_MAX_PIXELS = 2000  # width and height
SCREENSHOT_MAX_PIXELS = 4000  # width and height
ALT_TEXT_MAX = 250


@dataclass(frozen=True)
class PlanDraft:
    kind: PlanKind
    price_cents: int
    vat_rate_bp: int
    max_pupils: int | None = None


@dataclass(frozen=True)
class ProductDraft:
    """Everything a vendor writes about a product version."""

    title: str
    summary: str
    description: str
    disciplines: Sequence[str]
    levels: Sequence[str]
    resource_type: str
    access_url: str
    channel: Channel
    plans: Sequence[PlanDraft]
    declaration: dict[str, Any]
    gar_resource_id: str | None = None


def _problems(draft: ProductDraft, *, for_submission: bool) -> dict[str, list[str]]:
    """Every wrong field, by its path (declaration fields as ``declaration.<path>``).

    A draft may be incomplete: only what cannot be stored is a problem (a text too long,
    an unknown code, an offer ticked without a valid price). ``for_submission`` adds what a
    submission needs: every required field filled in and a declaration that reads whole."""
    errors: dict[str, list[str]] = {}

    def refuse(name: str, reason: str) -> None:
        errors.setdefault(name, []).append(reason)

    for name, text in _texts(draft):
        found = (CONTROL if name in SINGLE_LINE else CONTROL_BUT_LINES).search(text)
        if found:
            refuse(
                name,
                f"caractère de contrôle invisible interdit (U+{ord(found.group()):04X}) : "
                "retapez ce texte sans le coller depuis un autre logiciel",
            )
    for name, limit in (("title", 200), ("summary", 300)):
        value = getattr(draft, name).strip()
        if not value and for_submission:
            refuse(name, "ce champ est obligatoire")
        elif len(value) > limit:
            refuse(name, f"{limit} caractères au plus")
    if for_submission and len(draft.description.strip()) < 20:
        refuse("description", "décrivez la ressource en quelques phrases (20 caractères au moins)")
    known_disciplines = {d.code for d in vocabularies.disciplines()}
    if not draft.disciplines and for_submission:
        refuse("disciplines", "choisissez au moins une discipline")
    for code in draft.disciplines:
        if code not in known_disciplines:
            refuse("disciplines", f"discipline inconnue : {code}")
    known_levels = {level.code for level in vocabularies.levels()}
    if not draft.levels and for_submission:
        refuse("levels", "choisissez au moins un niveau")
    for code in draft.levels:
        if code not in known_levels:
            refuse("levels", f"niveau inconnu : {code}")
    if (draft.resource_type or for_submission) and draft.resource_type not in {
        t.code for t in vocabularies.resource_types()
    }:
        refuse("resource_type", "type de ressource inconnu")
    if not draft.access_url.strip() and for_submission:
        refuse("access_url", "ce champ est obligatoire")
    elif len(draft.access_url) > 500 or (
        for_submission and not draft.access_url.startswith("https://")
    ):
        refuse("access_url", "une adresse https:// de 500 caractères au plus")
    gar_id = draft.gar_resource_id or ""
    if len(gar_id) > 200 or (
        for_submission and draft.channel is Channel.GAR and not ARK.fullmatch(gar_id)
    ):
        refuse("gar_resource_id", "identifiant de la ressource dans le GAR attendu (ark:/12345/…)")
    if not draft.plans and for_submission:
        refuse("plans", "proposez au moins une offre (enseignant, classe ou établissement)")
    kinds = [plan.kind for plan in draft.plans]
    if len(set(kinds)) != len(kinds):
        refuse("plans", "une seule offre de chaque sorte")
    for plan in draft.plans:  # an offer is stored whole or not at all, even in a draft
        where = f"plans.{plan.kind.value}"
        if plan.price_cents <= 0:
            refuse(f"{where}.price", "le prix doit être strictement positif")
        if plan.vat_rate_bp not in VAT_RATES_BP:
            refuse(f"{where}.vat_rate", "taux de TVA inconnu")
        if plan.kind is PlanKind.CLASS and not (plan.max_pupils and 0 < plan.max_pupils <= 200):
            refuse(f"{where}.max_pupils", "indiquez le nombre d'élèves (1 à 200)")
    if for_submission:
        try:
            conduct.Declaration.from_dict(draft.declaration)
        except conduct.InvalidDeclaration as error:
            for path, reason in error.errors:
                refuse(f"declaration.{path}", reason)
    return errors


def _texts(draft: ProductDraft) -> list[tuple[str, str]]:
    """Every text a vendor typed in a draft, by its field path (declaration answers as
    ``declaration.<path>``)."""
    texts = [(name, getattr(draft, name) or "") for name in (*SINGLE_LINE, "description")]

    def walk(path: str, value: object) -> None:
        if isinstance(value, str):
            texts.append((path, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(f"{path}.{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{path}[{index}]", item)

    walk("declaration", draft.declaration)
    return texts


def _check(draft: ProductDraft) -> None:
    """ValidationFailed naming every field a draft cannot hold."""
    errors = _problems(draft, for_submission=False)
    if errors:
        raise ValidationFailed("Certaines informations du produit sont invalides.", details=errors)


def missing_for_submission(version: ProductVersion) -> dict[str, list[str]]:
    """What keeps a draft from being submitted, by field path (empty when nothing):
    required fields left empty, answers missing or invalid in the declaration."""
    return _problems(draft_of(version), for_submission=True)


def normalize_text(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces: the text search works on."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.split())


def _search_text(version: ProductVersion, vendor: Vendor) -> str:
    codes: list[tuple[vocabularies.VocabularyName, str]]
    codes = [("disciplines", c) for c in version.discipline_codes]
    codes += [("levels", c) for c in version.level_codes]
    codes.append(("resource_types", version.resource_type))
    labels = [vocabularies.label_of(vocabulary, code) or code for vocabulary, code in codes]
    parts = [version.title, version.summary, version.description, vendor.legal_name, *labels]
    return normalize_text(" ".join(parts))


def _apply(version: ProductVersion, draft: ProductDraft, vendor: Vendor) -> None:
    version.title = draft.title.strip()
    version.summary = draft.summary.strip()
    version.description = draft.description.strip()
    version.resource_type = draft.resource_type
    version.access_url = draft.access_url.strip()
    version.channel = draft.channel
    gar_id = (draft.gar_resource_id or "").strip()
    version.gar_resource_id = gar_id if draft.channel is Channel.GAR else None
    try:
        version.declaration = conduct.Declaration.from_dict(draft.declaration).to_dict()
    except conduct.InvalidDeclaration:  # a draft still being written: kept as it is
        version.declaration = dict(draft.declaration)
    version.findings = None
    version.disciplines = [VersionDiscipline(code=c) for c in dict.fromkeys(draft.disciplines)]
    version.levels = [VersionLevel(code=c) for c in dict.fromkeys(draft.levels)]
    old = {plan.kind: plan for plan in version.plans}
    version.plans = []
    for plan in draft.plans:
        kept = old.get(plan.kind) or Plan(kind=plan.kind)
        kept.price_cents = plan.price_cents
        kept.vat_rate_bp = plan.vat_rate_bp
        kept.max_pupils = plan.max_pupils if plan.kind is PlanKind.CLASS else None
        version.plans.append(kept)
    version.price_from_cents = min((plan.price_cents for plan in draft.plans), default=None)
    version.search_text = _search_text(version, vendor)


def create_product(actor: User | None, vendor: Vendor, draft: ProductDraft) -> Product:
    if not vendor.may_prepare_products:  # a pending vendor prepares its products
        raise Conflict("Votre compte éditeur est suspendu : vous ne pouvez pas créer de produit.")
    _check(draft)
    product = Product(vendor=vendor)
    version = ProductVersion(number=1, status=VersionStatus.DRAFT)
    product.versions.append(version)
    _apply(version, draft, vendor)
    db.session.add(product)
    db.session.flush()
    audit.record(actor, "product.created", "product", product.id, version=1, title=version.title)
    return product


def update_draft(actor: User, version: ProductVersion, draft: ProductDraft) -> None:
    if not version.editable:
        raise Conflict("Cette version n'est plus modifiable : créez une nouvelle version.")
    _check(draft)
    _apply(version, draft, version.product.vendor)
    db.session.flush()
    audit.record(actor, "version.edited", "product", version.product_id, version=version.number)


def draft_of(version: ProductVersion) -> ProductDraft:
    """What the vendor wrote in a version, to pre-fill a form or copy it."""
    return ProductDraft(
        title=version.title,
        summary=version.summary,
        description=version.description,
        disciplines=version.discipline_codes,
        levels=version.level_codes,
        resource_type=version.resource_type,
        access_url=version.access_url,
        channel=version.channel,
        plans=[
            PlanDraft(p.kind, p.price_cents, p.vat_rate_bp, p.max_pupils) for p in version.plans
        ],
        declaration=dict(version.declaration),
        gar_resource_id=version.gar_resource_id,
    )


@dataclass(frozen=True)
class DeclarationSource:
    """A declaration the vendor wrote for another product, to start a new one from."""

    title: str
    written_on: date  # Paris date of the version's submission, or of its creation
    declaration: dict[str, Any]


def previous_declaration(vendor: Vendor) -> DeclarationSource | None:
    """The declaration of the vendor's most recent version that has one, or None: a new
    product's declaration starts from the vendor's own answers, never from anyone else's."""
    query = (
        select(ProductVersion)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Product.vendor_id == vendor.id)
        .order_by(ProductVersion.id.desc())
        .limit(20)
    )
    for version in db.session.scalars(query):
        declaration = dict(version.declaration or {})
        if any(value not in ([], "", None) for value in declaration.values()):
            moment = version.submitted_at or version.created_at
            return DeclarationSource(version.title, dates.local_date(moment), declaration)
    return None


def new_version(actor: User, product: Product) -> ProductVersion:
    """Start a new draft from the newest version, when that one is closed (approved,
    rejected or superseded). The version on sale stays on sale."""
    latest = product.latest
    if latest.editable:
        return latest
    if latest.status is VersionStatus.IN_REVIEW:
        raise Conflict("Une version est en cours d'examen : attendez la décision de la commission.")
    draft = draft_of(latest)
    version = ProductVersion(number=latest.number + 1, status=VersionStatus.DRAFT)
    version.logo_key = latest.logo_key
    version.screenshots = [
        Screenshot(position=shot.position, key=shot.key, alt_text=shot.alt_text)
        for shot in latest.screenshots
    ]
    with db.session.no_autoflush:  # the new version is saved once it is filled in
        product.versions.append(version)
        _apply(version, draft, product.vendor)
    db.session.flush()
    audit.record(actor, "version.created", "product", product.id, version=version.number)
    return version


@dataclass(frozen=True)
class _ImageRefusals:
    """What a vendor is told when an uploaded image is refused, for one field."""

    field: str
    too_heavy: str
    wrong_format: str
    unreadable: str
    too_large: Callable[[int, int, int], str]  # (width, height, most) -> message


def _pixels(value: int) -> str:
    return str(format_decimal(value))


def _weight(max_bytes: int) -> str:
    """512 Ko, 2 Mo."""
    megabytes, rest = divmod(max_bytes, 1024 * 1024)
    if megabytes and not rest:
        return f"{format_decimal(megabytes)} Mo"
    return f"{format_decimal(max_bytes // 1024)} Ko"


LOGO_REFUSALS = _ImageRefusals(
    field="logo",
    too_heavy="Le logo dépasse {weight}.",
    wrong_format="Le logo doit être une image PNG, JPEG ou WebP.",
    unreadable="Le logo n'est pas une image lisible.",
    too_large=lambda width, height, most: gettext(
        "Le logo est trop grand : %(width)s × %(height)s pixels ; au plus %(most)s × %(most)s.",
        width=_pixels(width),
        height=_pixels(height),
        most=_pixels(most),
    ),
)
SCREENSHOT_REFUSALS = _ImageRefusals(
    field="screenshot",
    too_heavy="La capture d'écran dépasse {weight}.",
    wrong_format="La capture d'écran doit être une image PNG, JPEG ou WebP.",
    unreadable="La capture d'écran n'est pas une image lisible.",
    too_large=lambda width, height, most: gettext(
        "La capture d’écran est trop grande : %(width)s × %(height)s pixels ; "
        "au plus %(most)s × %(most)s.",
        width=_pixels(width),
        height=_pixels(height),
        most=_pixels(most),
    ),
)


def _checked_image(data: bytes, max_bytes: int, max_pixels: int, refusals: _ImageRefusals) -> str:
    """The file extension of an uploaded image (PNG, JPEG or WebP), checked by its weight,
    then the size its header announces (before decoding a pixel: a decompression bomb is
    refused here), then by decoding it. ValidationFailed naming the field otherwise."""
    field = refusals.field
    if len(data) > max_bytes:
        raise ValidationFailed(
            refusals.too_heavy.format(weight=_weight(max_bytes)),
            details={field: ["fichier trop lourd"]},
        )
    try:
        image_format, (width, height) = _announced_image(data)
        if image_format not in LOGO_FORMATS:
            raise ValidationFailed(refusals.wrong_format, details={field: ["format refusé"]})
        if width > max_pixels or height > max_pixels:
            raise ValidationFailed(
                refusals.too_large(width, height, max_pixels),
                details={field: ["image trop grande"]},
            )
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValidationFailed(refusals.unreadable, details={field: ["image illisible"]}) from error
    return LOGO_FORMATS[image_format]


def set_logo(actor: User, version: ProductVersion, data: bytes, max_bytes: int) -> str:
    """Store a logo (PNG, JPEG or WebP, checked by decoding it) on an editable version."""
    if not version.editable:
        raise Conflict("Cette version n'est plus modifiable : créez une nouvelle version.")
    extension = _checked_image(data, max_bytes, LOGO_MAX_PIXELS, LOGO_REFUSALS)
    version.logo_key = storage.save("logos", data, extension)
    audit.record(actor, "version.logo", "product", version.product_id, version=version.number)
    return version.logo_key


def add_screenshot(
    actor: User, version: ProductVersion, data: bytes, alt_text: str, max_bytes: int
) -> Screenshot:
    """Add a screenshot to an editable version, in its first free place (SCREENSHOTS_MAX
    at most), with the text that describes it to those who cannot see it (required).
    The image is checked as a logo is. The version's row is locked while the place is
    chosen, so two uploads at once never take the same one."""
    if not version.editable:
        raise Conflict("Cette version n'est plus modifiable : créez une nouvelle version.")
    db.session.execute(
        select(ProductVersion.id).where(ProductVersion.id == version.id).with_for_update()
    )
    db.session.refresh(version, ["screenshots"])
    errors: dict[str, list[str]] = {}
    alt_text = alt_text.strip()
    if not alt_text:
        errors["alt_text"] = ["décrivez ce que montre la capture (obligatoire)"]
    elif len(alt_text) > ALT_TEXT_MAX:
        errors["alt_text"] = [f"{ALT_TEXT_MAX} caractères au plus"]
    elif CONTROL.search(alt_text):
        errors["alt_text"] = ["caractère de contrôle invisible interdit"]
    if len(version.screenshots) >= SCREENSHOTS_MAX:
        raise ValidationFailed(
            f"Une version montre {SCREENSHOTS_MAX} captures d'écran au plus : "
            "supprimez-en une avant d'en ajouter une autre.",
            details={"screenshot": [f"{SCREENSHOTS_MAX} captures au plus"], **errors},
        )
    if not data:
        errors["screenshot"] = ["choisissez un fichier"]
    if errors:
        raise ValidationFailed("La capture d'écran n'a pas été ajoutée.", details=errors)
    extension = _checked_image(data, max_bytes, SCREENSHOT_MAX_PIXELS, SCREENSHOT_REFUSALS)
    taken = {shot.position for shot in version.screenshots}
    position = min(set(range(1, SCREENSHOTS_MAX + 1)) - taken)
    shot = Screenshot(
        position=position, key=storage.save("screenshots", data, extension), alt_text=alt_text
    )
    version.screenshots.append(shot)
    db.session.flush()
    audit.record(
        actor, "version.screenshot_added", "product", version.product_id, version=version.number
    )
    return shot


def remove_screenshot(actor: User, version: ProductVersion, screenshot_id: int) -> None:
    """Remove a screenshot of an editable version (the stored file stays: an older
    version may show the same one)."""
    if not version.editable:
        raise Conflict("Cette version n'est plus modifiable : créez une nouvelle version.")
    shot = next((s for s in version.screenshots if s.id == screenshot_id), None)
    if shot is None:
        raise NotFound("Capture d'écran introuvable.")
    version.screenshots.remove(shot)
    db.session.flush()
    audit.record(
        actor, "version.screenshot_removed", "product", version.product_id, version=version.number
    )


def _announced_image(data: bytes) -> tuple[str, tuple[int, int]]:
    """The format and the size in pixels an image file announces, read from its header
    only. `Image.open` would refuse a small file announcing a gigantic image (a
    decompression bomb) with an error that does not say its size; here it is measured,
    so the vendor is told. UnidentifiedImageError when no format recognises the file."""
    Image.init()
    for image_format in Image.ID:
        factory, accept = Image.OPEN[image_format]
        if accept is None or accept(data[:16]) is True:
            try:
                with factory(io.BytesIO(data), "") as header:
                    return image_format, header.size
            except (SyntaxError, OSError, ValueError):
                continue
    raise UnidentifiedImageError("image illisible")


def vendor_products(vendor: Vendor) -> list[Product]:
    query = (
        select(Product)
        .where(Product.vendor_id == vendor.id)
        .options(selectinload(Product.versions))
        .order_by(Product.id.desc())
    )
    return list(db.session.scalars(query))


def vendor_product(vendor_id: int, product_id: int) -> Product:
    """A product of this vendor; NotFound for another vendor's product (no hint it exists)."""
    product = db.session.get(Product, product_id)
    if product is None or product.vendor_id != vendor_id:
        raise NotFound("Produit introuvable.")
    return product


def get_version(version_id: int) -> ProductVersion:
    version = db.session.get(ProductVersion, version_id)
    if version is None:
        raise NotFound("Version introuvable.")
    return version


def company_of(vendor: Vendor) -> conduct.Company:
    return conduct.Company(legal_name=vendor.legal_name, parent_company=vendor.parent_company)


# --- the storefront -------------------------------------------------------------------------


def today() -> date:
    return dates.today()


def purchasable(on: date | ColumnElement[date] | None = None) -> ColumnElement[bool]:
    """The rule for a version to be on sale: listed (approved), label valid on `on`
    (today by default; or a bound parameter, in a statement built once), vendor active.
    Needs Product and Vendor joined.

    The storefront's search reads the same rule from `product_search`
    (:func:`purchasable_row`), whose rows are the listed versions."""
    return and_(
        ProductVersion.listed,
        ProductVersion.label_expires_on >= (today() if on is None else on),
        Vendor.status == VendorStatus.ACTIVE,
    )


def purchasable_row(on: date | None = None) -> ColumnElement[bool]:
    """:func:`purchasable` for a `product_search` row (a listed version, by construction):
    label valid on `on` (today by default), vendor active. Needs Vendor joined. The dates
    are compared at search time, so a label ending needs no update of the row."""
    return and_(
        ProductSearch.label_expires_on >= (on or today()),
        Vendor.status == VendorStatus.ACTIVE,
    )


def _codes_of(table: type[VersionDiscipline] | type[VersionLevel]) -> Any:
    """The version's codes between spaces, " a b c ", for `LIKE '% b %'`."""
    codes = (
        select(func.coalesce(func.aggregate_strings(table.code, " "), ""))
        .where(table.version_id == ProductVersion.id)
        .scalar_subquery()
    )
    return literal(" ") + codes + literal(" ")


def _price_of(kind: PlanKind) -> Any:
    return (
        select(Plan.price_cents)
        .where(Plan.version_id == ProductVersion.id, Plan.kind == kind)
        .scalar_subquery()
    )


def refresh_product_search(
    connection: Connection | Session, version_ids: Collection[int] | None = None
) -> None:
    """Make the `product_search` rows of these versions (all when None) again from
    `product_version`: a row for each one listed, none for the others. Two statements."""
    removed = delete(ProductSearch)
    source = (
        select(
            ProductVersion.id,
            ProductVersion.product_id,
            Product.vendor_id,
            ProductVersion.label_expires_on,
            ProductVersion.created_at,
            ProductVersion.title,
            ProductVersion.summary,
            ProductVersion.logo_key,
            ProductVersion.resource_type,
            ProductVersion.price_from_cents,
            *(_price_of(kind) for kind in PlanKind),
            _codes_of(VersionDiscipline),
            _codes_of(VersionLevel),
            ProductVersion.search_vector,
        )
        .join(Product, Product.id == ProductVersion.product_id)
        .where(ProductVersion.listed)
    )
    if version_ids is not None:
        removed = removed.where(ProductSearch.version_id.in_(version_ids))
        source = source.where(ProductVersion.id.in_(version_ids))
    columns = [
        "version_id",
        "product_id",
        "vendor_id",
        "label_expires_on",
        "created_at",
        "title",
        "summary",
        "logo_key",
        "resource_type",
        "price_from_cents",
        *(f"{kind.value}_cents" for kind in PlanKind),
        "disciplines",
        "levels",
        "search_vector",
    ]
    connection.execute(removed)
    connection.execute(insert(ProductSearch).from_select(columns, source))


@event.listens_for(Session, "after_flush")
def _keep_product_search(session: Session, _flush: UOWTransaction) -> None:
    """A flush that writes a version listed now or until now refreshes its search row:
    listed, withdrawn, superseded, its label's end date or anything a card shows changed."""
    changed = [
        version.id
        for version in (*session.new, *session.dirty)
        if isinstance(version, ProductVersion)
        and (version.listed or True in inspect(version).attrs.listed.history.deleted)
        and session.is_modified(version)
    ]
    if changed:
        refresh_product_search(session.connection(), changed)


def is_purchasable(version: ProductVersion, on: date | None = None) -> bool:
    return (
        version.listed
        and version.label_expires_on is not None
        and version.label_expires_on >= (on or today())
        and version.product.vendor.status is VendorStatus.ACTIVE
    )


SORTS = ("pertinence", "prix", "recent")
PAGE_SIZE = 20
COUNT_CAP = 1000


@dataclass(frozen=True)
class StorefrontQuery:
    text: str = ""
    disciplines: Sequence[str] = ()
    levels: Sequence[str] = ()
    resource_types: Sequence[str] = ()
    plan_kinds: Sequence[PlanKind] = ()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    sort: str = "pertinence"
    page: int = 1


@dataclass(frozen=True)
class Card:
    """What a storefront card shows of a version on sale (read from `product_search`)."""

    product_id: int
    title: str
    summary: str
    logo_key: str | None
    price_from_cents: int | None
    discipline_codes: list[str]
    level_codes: list[str]


@dataclass
class StorefrontPage:
    results: list[tuple[Card, str]]  # (version on sale, vendor name)
    total: int
    page: int
    pages: int
    query: StorefrontQuery = field(default_factory=StorefrontQuery)
    capped: bool = False  # more than COUNT_CAP matches: `total` is the cap


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word[-1] in "sx" else word


def _tsquery(words: list[str]) -> str:
    """Every word must match, in its form or its singular: the French stemmer leaves
    "jeux" and "jeu" apart. Words are already letters and digits only (normalize_text)."""
    terms = [word if _singular(word) == word else f"({word} | {_singular(word)})" for word in words]
    return " & ".join(terms)


def search(query: StorefrontQuery) -> StorefrontPage:
    """The purchasable products matching the query, one page of them: two statements,
    the matches counted (COUNT_CAP + 1 at most) and the page (not when none matches).

    It reads `product_search`, one narrow row per listed version (:func:`purchasable_row`).
    PostgreSQL: French full-text search (accents ignored, words stemmed) over its
    ``search_vector`` GIN index, ranked. SQLite: every word (accents removed, plural
    trimmed) must appear in the version's searchable text; no ranking, newest first."""
    found = ProductSearch
    postgres = is_postgres(db.session)
    base = select(found.version_id).join(Vendor, Vendor.id == found.vendor_id)
    base = base.where(purchasable_row())
    rank: ColumnElement[Any] | None = None
    words = normalize_text(query.text).split()
    if words and postgres:
        tsquery = func.to_tsquery(literal_column("'french_unaccent'::regconfig"), _tsquery(words))
        base = base.where(found.search_vector.op("@@")(tsquery))
        rank = func.ts_rank_cd(found.search_vector, tsquery)
    elif words:  # the embedded database: its catalogue is small
        base = base.join(ProductVersion, ProductVersion.id == found.version_id)
        for word in words:
            base = base.where(ProductVersion.search_text.contains(_singular(word), autoescape=True))
    for column, codes in ((found.disciplines, query.disciplines), (found.levels, query.levels)):
        if codes:  # one of them among the row's codes (" a b c ")
            base = base.where(or_(*(column.contains(f" {c} ", autoescape=True) for c in codes)))
    if query.resource_types:
        base = base.where(found.resource_type.in_(query.resource_types))
    if query.plan_kinds or query.price_min_cents is not None or query.price_max_cents is not None:
        # A plan of a kind asked (any kind when none is) within the price range: each
        # kind's price is a column of the row, with its own index.
        offers: list[ColumnElement[bool]] = []
        for kind in query.plan_kinds or list(PlanKind):
            price = found.price_of(kind)
            within = [price.is_not(None)]
            if query.price_min_cents is not None:
                within.append(price >= query.price_min_cents)
            if query.price_max_cents is not None:
                within.append(price <= query.price_max_cents)
            offers.append(and_(*within))
        base = base.where(or_(*offers))

    # Counting and ranking every match of a common word ("mathematiques" can match a
    # quarter of the catalogue) would cost more than a page is worth: past COUNT_CAP
    # matches the page says "more than 1,000" and shows the newest first, unranked.
    matches = base.limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(matches)) or 0
    capped = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, query.page), pages)
    newest = (found.created_at.desc(), found.version_id.desc())
    order: tuple[Any, ...]
    if query.sort == "prix":
        order = (found.price_from_cents, *newest)
    elif query.sort == "recent" or rank is None or capped:
        order = newest
    else:
        order = (rank.desc(), *newest)
    card = base.with_only_columns(
        found.product_id,
        found.title,
        found.summary,
        found.logo_key,
        found.price_from_cents,
        found.disciplines,
        found.levels,
        Vendor.legal_name,
    )
    page_of = card.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    rows = db.session.execute(page_of).all() if total else []
    results = [
        (
            Card(
                product_id=row.product_id,
                title=row.title,
                summary=row.summary,
                logo_key=row.logo_key,
                price_from_cents=row.price_from_cents,
                discipline_codes=row.disciplines.split(),
                level_codes=row.levels.split(),
            ),
            row.legal_name,
        )
        for row in rows
    ]
    return StorefrontPage(
        results=results, total=total, page=page, pages=pages, query=query, capped=capped
    )


@dataclass(frozen=True)
class Terms:
    """A version's disciplines, levels and resource type, as teachers read them, in the
    vocabularies' order."""

    disciplines: list[str]
    levels: list[str]
    resource_type: str


def terms_of(version: ProductVersion) -> Terms:
    def labels(
        terms: Sequence[vocabularies.Discipline | vocabularies.Level], codes: list[str]
    ) -> list[str]:
        chosen = set(codes)
        return [term.label for term in terms if term.code in chosen]

    return Terms(
        disciplines=labels(vocabularies.disciplines(), version.discipline_codes),
        levels=labels(vocabularies.levels(), version.level_codes),
        resource_type=vocabularies.label_of("resource_types", version.resource_type)
        or version.resource_type,
    )


def storefront_product(product_id: int) -> ProductVersion:
    """The version of a product on sale; NotFound when the product is not purchasable."""
    query = (
        select(ProductVersion)
        .join(Product, Product.id == ProductVersion.product_id)
        .join(Vendor, Vendor.id == Product.vendor_id)
        .where(Product.id == product_id, purchasable())
        .options(contains_eager(ProductVersion.product).contains_eager(Product.vendor))
    )
    version = db.session.scalar(query)
    if version is None:
        raise NotFound("Cette ressource n'est pas (ou plus) proposée au catalogue.")
    return version


# --- search that helps: suggestions as one types, "did you mean" ----------------------------

SUGGESTIONS_MAX = 8
SUGGESTION_CANDIDATES = 200  # versions read to pick the titles and vendors suggested
FEW_RESULTS = 2  # a search finding this many or fewer may be offered a correction
WORD_MIN = 3  # shorter words are neither suggested from nor corrected
WORD_MAX = 60  # search_word.word


@dataclass(frozen=True)
class Suggestion:
    label: str
    kind: str  # "title", "discipline" or "vendor"


def _query_words(text: str) -> list[str]:
    """The words of what someone typed as the search reads them: no control character,
    accents removed, lower case, singular, each once; 100 characters read at most."""
    words = normalize_text(CONTROL.sub(" ", text[:100])).split()
    return list(dict.fromkeys(_singular(word) for word in words))


def _on_sale() -> Any:
    """The ids of the versions on sale, from the narrow search table."""
    return (
        select(ProductSearch.version_id.label("id"))
        .join(Vendor, Vendor.id == ProductSearch.vendor_id)
        .where(purchasable_row())
    )


def suggestions(text: str) -> list[Suggestion]:
    """What to offer someone typing `text` in the catalogue's search: disciplines, titles
    and vendors of the products on sale holding every word typed (accents, case and
    plurals ignored, the last word possibly unfinished), SUGGESTIONS_MAX at most.

    Two queries at most: the disciplines on sale among those whose name matches (from the
    vocabulary, no query when none does), and up to SUGGESTION_CANDIDATES versions on sale
    whose searchable text holds the words (a trigram index on PostgreSQL) to pick titles
    and vendor names from."""
    words = _query_words(text)
    if len("".join(words)) < 2:
        return []

    def matches(label: str) -> bool:
        normalized = normalize_text(label)
        return all(word in normalized for word in words)

    disciplines = {d.code: d.label for d in vocabularies.disciplines() if matches(d.label)}
    if disciplines:
        in_use = set(
            db.session.scalars(
                select(VersionDiscipline.code)
                .distinct()
                .where(
                    VersionDiscipline.code.in_(disciplines),
                    VersionDiscipline.version_id.in_(_on_sale()),
                )
            )
        )
        disciplines = {code: label for code, label in disciplines.items() if code in in_use}
    titles: dict[str, None] = {}
    vendors: dict[str, None] = {}
    long_words = [word for word in words if len(word) >= WORD_MIN]
    if long_words:  # a trigram index cannot help with one or two letters
        query = (
            select(ProductVersion.title, Vendor.legal_name)
            .join(Product, Product.id == ProductVersion.product_id)
            .join(Vendor, Vendor.id == Product.vendor_id)
            .where(purchasable())
            .limit(SUGGESTION_CANDIDATES)
        )
        for word in long_words:
            query = query.where(ProductVersion.search_text.contains(word, autoescape=True))
        for title, vendor_name in db.session.execute(query):
            if matches(title):
                titles[title] = None
            if matches(vendor_name):
                vendors[vendor_name] = None
    start = " ".join(words)

    def ordered(labels: Any) -> list[str]:  # those starting with the words first
        return sorted(
            labels, key=lambda label: (not normalize_text(label).startswith(start), label)
        )

    found = [Suggestion(label, "discipline") for label in ordered(disciplines.values())][:2]
    chosen_vendors = [Suggestion(label, "vendor") for label in ordered(vendors)][:2]
    room = SUGGESTIONS_MAX - len(found) - len(chosen_vendors)
    found += [Suggestion(label, "title") for label in ordered(titles)][:room]
    return (found + chosen_vendors)[:SUGGESTIONS_MAX]


def _display_words(text: str) -> list[str]:
    """The words of a text as written (lower case, accents kept)."""
    return "".join(c if c.isalnum() else " " for c in text.casefold()).split()


def _vocabulary_of(
    titles: Sequence[str], vendor_names: Sequence[str], codes: Any
) -> dict[str, str]:
    """word (as the search reads it) -> label (as written), for search_word."""
    labels = [*titles, *vendor_names]
    for vocabulary, code in codes:
        labels.append(vocabularies.label_of(vocabulary, code) or "")
    words: dict[str, str] = {}
    for label in labels:
        for written in _display_words(label):
            word = _singular(normalize_text(written))
            if WORD_MIN <= len(word) <= WORD_MAX and not word.isdigit():
                words.setdefault(word, written[:WORD_MAX])
    return words


def _store_words(words: dict[str, str]) -> None:
    if not words:
        return
    statement = insert_or_ignore(db.session, SearchWord).on_conflict_do_nothing()
    db.session.execute(statement, [{"word": w, "label": label} for w, label in words.items()])


def add_words_of(version: ProductVersion) -> None:
    """Add to the vocabulary the words of a version going on sale (its title, its vendor's
    name, its disciplines and levels)."""
    codes: list[tuple[vocabularies.VocabularyName, str]]
    codes = [("disciplines", c) for c in version.discipline_codes]
    codes += [("levels", c) for c in version.level_codes]
    _store_words(_vocabulary_of([version.title], [version.product.vendor.legal_name], codes))


def rebuild_vocabulary() -> int:
    """The vocabulary made again from the products on sale today: the words of products
    withdrawn, of labels expired, of vendors suspended or renamed go. Returns its size.

    The old words are deleted before the products on sale are read, so a version going on
    sale meanwhile keeps its words (its insert waits for this transaction)."""
    db.session.execute(delete(SearchWord))
    on_sale = _on_sale().subquery()
    titles = db.session.execute(
        select(ProductVersion.title, Vendor.legal_name)
        .join(Product, Product.id == ProductVersion.product_id)
        .join(Vendor, Vendor.id == Product.vendor_id)
        .where(ProductVersion.id.in_(select(on_sale.c.id)))
    ).all()
    codes: list[tuple[vocabularies.VocabularyName, str]] = []
    for table in (VersionDiscipline, VersionLevel):
        vocabulary: vocabularies.VocabularyName = (
            "disciplines" if table is VersionDiscipline else "levels"
        )
        used = select(table.code).distinct().where(table.version_id.in_(select(on_sale.c.id)))
        codes += [(vocabulary, code) for code in db.session.scalars(used)]
    words = _vocabulary_of([t for t, _ in titles], sorted({v for _, v in titles}), codes)
    _store_words(words)
    db.session.flush()
    return len(words)


@schedule.task("products.vocabulary", "50 3 * * *", _l("Vocabulaire de la recherche"))
def rebuild_vocabulary_tonight() -> None:
    rebuild_vocabulary()


def _nearest_word(word: str) -> SearchWord | None:
    """The word of the vocabulary nearest a word not in it, or None when none is near:
    trigram similarity on PostgreSQL (its `%` operator, through the trigram index), difflib's
    ratio on SQLite (the whole vocabulary read: the embedded database's catalogue is small)."""
    if is_postgres(db.session):
        query = (
            select(SearchWord)
            .where(SearchWord.word.op("%")(word))
            .order_by(func.similarity(SearchWord.word, word).desc(), SearchWord.word)
            .limit(1)
        )
        return db.session.scalar(query)
    vocabulary = {row.word: row for row in db.session.scalars(select(SearchWord))}
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.75)
    return vocabulary[close[0]] if close else None


def did_you_mean(page: StorefrontPage) -> str | None:
    """A correction of the words of a search that found nothing or few (FEW_RESULTS), e.g.
    "matematiques" → "mathématiques": each word missing from the vocabulary replaced by the
    nearest one, when the corrected search, with the same filters, finds more. None
    otherwise. Queries: one for the words known, one a misspelt word, and the corrected
    search (count and page)."""
    if page.total > FEW_RESULTS or page.capped:
        return None
    written = _display_words(CONTROL.sub(" ", page.query.text[:200]))
    if not written or len(written) > 8:
        return None
    known = set(
        db.session.scalars(
            select(SearchWord.word).where(
                SearchWord.word.in_({_singular(normalize_text(w)) for w in written})
            )
        )
    )
    corrected: list[str] = []
    for word in written:
        key = _singular(normalize_text(word))
        nearest = None
        if len(key) >= WORD_MIN and key not in known and not key.isdigit():
            nearest = _nearest_word(key)
        corrected.append(nearest.label if nearest else word)
    if corrected == written:
        return None
    text = " ".join(corrected)
    better = search(replace(page.query, text=text, page=1))
    return text if better.total > page.total else None
