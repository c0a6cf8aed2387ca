"""Vendor onboarding, membership, suspension and the exclusion list.

A company registers with its legal identity (SIRET, VAT number consistent with the
SIREN) and its ultimate parent company. It is refused when it or its parent belongs to
a group of the exclusion list, which the operator keeps (seeded from
``catalog/data/exclusion_list.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.models import Role, RoleGrant, User
from app.core import audit
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.vendors.models import ExcludedCompany, Vendor, VendorStatus
from catalog import conduct
from catalog.identifiers import (
    InvalidIdentifier,
    validate_siret,
    validate_vat,
    vat_matches_siren,
)


class ExcludedVendor(DomainError):
    code = "excluded"


@dataclass(frozen=True)
class CompanyDetails:
    """What a company declares when it registers (or updates its details)."""

    legal_name: str
    siret: str
    vat_number: str
    street: str
    postcode: str
    city: str
    country: str
    parent_company: str
    contact_name: str
    contact_email: str
    contact_phone: str = ""


def _checked(details: CompanyDetails) -> CompanyDetails:
    """The details normalised, or ValidationFailed naming every field that is wrong."""
    errors: dict[str, list[str]] = {}
    values = {f.name: str(getattr(details, f.name)).strip() for f in fields(details)}
    for name in ("legal_name", "street", "postcode", "city", "parent_company", "contact_name"):
        if not values[name]:
            errors[name] = ["ce champ est obligatoire"]
    try:
        values["siret"] = validate_siret(values["siret"], "siret")
    except InvalidIdentifier as error:
        errors["siret"] = [error.message]  # names the SIRET in words, not by its field
    try:
        values["vat_number"] = validate_vat(values["vat_number"], "vat_number")
    except InvalidIdentifier as error:
        errors["vat_number"] = [error.message]
    identified = "siret" not in errors and "vat_number" not in errors
    if identified and not vat_matches_siren(values["vat_number"], values["siret"][:9]):
        errors["vat_number"] = ["le numéro de TVA ne correspond pas au SIREN de l'entreprise"]
    values["country"] = values["country"].upper()
    if values["country"] != "FR":
        errors["country"] = ["seules les entreprises établies en France peuvent s'inscrire"]
    values["contact_email"] = accounts.normalize_email(values["contact_email"])
    if "@" not in values["contact_email"]:
        errors["contact_email"] = ["adresse électronique invalide"]
    if errors:
        raise ValidationFailed(
            "Certaines informations de l'entreprise sont invalides.", details=errors
        )
    return CompanyDetails(**values)


def excluded_names() -> list[str]:
    return list(db.session.scalars(select(ExcludedCompany.name)))


def exclusion_reason(legal_name: str, parent_company: str) -> tuple[str, str] | None:
    """Why a company may not sell on the marketplace, as (field, reason), or None."""
    names = excluded_names()
    if match := conduct.excluded_match(legal_name, names):
        reason = (
            f"L'entreprise « {legal_name} » relève de « {match} », exclu de la place de marché."
        )
        return "legal_name", reason
    if match := conduct.excluded_match(parent_company, names):
        return "parent_company", (
            f"La société mère « {parent_company} » relève de « {match} », exclu de la place "
            "de marché : ses filiales ne peuvent pas y vendre."
        )
    return None


def new_account(email: str, name: str, password: str | None) -> User:
    """The account of someone who registers a company without having one yet."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["ce champ est obligatoire"]
    if len(password or "") < 8:
        errors["password"] = ["8 caractères au moins"]
    if errors:
        raise ValidationFailed("Votre compte ne peut pas être créé.", details=errors)
    return accounts.create_user(email, name, password)


def register_vendor(user: User, details: CompanyDetails) -> Vendor:
    """Register a company with `user` as its first member."""
    details = _checked(details)
    if excluded := exclusion_reason(details.legal_name, details.parent_company):
        field, reason = excluded
        raise ExcludedVendor(reason, details={field: [reason]})
    if db.session.scalar(select(Vendor.id).where(Vendor.siret == details.siret)) is not None:
        raise Conflict(
            "Cette entreprise (SIRET) est déjà inscrite : demandez à un collègue de vous inviter.",
            details={"siret": ["déjà inscrit"]},
        )
    vendor = Vendor(**{f.name: getattr(details, f.name) for f in fields(details)})
    db.session.add(vendor)
    db.session.flush()
    accounts.grant_role(user, user, Role.VENDOR, vendor=vendor)
    audit.record(user, "vendor.registered", "vendor", vendor.id, siret=vendor.siret)
    return vendor


