"""The demo catalogue: invented EdTech vendors and their products, loaded from
``catalog/data/demo_catalogue.json``. The seed command turns it into database rows.

The file is checked when it is loaded: vocabulary codes exist, every product's vendor is
known, SIRET and VAT numbers are valid and belong together, licence plans are well formed.
A broken file raises :class:`DemoCatalogueError` (a :class:`ValueError`) naming the item.

Declarations are kept as the plain JSON-like dicts of the file (without ``company``, which
the application adds from the vendor), ready for :meth:`catalog.conduct.Declaration.from_dict`.
The loader is cached and shares them: copy a declaration before changing it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Literal, cast, get_args
from urllib.parse import urlsplit

from catalog.datafiles import VocabularyError, read_json
from catalog.identifiers import (
    InvalidIdentifier,
    validate_siret,
    validate_vat,
    vat_matches_siren,
)
from catalog.vocabularies import disciplines, levels, resource_types

__all__ = [
    "CHANNELS",
    "PLAN_KINDS",
    "PRODUCT_STATES",
    "VAT_RATES",
    "Channel",
    "DemoAddress",
    "DemoCatalogue",
    "DemoCatalogueError",
    "DemoContact",
    "DemoPlan",
    "DemoProduct",
    "DemoVendor",
    "PlanKind",
    "ProductState",
    "demo_catalogue",
    "parse_demo_catalogue",
]

FILENAME = "demo_catalogue.json"

Channel = Literal["codes", "webhook", "gar"]
PlanKind = Literal["teacher", "class", "school"]
ProductState = Literal["draft", "in_review", "changes_requested", "approved", "rejected", "blocked"]

CHANNELS: tuple[Channel, ...] = get_args(Channel)
"""The provisioning channels of a product."""

PLAN_KINDS: tuple[PlanKind, ...] = get_args(PlanKind)
"""The kinds of licence plan, in display order."""

PRODUCT_STATES: tuple[ProductState, ...] = get_args(ProductState)
"""The states a demo product is seeded in (the state of its latest version)."""

VAT_RATES: frozenset[Decimal] = frozenset(Decimal(rate) for rate in ("20.0", "10.0", "5.5", "2.1"))
"""The French VAT rates, in percent."""

_REVIEWED_STATES: frozenset[ProductState] = frozenset({"changes_requested", "rejected"})
_SUMMARY_MAX = 200


class DemoCatalogueError(ValueError):
    """The demo catalogue file is missing, malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class DemoAddress:
    """A postal address in France."""

    street: str
    postcode: str
    city: str


@dataclass(frozen=True, slots=True)
class DemoContact:
    """The vendor's contact person."""

    name: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class DemoVendor:
    """An invented French EdTech company. ``key`` identifies it in the file."""

    key: str
    legal_name: str
    siret: str
    vat_number: str
    address: DemoAddress
    country: str
    parent_company: str
    contact: DemoContact
    provisioning_url: str | None
    """The HTTPS endpoint called by the ``webhook`` channel, or ``None``."""

    @property
    def siren(self) -> str:
        """The 9 first digits of the SIRET."""
        return self.siret[:9]


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """A licence plan: price in euro cents including VAT, VAT rate in percent."""

    kind: PlanKind
    price_cents: int
    vat_rate: Decimal
    max_pupils: int | None = None
    """The number of pupils of a ``class`` plan; ``None`` for the other kinds."""


@dataclass(frozen=True, slots=True)
class DemoProduct:
    """A product of a demo vendor, in the state of its latest version.

    ``vendor`` is the vendor's key. ``review_comment`` is the commission's comment of a
    ``changes_requested`` or ``rejected`` product. ``label_expires_in_days`` is set only for
    some ``approved`` products (negative: the label has already expired); ``None`` means the
    default label duration.
    """

    key: str
    vendor: str
    title: str
    summary: str
    description: str
    disciplines: tuple[str, ...]
    levels: tuple[str, ...]
    resource_type: str
    access_url: str
    channel: Channel
    plans: tuple[DemoPlan, ...]
    state: ProductState
    declaration: Mapping[str, object]
    review_comment: str | None = None
    label_expires_in_days: int | None = None

    def plan(self, kind: PlanKind) -> DemoPlan | None:
        """The plan of this kind, or ``None``."""
        return next((p for p in self.plans if p.kind == kind), None)


