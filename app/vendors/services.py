"""Vendor onboarding, approval, membership, suspension and the exclusion list.

A company registers with its legal identity (SIRET, VAT number consistent with the
SIREN), its ultimate parent company and its acceptance of the terms of use. It is refused
when it or its parent matches the exclusion list, which the operator keeps (seeded from
``catalog/data/exclusion_list.json``; matching in ``catalog/exclusion.py``). A registered
company is `pending` until the operator approves it: it may prepare products, not submit
them. The registering person confirms their address through a link sent by mail.
An entry added to the exclusion list later is checked against every vendor: the matches
wait for the operator's decision (suspend the vendor, or dismiss the match).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from app import mail
from app.accounts import services as accounts
from app.accounts.models import Role, RoleGrant, User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.signing import secret_keys
from app.extensions import db
from app.vendors.models import (
    ExcludedCompany,
    ExclusionMatch,
    ExclusionMatchStatus,
    InvitationStatus,
    Vendor,
    VendorInvitation,
    VendorStatus,
)
from app.vendors.terms import TERMS_VERSION
from catalog import conduct
from catalog.exclusion import Entry, Match, find_match, normalize_company_name
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
    legal_form: str  # "SAS au capital de 10 000 €": a mention of its invoices
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
    for name in (
        "legal_name",
        "legal_form",
        "street",
        "postcode",
        "city",
        "parent_company",
        "contact_name",
    ):
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


def exclusion_entries() -> list[Entry]:
    """The entries of the exclusion list, as the matching of ``catalog.exclusion`` reads them."""
    rows = db.session.execute(select(ExcludedCompany.name, ExcludedCompany.group_name))
    return [Entry(name, group) for name, group in rows]


def _via(match: Match) -> str:
    """How a match came about, when the company's name holds another name of the group."""
    if not match.through_alias:
        return ""
    return f" (« {match.found} » est un nom connu du groupe « {match.group or match.entry.name} »)"


def exclusion_reason(legal_name: str, parent_company: str) -> tuple[str, str] | None:
    """Why a company may not sell on the marketplace, as (field, reason), or None. The
    reason names the entry of the list that matched, and the name found when it is another
    name of that entry's group."""
    entries = exclusion_entries()
    if match := find_match(legal_name, entries):
        reason = (
            f"L'entreprise « {legal_name} » relève de « {match.entry.name} », exclu de la "
            f"place de marché{_via(match)}."
        )
        return "legal_name", reason
    if match := find_match(parent_company, entries):
        return "parent_company", (
            f"La société mère « {parent_company} » relève de « {match.entry.name} », exclu de "
            f"la place de marché{_via(match)} : ses filiales ne peuvent pas y vendre."
        )
    return None