def get_vendor(vendor_id: int) -> Vendor:
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound("Éditeur introuvable.")
    return vendor


def members(vendor: Vendor) -> list[User]:
    query = (
        select(User)
        .join(RoleGrant)
        .where(RoleGrant.role == Role.VENDOR, RoleGrant.vendor_id == vendor.id)
        .order_by(User.name)
    )
    return list(db.session.scalars(query))


def invite_member(actor: User, vendor: Vendor, email: str, name: str) -> User:
    """Give a colleague access to the vendor's space; a new person gets an account and a
    mail with the link to activate it."""
    user = accounts.find_user(email) or accounts.create_user(email, name or email)
    if user.has_role(Role.VENDOR, vendor.id):
        raise Conflict(
            f"{user.email} fait déjà partie de l'équipe.", details={"email": ["déjà membre"]}
        )
    accounts.grant_role(actor, user, Role.VENDOR, vendor=vendor)
    audit.record(actor, "vendor.member_invited", "vendor", vendor.id, email=user.email)
    if user.password_hash is None:
        accounts.send_activation(user, vendor=vendor, again=True)
    return user


def all_vendors() -> list[tuple[Vendor, int]]:
    """Every vendor with its number of products, by name."""
    from app.products.models import Product

    count = select(func.count(Product.id)).where(Product.vendor_id == Vendor.id).scalar_subquery()
    return [
        (v, n) for v, n in db.session.execute(select(Vendor, count).order_by(Vendor.legal_name))
    ]


def suspend(actor: User, vendor: Vendor, reason: str) -> None:
    """Suspend a vendor: its products leave the storefront at once (the storefront and
    checkout only show products of active vendors)."""
    if not reason.strip():
        raise ValidationFailed(
            "Indiquez le motif de la suspension.", details={"reason": ["obligatoire"]}
        )
    vendor.status = VendorStatus.SUSPENDED
    vendor.status_reason = reason.strip()
    audit.record(actor, "vendor.suspended", "vendor", vendor.id, reason=vendor.status_reason)


def reinstate(actor: User, vendor: Vendor) -> None:
    vendor.status = VendorStatus.ACTIVE
    vendor.status_reason = ""
    audit.record(actor, "vendor.reinstated", "vendor", vendor.id)


# --- the exclusion list ---------------------------------------------------------------------


def excluded_companies() -> list[ExcludedCompany]:
    query = select(ExcludedCompany).order_by(ExcludedCompany.group_name, ExcludedCompany.name)
    return list(db.session.scalars(query))


def exclude_company(actor: User | None, name: str, group_name: str) -> ExcludedCompany:
    name, group_name = name.strip(), group_name.strip() or name.strip()
    if not name:
        raise ValidationFailed(
            "Indiquez le nom de l'entreprise.", details={"name": ["obligatoire"]}
        )
    existing = db.session.scalar(
        select(ExcludedCompany).where(func.lower(ExcludedCompany.name) == name.lower())
    )
    if existing is not None:
        return existing
    company = ExcludedCompany(name=name, group_name=group_name)
    db.session.add(company)
    db.session.flush()
    audit.record(actor, "exclusion.added", "excluded_company", company.id, name=name)
    return company


def remove_exclusion(actor: User, company_id: int) -> None:
    company = db.session.get(ExcludedCompany, company_id)
    if company is None:
        raise NotFound("Entrée introuvable.")
    audit.record(actor, "exclusion.removed", "excluded_company", company.id, name=company.name)
    db.session.delete(company)


def load_exclusion_list() -> int:
    """Add the entries of ``catalog/data/exclusion_list.json`` that are missing; returns
    how many were added. Safe to run again."""
    before = len(excluded_names())
    for entry in conduct.exclusion_list():
        exclude_company(None, entry.name, entry.group)
    return len(excluded_names()) - before