@dataclass(frozen=True, slots=True)
class DemoCatalogue:
    """The vendors and products of the demo, in file order."""

    vendors: tuple[DemoVendor, ...]
    products: tuple[DemoProduct, ...]

    def vendor(self, key: str) -> DemoVendor:
        """The vendor with this key; :class:`KeyError` when unknown."""
        for vendor in self.vendors:
            if vendor.key == key:
                return vendor
        raise KeyError(key)

    def products_of(self, vendor_key: str) -> tuple[DemoProduct, ...]:
        """The products of one vendor, in file order."""
        return tuple(p for p in self.products if p.vendor == vendor_key)


# --- reading -------------------------------------------------------------------------------


def _fail(where: str, message: str) -> DemoCatalogueError:
    return DemoCatalogueError(f"{FILENAME}: {where}: {message}")


def _object(where: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _fail(where, "expected a JSON object")
    return cast(Mapping[str, object], value)


def _objects(where: str, value: object) -> list[Mapping[str, object]]:
    if not isinstance(value, list) or not value:
        raise _fail(where, "expected a non-empty JSON list")
    return [_object(f"{where}[{i}]", item) for i, item in enumerate(value)]


def _check_keys(
    where: str,
    item: Mapping[str, object],
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> None:
    missing = [key for key in required if key not in item]
    if missing:
        raise _fail(where, f"missing field(s): {', '.join(missing)}")
    unknown = sorted(set(item) - set(required) - set(optional))
    if unknown:
        raise _fail(where, f"unknown field(s): {', '.join(unknown)}")


def _str(where: str, item: Mapping[str, object], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise _fail(where, f"{key!r} must be a non-empty string without surrounding spaces")
    return value


def _int(where: str, item: Mapping[str, object], key: str, *, positive: bool = True) -> int:
    value = item.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or (positive and value <= 0):
        kind = "a positive integer" if positive else "an integer"
        raise _fail(where, f"{key!r} must be {kind}, not {value!r}")
    return value


def _choice(where: str, item: Mapping[str, object], key: str, choices: Sequence[str]) -> str:
    value = item.get(key)
    if not isinstance(value, str) or value not in choices:
        raise _fail(where, f"{key!r} is {value!r}, expected one of: {', '.join(choices)}")
    return value


def _https_url(where: str, key: str, value: str) -> str:
    try:
        parts = urlsplit(value)
        valid = parts.scheme == "https" and bool(parts.hostname) and " " not in value
    except ValueError:
        valid = False
    if not valid:
        raise _fail(where, f"{key!r} must be an https:// address, not {value!r}")
    return value


def _email(where: str, key: str, value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain and "@" not in domain and " " not in value):
        raise _fail(where, f"{key!r} is not an e-mail address: {value!r}")
    return value


def _codes(
    where: str, item: Mapping[str, object], key: str, known: Sequence[str]
) -> tuple[str, ...]:
    value = item.get(key)
    if not isinstance(value, list) or not value:
        raise _fail(where, f"{key!r} must be a non-empty list of codes")
    for code in value:
        if not isinstance(code, str) or code not in known:
            raise _fail(where, f"{key!r}: unknown code {code!r}")
    duplicates = sorted(code for code, count in Counter(value).items() if count > 1)
    if duplicates:
        raise _fail(where, f"{key!r}: duplicate codes: {', '.join(duplicates)}")
    return tuple(value)


def _check_unique(what: str, values: Sequence[str]) -> None:
    duplicates = sorted(value for value, count in Counter(values).items() if count > 1)
    if duplicates:
        raise DemoCatalogueError(f"{FILENAME}: duplicate {what}: {', '.join(duplicates)}")


# --- vendors -------------------------------------------------------------------------------

_VENDOR_FIELDS = (
    "key",
    "legal_name",
    "siret",
    "vat_number",
    "address",
    "country",
    "parent_company",
    "contact",
    "provisioning_url",
)


def _is_slug(value: str) -> bool:
    return (
        value.isascii()
        and value[:1].isalpha()
        and value == value.lower()
        and all(c.isalnum() or c == "-" for c in value)
    )


def _where(kind: str, index: int, item: Mapping[str, object]) -> str:
    """``vendor 'lumiere'``, or ``vendors[3]`` when the item has no usable key."""
    key = item.get("key")
    if isinstance(key, str) and key.strip():
        return f"{kind} {key!r}"
    return f"{kind}s[{index}]"


def _key(where: str, item: Mapping[str, object]) -> str:
    key = _str(where, item, "key")
    if not _is_slug(key):
        raise _fail(where, f"key {key!r} must be lower-case ASCII letters, digits and dashes")
    return key


def _vendor(index: int, item: Mapping[str, object]) -> DemoVendor:
    where = _where("vendor", index, item)
    _check_keys(where, item, _VENDOR_FIELDS)
    key = _key(where, item)

    siret = _str(where, item, "siret")
    vat_number = _str(where, item, "vat_number")
    try:
        if validate_siret(siret) != siret:
            raise _fail(where, f"SIRET {siret!r} must be written as 14 digits")
        if validate_vat(vat_number) != vat_number:
            raise _fail(where, f"VAT number {vat_number!r} must be written FR + key + SIREN")
    except InvalidIdentifier as exc:
        raise _fail(where, str(exc)) from exc
    if not vat_matches_siren(vat_number, siret[:9]):
        raise _fail(where, f"VAT number {vat_number} does not belong to SIREN {siret[:9]}")

    country = _str(where, item, "country")
    if country != "FR":
        raise _fail(where, f"country must be 'FR' (French vendors only), not {country!r}")

    raw_address = _object(f"{where}: address", item["address"])
    _check_keys(f"{where}: address", raw_address, ("street", "postcode", "city"))
    postcode = _str(f"{where}: address", raw_address, "postcode")
    if len(postcode) != 5 or not (postcode.isascii() and postcode.isdigit()):
        raise _fail(where, f"postcode {postcode!r} must be 5 digits")
    address = DemoAddress(
        street=_str(f"{where}: address", raw_address, "street"),
        postcode=postcode,
        city=_str(f"{where}: address", raw_address, "city"),
    )

    raw_contact = _object(f"{where}: contact", item["contact"])
    _check_keys(f"{where}: contact", raw_contact, ("name", "email", "phone"))
    contact = DemoContact(
        name=_str(f"{where}: contact", raw_contact, "name"),
        email=_email(where, "contact.email", _str(f"{where}: contact", raw_contact, "email")),
        phone=_str(f"{where}: contact", raw_contact, "phone"),
    )

    provisioning_url: str | None = None
    if item["provisioning_url"] is not None:
        provisioning_url = _https_url(
            where, "provisioning_url", _str(where, item, "provisioning_url")
        )

    return DemoVendor(
        key=key,
        legal_name=_str(where, item, "legal_name"),
        siret=siret,
        vat_number=vat_number,
        address=address,
        country=country,
        parent_company=_str(where, item, "parent_company"),
        contact=contact,
        provisioning_url=provisioning_url,
    )


# --- products ------------------------------------------------------------------------------

_PRODUCT_FIELDS = (
    "key",
    "vendor",
    "title",
    "summary",
    "description",
    "disciplines",
    "levels",
    "resource_type",
    "access_url",
    "channel",
    "plans",
    "state",
    "declaration",
)
_PRODUCT_OPTIONAL_FIELDS = ("review_comment", "label_expires_in_days")


def _vat_rate(where: str, item: Mapping[str, object]) -> Decimal:
    value = item.get("vat_rate")
    rate: Decimal | None = None
    if isinstance(value, str):
        try:
            rate = Decimal(value)
        except InvalidOperation:
            rate = None
    if rate is None or not rate.is_finite() or rate not in VAT_RATES:
        rates = ", ".join(f'"{r}"' for r in sorted(VAT_RATES, reverse=True))
        raise _fail(where, f"'vat_rate' is {value!r}, expected one of: {rates}")
    return rate


def _plan(where: str, item: Mapping[str, object]) -> DemoPlan:
    kind = cast(PlanKind, _choice(where, item, "kind", PLAN_KINDS))
    where = f"{where} ({kind})"
    if kind == "class":
        _check_keys(where, item, ("kind", "price_cents", "vat_rate", "max_pupils"))
        max_pupils: int | None = _int(where, item, "max_pupils")
    else:
        _check_keys(where, item, ("kind", "price_cents", "vat_rate"))
        max_pupils = None
    return DemoPlan(
        kind=kind,
        price_cents=_int(where, item, "price_cents"),
        vat_rate=_vat_rate(where, item),
        max_pupils=max_pupils,
    )


def _plans(where: str, value: object) -> tuple[DemoPlan, ...]:
    items = _objects(f"{where}: plans", value)
    plans = tuple(_plan(f"{where}: plans[{i}]", item) for i, item in enumerate(items))
    kinds = [plan.kind for plan in plans]
    duplicates = sorted(kind for kind, count in Counter(kinds).items() if count > 1)
    if duplicates:
        raise _fail(where, f"one plan per kind at most; duplicate: {', '.join(duplicates)}")
    return tuple(sorted(plans, key=lambda plan: PLAN_KINDS.index(plan.kind)))


def _product(
    index: int,
    item: Mapping[str, object],
    vendors: Mapping[str, DemoVendor],
    vocabularies: Mapping[str, Sequence[str]],
) -> DemoProduct:
    where = _where("product", index, item)
    _check_keys(where, item, _PRODUCT_FIELDS, _PRODUCT_OPTIONAL_FIELDS)
    key = _key(where, item)

    vendor_key = _str(where, item, "vendor")
    vendor = vendors.get(vendor_key)
    if vendor is None:
        raise _fail(where, f"unknown vendor {vendor_key!r}")

    summary = _str(where, item, "summary")
    if len(summary) > _SUMMARY_MAX:
        raise _fail(where, f"the summary has {len(summary)} characters (at most {_SUMMARY_MAX})")

    channel = cast(Channel, _choice(where, item, "channel", CHANNELS))
    if channel == "webhook" and vendor.provisioning_url is None:
        raise _fail(where, f"channel 'webhook' needs a provisioning_url on vendor {vendor.key!r}")

    state = cast(ProductState, _choice(where, item, "state", PRODUCT_STATES))
    review_comment: str | None = None
    if state in _REVIEWED_STATES:
        if "review_comment" not in item:
            raise _fail(where, f"a {state} product needs a 'review_comment'")
        review_comment = _str(where, item, "review_comment")
    elif "review_comment" in item:
        raise _fail(where, f"'review_comment' is only for {' and '.join(sorted(_REVIEWED_STATES))}")
    label_expires_in_days: int | None = None
    if "label_expires_in_days" in item:
        if state != "approved":
            raise _fail(where, "'label_expires_in_days' is only for approved products")
        label_expires_in_days = _int(where, item, "label_expires_in_days", positive=False)

    declaration = _object(f"{where}: declaration", item["declaration"])
    if "company" in declaration:
        raise _fail(where, "the declaration must not hold 'company' (the vendor gives it)")

    return DemoProduct(
        key=key,
        vendor=vendor_key,
        title=_str(where, item, "title"),
        summary=summary,
        description=_str(where, item, "description"),
        disciplines=_codes(where, item, "disciplines", vocabularies["disciplines"]),
        levels=_codes(where, item, "levels", vocabularies["levels"]),
        resource_type=_choice(where, item, "resource_type", vocabularies["resource_types"]),
        access_url=_https_url(where, "access_url", _str(where, item, "access_url")),
        channel=channel,
        plans=_plans(where, item["plans"]),
        state=state,
        declaration=declaration,
        review_comment=review_comment,
        label_expires_in_days=label_expires_in_days,
    )


# --- loading -------------------------------------------------------------------------------


def parse_demo_catalogue(data: object) -> DemoCatalogue:
    """Check the JSON form of the demo catalogue (``{"vendors": […], "products": […]}``) and
    build it; raise :class:`DemoCatalogueError` naming the item in error.
    """
    root = _object("top level", data)
    _check_keys("top level", root, ("vendors", "products"))
    vendors = tuple(_vendor(i, item) for i, item in enumerate(_objects("vendors", root["vendors"])))
    _check_unique("vendor keys", [v.key for v in vendors])
    _check_unique("vendor legal names", [v.legal_name for v in vendors])
    _check_unique("vendor SIRETs", [v.siret for v in vendors])

    by_key = {v.key: v for v in vendors}
    vocabularies: dict[str, Sequence[str]] = {
        "disciplines": [d.code for d in disciplines()],
        "levels": [level.code for level in levels()],
        "resource_types": [t.code for t in resource_types()],
    }
    products = tuple(
        _product(i, item, by_key, vocabularies)
        for i, item in enumerate(_objects("products", root["products"]))
    )
    _check_unique("product keys", [p.key for p in products])
    _check_unique("product titles", [p.title for p in products])
    return DemoCatalogue(vendors=vendors, products=products)


@cache
def demo_catalogue() -> DemoCatalogue:
    """The demo catalogue of ``catalog/data/demo_catalogue.json``, checked, in file order."""
    try:
        data = read_json(FILENAME)
    except VocabularyError as exc:
        raise DemoCatalogueError(str(exc)) from exc
    return parse_demo_catalogue(data)