def new_account(email: str, name: str, password: str | None) -> User:
    """The account of someone who registers a company without having one yet."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["ce champ est obligatoire"]
    if problem := accounts.password_problem(password or "", email):
        errors["password"] = [problem]
    if errors:
        raise ValidationFailed("Votre compte ne peut pas être créé.", details=errors)
    return accounts.create_user(email, name, password)


def register_vendor(user: User, details: CompanyDetails, *, accepts_terms: bool) -> Vendor:
    """Register a company with `user` as its first member. It waits for the operator's
    approval (`pending`); `user` receives a link to confirm their address."""
    errors: dict[str, list[str]] = {}
    try:
        details = _checked(details)
    except ValidationFailed as invalid:
        errors.update(invalid.details)
    if not accepts_terms:
        errors["accept_terms"] = [
            "acceptez les conditions d'utilisation pour inscrire l'entreprise"
        ]
    if errors:
        raise ValidationFailed(
            "Certaines informations de l'entreprise sont invalides.", details=errors
        )
    if excluded := exclusion_reason(details.legal_name, details.parent_company):
        field, reason = excluded
        raise ExcludedVendor(reason, details={field: [reason]})
    if db.session.scalar(select(Vendor.id).where(Vendor.siret == details.siret)) is not None:
        raise Conflict(
            "Cette entreprise (SIRET) est déjà inscrite : demandez à un collègue de vous inviter.",
            details={"siret": ["déjà inscrit"]},
        )
    vendor = Vendor(**{f.name: getattr(details, f.name) for f in fields(details)})
    vendor.status = VendorStatus.PENDING
    vendor.registered_by = user
    vendor.terms_version = TERMS_VERSION
    vendor.terms_accepted_at = utcnow()
    db.session.add(vendor)
    db.session.flush()
    accounts.grant_role(user, user, Role.VENDOR, vendor=vendor)
    audit.record(
        user,
        "vendor.registered",
        "vendor",
        vendor.id,
        siret=vendor.siret,
        terms_version=TERMS_VERSION,
    )
    mail.send("vendor_email_confirmation", {"vendor": vendor.id, "user": user.id}, to=user.email)
    return vendor


# --- the registering person's address -------------------------------------------------------

EMAIL_CONFIRMATION_MAX_AGE = 14 * 24 * 3600  # seconds


def _confirmation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(), salt="vendor-registrant")


def email_confirmation_token(vendor: Vendor, user: User) -> str:
    return _confirmation_serializer().dumps({"vendor": vendor.id, "email": user.email})


def confirm_registrant_email(token: str) -> Vendor:
    """The registering person followed the link sent at registration: their address is
    confirmed (once; following it again changes nothing)."""
    invalid = DomainError(
        "Ce lien de confirmation n'est pas valide ou a expiré.", code="invalid_confirmation"
    )
    try:
        data = _confirmation_serializer().loads(token, max_age=EMAIL_CONFIRMATION_MAX_AGE)
    except BadSignature:
        raise invalid from None
    vendor = db.session.get(Vendor, data.get("vendor"))
    user = vendor.registered_by if vendor is not None else None
    if vendor is None or user is None or user.email != data.get("email"):
        raise invalid
    if vendor.registrant_email_confirmed_at is None:
        vendor.registrant_email_confirmed_at = utcnow()
        audit.record(user, "vendor.email_confirmed", "vendor", vendor.id, email=user.email)
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


def member_ids(vendor_id: int) -> list[int]:
    """Who is told what happens to the vendor: every member (there is no admin among them)."""
    query = select(RoleGrant.user_id).where(
        RoleGrant.role == Role.VENDOR, RoleGrant.vendor_id == vendor_id
    )
    return list(db.session.scalars(query))


def is_member(user: User, vendor_id: int) -> bool:
    return user.has_role(Role.VENDOR, vendor_id)


# --- the team: invitations ------------------------------------------------------------------

INVITATION_MAX_AGE = 14 * 24 * 3600  # seconds


def _invitation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(), salt="vendor-invitation")


def invitation_token(invitation: VendorInvitation) -> str:
    return _invitation_serializer().dumps({"invitation": invitation.id, "email": invitation.email})


def pending_invitations(vendor: Vendor) -> list[VendorInvitation]:
    query = (
        select(VendorInvitation)
        .where(
            VendorInvitation.vendor_id == vendor.id,
            VendorInvitation.status == InvitationStatus.PENDING,
        )
        .order_by(VendorInvitation.created_at, VendorInvitation.id)
    )
    return list(db.session.scalars(query))


def invite_member(actor: User, vendor: Vendor, email: str, name: str) -> VendorInvitation:
    """Invite a colleague: a mail with a link to accept or decline. Nothing of the
    vendor applies to them, and nothing of their account is shown, until they accept."""
    email = accounts.normalize_email(email)
    existing = accounts.find_user(email)
    if existing is not None and existing.has_role(Role.VENDOR, vendor.id):
        raise Conflict(f"{email} fait déjà partie de l'équipe.", details={"email": ["déjà membre"]})
    waiting = db.session.scalar(
        select(VendorInvitation.id).where(
            VendorInvitation.vendor_id == vendor.id,
            VendorInvitation.email == email,
            VendorInvitation.status == InvitationStatus.PENDING,
        )
    )
    if waiting is not None:
        raise Conflict(
            f"Une invitation attend déjà la réponse de {email}.",
            details={"email": ["invitation en attente"]},
        )
    invitation = VendorInvitation(
        vendor_id=vendor.id, email=email, name=name.strip(), invited_by_id=actor.id
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, "vendor.member_invited", "vendor", vendor.id, email=email)
    mail.send("vendor_invitation", {"invitation": invitation.id}, to=email)
    return invitation


def invitation_of_token(token: str) -> VendorInvitation:
    """The invitation a link is for, while it waits for an answer; else a DomainError."""
    invalid = DomainError(
        "Cette invitation n'est pas valide, a expiré ou a déjà reçu une réponse.",
        code="invalid_invitation",
    )
    try:
        data = _invitation_serializer().loads(token, max_age=INVITATION_MAX_AGE)
    except BadSignature:
        raise invalid from None
    invitation = db.session.get(VendorInvitation, data.get("invitation"), with_for_update=True)
    if (
        invitation is None
        or invitation.email != data.get("email")
        or invitation.status is not InvitationStatus.PENDING
    ):
        raise invalid
    return invitation


def accept_invitation(token: str) -> tuple[VendorInvitation, User]:
    """The invited person joins the team (an account is made for a new address: they
    choose its password next). The one who follows the mail's link is its owner."""
    invitation = invitation_of_token(token)
    user = accounts.find_user(invitation.email) or accounts.create_user(
        invitation.email, invitation.name or invitation.email
    )
    accounts.grant_role(user, user, Role.VENDOR, vendor=invitation.vendor)  # once, if twice
    invitation.status = InvitationStatus.ACCEPTED
    invitation.decided_at = utcnow()
    audit.record(user, "vendor.member_joined", "vendor", invitation.vendor_id, email=user.email)
    return invitation, user


def decline_invitation(token: str) -> VendorInvitation:
    invitation = invitation_of_token(token)
    invitation.status = InvitationStatus.DECLINED
    invitation.decided_at = utcnow()
    audit.record(
        None, "vendor.invitation_declined", "vendor", invitation.vendor_id, email=invitation.email
    )
    return invitation


def all_vendors() -> list[tuple[Vendor, int]]:
    """Every vendor with its number of products, by name."""
    from app.products.models import Product

    count = select(func.count(Product.id)).where(Product.vendor_id == Vendor.id).scalar_subquery()
    return [
        (v, n) for v, n in db.session.execute(select(Vendor, count).order_by(Vendor.legal_name))
    ]


# The events of a vendor's life that change or explain its status.
STATUS_ACTIONS = (
    "vendor.registered",
    "vendor.approved",
    "vendor.refused",
    "vendor.suspended",
    "vendor.reinstated",
    "exclusion_match.suspended",
    "exclusion_match.dismissed",
)


def status_history(vendor: Vendor) -> list[audit.AuditEvent]:
    """Registration, approval or refusal, suspensions and reinstatements, newest first,
    from the audit log (who, when, why)."""
    query = (
        audit.events_query(audit.EventFilters(object_type="vendor", object_id=str(vendor.id)))
        .where(audit.AuditEvent.action.in_(STATUS_ACTIONS))
        .options(selectinload(audit.AuditEvent.actor))
    )
    return list(db.session.scalars(query))


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
    # Its products' open pooled purchases end: every share goes back to its teacher.
    from app.pooled_purchases import services as pooled_purchases

    pooled_purchases.cancel_for_vendor(vendor.id)


def reinstate(actor: User, vendor: Vendor) -> None:
    vendor.status = VendorStatus.ACTIVE
    vendor.status_reason = ""
    audit.record(actor, "vendor.reinstated", "vendor", vendor.id)


# --- the operator's approval of new vendors -------------------------------------------------


def pending_vendors() -> list[Vendor]:
    """The companies waiting for the operator's approval, oldest registration first."""
    query = (
        select(Vendor)
        .where(Vendor.status == VendorStatus.PENDING)
        .order_by(Vendor.created_at, Vendor.id)
    )
    return list(db.session.scalars(query))


def _tell_members(vendor: Vendor, decision: str) -> None:
    for member in members(vendor):
        payload = {"vendor": vendor.id, "user": member.id, "decision": decision}
        mail.send("vendor_decision", payload, to=member.email)


def _waiting(vendor: Vendor) -> None:
    if not vendor.pending:
        raise Conflict(
            f"L'inscription de {vendor.legal_name} a déjà été examinée "
            f"(statut : {vendor.status.label.lower()})."
        )


def approve(actor: User, vendor: Vendor) -> None:
    """The operator approves a registered company: it may submit its products, and the
    billing mandate it accepted with the terms of use takes effect (the platform issues its
    invoices in its name from now on)."""
    _waiting(vendor)
    vendor.status = VendorStatus.ACTIVE
    vendor.status_reason = ""
    vendor.billing_mandate_accepted_at = utcnow()
    audit.record(actor, "vendor.approved", "vendor", vendor.id)
    _tell_members(vendor, "approved")


def refuse(actor: User, vendor: Vendor, reason: str) -> None:
    """The operator refuses a registered company, saying why (the vendor reads it)."""
    _waiting(vendor)
    if not reason.strip():
        raise ValidationFailed(
            "Indiquez le motif du refus.", details={"reason": ["indiquez le motif du refus"]}
        )
    vendor.status = VendorStatus.REFUSED
    vendor.status_reason = reason.strip()
    audit.record(actor, "vendor.refused", "vendor", vendor.id, reason=vendor.status_reason)
    _tell_members(vendor, "refused")


# --- the exclusion list ---------------------------------------------------------------------


def excluded_companies() -> list[ExcludedCompany]:
    query = select(ExcludedCompany).order_by(ExcludedCompany.group_name, ExcludedCompany.name)
    return list(db.session.scalars(query))


def exclude_company(actor: User | None, name: str, group_name: str) -> ExcludedCompany:
    """Add an entry to the list (the existing one when the name is already there)."""
    name, group_name = name.strip(), group_name.strip() or name.strip()
    if not name:
        raise ValidationFailed(
            "Indiquez le nom de l'entreprise.", details={"name": ["obligatoire"]}
        )
    if not normalize_company_name(name):
        raise ValidationFailed(
            "Ce nom ne contient qu'une forme juridique : indiquez le nom de l'entreprise.",
            details={"name": ["nom de l'entreprise attendu"]},
        )
    key = normalize_company_name(name)  # "Lumière SAS" is already there as "Lumiere"
    for existing in excluded_companies():
        if normalize_company_name(existing.name) == key:
            return existing
    company = ExcludedCompany(name=name, group_name=group_name)
    db.session.add(company)
    db.session.flush()
    audit.record(actor, "exclusion.added", "excluded_company", company.id, name=name)
    return company


def recheck_vendors(actor: User | None, company: ExcludedCompany) -> list[ExclusionMatch]:
    """Check every vendor (but the refused ones) against a new entry of the list; each
    vendor it matches, by its name or its parent's, gets a match for the operator to
    decide. Returns the new matches."""
    entry = Entry(company.name, company.group_name)
    already = set(
        db.session.scalars(
            select(ExclusionMatch.vendor_id).where(ExclusionMatch.excluded_company_id == company.id)
        )
    )
    rows = db.session.execute(
        select(Vendor.id, Vendor.legal_name, Vendor.parent_company).where(
            Vendor.status != VendorStatus.REFUSED
        )
    )
    found: list[ExclusionMatch] = []
    for vendor_id, legal_name, parent_company in rows:
        if vendor_id in already:
            continue
        for on_parent, name in ((False, legal_name), (True, parent_company)):
            match = find_match(name, [entry])
            if match is not None:
                found.append(
                    ExclusionMatch(
                        vendor_id=vendor_id,
                        excluded_company_id=company.id,
                        on_parent=on_parent,
                        checked_name=name[:200],
                        found=match.found[:200],
                    )
                )
                break
    db.session.add_all(found)
    db.session.flush()
    audit.record(
        actor,
        "exclusion.rechecked",
        "excluded_company",
        company.id,
        vendors=[m.vendor_id for m in found],
    )
    return found


def open_exclusion_matches() -> list[ExclusionMatch]:
    """The matches waiting for the operator's decision, oldest first."""
    query = (
        select(ExclusionMatch)
        .where(ExclusionMatch.status == ExclusionMatchStatus.OPEN)
        .order_by(ExclusionMatch.id)
    )
    return list(db.session.scalars(query))


def get_exclusion_match(match_id: int) -> ExclusionMatch:
    match = db.session.get(ExclusionMatch, match_id)
    if match is None:
        raise NotFound("Correspondance introuvable.")
    if match.status is not ExclusionMatchStatus.OPEN:
        raise Conflict("Cette correspondance a déjà été examinée.")
    return match


def match_explanation(match: ExclusionMatch) -> str:
    """Why a vendor matched an entry of the list, in words the operator can check."""
    whose = "La société mère" if match.on_parent else "La raison sociale"
    entry = match.excluded_company.name
    text = f"{whose} « {match.checked_name} » contient « {match.found} »"
    if match.found.casefold() != entry.casefold():
        text += f", nom connu du groupe de « {entry} »"
    return f"{text} (entrée « {entry} » de la liste d'exclusion)."


def suspend_for_exclusion(actor: User, match: ExclusionMatch) -> None:
    """The operator confirms a match: the vendor is suspended, the match says why."""
    suspend(actor, match.vendor, f"Liste d'exclusion : {match_explanation(match)}")
    _decide(actor, match, ExclusionMatchStatus.SUSPENDED)


def dismiss_exclusion_match(actor: User, match: ExclusionMatch) -> None:
    """The operator judges a match a false positive: the vendor stays as it is."""
    _decide(actor, match, ExclusionMatchStatus.DISMISSED)


def _decide(actor: User, match: ExclusionMatch, status: ExclusionMatchStatus) -> None:
    match.status = status
    match.decided_by_id = actor.id
    match.decided_at = utcnow()
    audit.record(
        actor,
        f"exclusion_match.{status.value}",
        "vendor",
        match.vendor_id,
        entry=match.excluded_company.name,
        found=match.found,
        checked_name=match.checked_name,
    )


def remove_exclusion(actor: User, company_id: int) -> None:
    company = db.session.get(ExcludedCompany, company_id)
    if company is None:
        raise NotFound("Entrée introuvable.")
    audit.record(actor, "exclusion.removed", "excluded_company", company.id, name=company.name)
    db.session.execute(
        delete(ExclusionMatch).where(ExclusionMatch.excluded_company_id == company.id)
    )
    db.session.delete(company)


def load_exclusion_list() -> int:
    """Add the entries of ``catalog/data/exclusion_list.json`` that are missing; returns
    how many were added. Safe to run again."""
    before = len(excluded_names())
    for entry in conduct.exclusion_list():
        exclude_company(None, entry.name, entry.group)
    return len(excluded_names()) - before
