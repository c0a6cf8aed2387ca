"""Users, passwords and role grants. Functions flush, never commit."""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    cast,
    func,
    insert,
    literal,
    select,
    true,
)
from werkzeug.security import check_password_hash, generate_password_hash

from app import mail
from app.accounts.models import Role, RoleGrant, User
from app.accounts.signin import end_every_session
from app.budgets.models import Academy, School
from app.core import audit
from app.core.db import (
    UTCDateTime,
    insert_or_ignore,
    integer_rows,
    json_object,
    text_rows,
    utcnow,
)
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.signing import secret_keys
from app.extensions import db
from app.vendors.models import Vendor

# ANSSI and CNIL guidance for a password alone: long rather than complicated. Twelve
# characters at least (a passphrase of several words is welcome), never one of the most
# common passwords, never the person's own address.
MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

# Checked against when the email is unknown, so a wrong email and a wrong password
# take the same time and cannot be told apart.
_UNKNOWN_USER_HASH = generate_password_hash("not-a-password-of-anyone")


def normalize_email(email: str) -> str:
    return email.strip().lower()


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` is not good enough, in French; None when it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return (
            f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères : "
            "une phrase de plusieurs mots est facile à retenir et difficile à deviner."
        )
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return "Ce mot de passe fait partie des plus courants : choisissez-en un autre."
    local_part = normalize_email(email).partition("@")[0]
    if len(local_part) >= 4 and local_part in lowered:
        return "Le mot de passe ne doit pas contenir votre adresse électronique."
    return None


def hash_password(password: str, email: str = "") -> str:
    """A scrypt hash (werkzeug's default), salted, of a password that follows the rules."""
    problem = password_problem(password, email)
    if problem is not None:
        raise ValidationFailed(problem, details={"password": [problem]})
    return generate_password_hash(password)


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(
    email: str, name: str, password: str | None = None, *, password_hash: str | None = None
) -> User:
    """A new user; `password_hash` lets bulk creators reuse one hash."""
    email = normalize_email(email)
    if find_user(email) is not None:
        raise Conflict(f"Un compte existe déjà pour {email}.", details={"email": ["déjà utilisée"]})
    user = User(
        email=email,
        name=name.strip(),
        password_hash=password_hash or (hash_password(password, email) if password else None),
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same cost either way)."""
    user = find_user(email)
    stored = user.password_hash if user is not None else None
    valid = check_password_hash(stored or _UNKNOWN_USER_HASH, password)
    if user is None or stored is None or not valid or not user.active:
        return None
    return user


def must_use_proconnect(user: User) -> bool:
    """Whether `user` holds a role that signs in with ProConnect only (the setting
    PROCONNECT_REQUIRED_ROLES; never when ProConnect is not set up)."""
    if not current_app.config["PROCONNECT_ISSUER"]:
        return False
    required = {name.strip() for name in current_app.config["PROCONNECT_REQUIRED_ROLES"].split(",")}
    return any(role.value in required for role in user.roles)


def grant_role(
    actor: User | None,
    user: User,
    role: Role,
    *,
    school: School | None = None,
    academy: Academy | None = None,
    vendor: Vendor | None = None,
) -> RoleGrant:
    """Give `role` to `user` within its scope; granting twice returns the existing grant."""
    scopes = {
        Role.TEACHER: ("school", school),
        Role.ACADEMY_MANAGER: ("academy", academy),
        Role.VENDOR: ("vendor", vendor),
    }
    needed = scopes.get(role)
    given = {
        name: value
        for name, value in (("school", school), ("academy", academy), ("vendor", vendor))
        if value is not None
    }
    expected = {needed[0]} if needed else set()
    if set(given) != expected:
        scope_words = {
            "school": "un établissement",
            "academy": "une académie",
            "vendor": "un éditeur",
        }
        wanted = scope_words[needed[0]] if needed else "aucun établissement, académie ni éditeur"
        raise ValidationFailed(
            f"Le rôle « {role.label} » se donne pour {wanted}.",
            details={"role": ["périmètre incohérent"]},
        )
    for grant in user.grants:
        if (grant.role, grant.school, grant.academy, grant.vendor) == (
            role,
            school,
            academy,
            vendor,
        ):
            return grant
    before = roles_held(user)
    grant = RoleGrant(role=role, school=school, academy=academy, vendor=vendor)
    user.grants.append(grant)
    db.session.flush()
    details = _granted(role.value, scope_name(grant), before, roles_held(user))
    audit.record(actor, "role.granted", "user", user.id, **details)
    return grant


def _granted(role: str, scope: str | None, before: list[Any], after: list[Any]) -> dict[str, Any]:
    """The details of a « role.granted » event: the role, its scope (as :func:`scope_name`
    writes it), the roles held before and after (as :func:`roles_held`)."""
    return {"role": role, "scope": scope, "before": before, "after": after}


def create_teachers(people: Sequence[tuple[str, str, School]], password_hash: str) -> int:
    """New teachers (e-mail, name, school), each with what :func:`create_user` and
    :func:`grant_role` would write (the user, the grant, its audit event), set-based: one
    INSERT each, for bulk creators (the demo). The e-mails must be new."""
    if not people:
        return 0
    user_ids = db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True),
        [
            {"email": normalize_email(email), "name": name.strip(), "password_hash": password_hash}
            for email, name, _ in people
        ],
    ).all()
    schools = [school for _, _, school in people]
    db.session.execute(
        insert(RoleGrant),
        [
            {"user_id": user_id, "role": Role.TEACHER, "school_id": school.id}
            for user_id, school in zip(user_ids, schools, strict=True)
        ],
    )
    teacher = Role.TEACHER.value
    audit.record_many(
        None,
        "role.granted",
        "user",
        (
            (user_id, _granted(teacher, str(school), [], [{"role": teacher, "scope": str(school)}]))
            for user_id, school in zip(user_ids, schools, strict=True)
        ),
    )
    return len(user_ids)


def scope_name(grant: RoleGrant) -> str | None:
    """The scope of a grant as people name it: the school (UAI), academy or company."""
    scope = grant.scope_object
    return None if scope is None else str(scope)


def roles_held(user: User) -> list[dict[str, str | None]]:
    """The roles of `user`, as the audit log keeps them (before and after a change)."""
    return [{"role": g.role.value, "scope": scope_name(g)} for g in user.grants]


# --- in bulk: the teachers of an allocation file ------------------------------------------


def user_ids_by_email(emails: Sequence[str]) -> dict[str, int]:
    """The ids of the accounts of these (normalised) addresses that exist."""
    addresses = text_rows(db.session, "addresses", email=emails)  # one array, any count
    rows = db.session.execute(
        select(User.email, User.id).join(addresses, addresses.c.email == User.email)
    )
    return {str(email): int(user_id) for email, user_id in rows}


def create_waiting_users(people: Sequence[tuple[str, str]]) -> None:
    """Accounts without a password yet for these (normalised address, name) pairs, in one
    statement; an address someone took meanwhile is left as it is."""
    if not people:
        return
    emails, names = zip(*people, strict=True)
    new = text_rows(db.session, "people", email=emails, full_name=names)
    rows = select(
        new.c.email, new.c.full_name, literal(True), literal(1), literal(utcnow(), UTCDateTime())
    )
    statement = insert_or_ignore(db.session, User).from_select(
        ["email", "name", "active", "session_version", "created_at"], rows.where(true())
    )
    db.session.execute(statement.on_conflict_do_nothing())


def grant_teacher_roles(actor: User | None, user_ids: list[int], school_ids: list[int]) -> int:
    """Make each user a teacher of the school at the same position, unless they are
    already; set-based, each grant audited as `grant_role` does. Returns the grants made."""
    pairs = integer_rows(db.session, "pairs", user_id=user_ids, school_id=school_ids)
    held = select(RoleGrant.id).where(
        RoleGrant.user_id == pairs.c.user_id,
        RoleGrant.role == Role.TEACHER,
        RoleGrant.school_id == pairs.c.school_id,
    )
    missing = select(pairs.c.user_id, literal(Role.TEACHER.value), pairs.c.school_id).where(
        ~held.exists()
    )
    granted = list(
        db.session.scalars(
            insert(RoleGrant)
            .from_select(["user_id", "role", "school_id"], missing)
            .returning(RoleGrant.id)
        )
    )
    new = integer_rows(db.session, "granted", id=granted)
    scope = School.name + literal(" (") + School.uai + literal(")")
    events = (
        select(
            literal(utcnow(), UTCDateTime()),
            literal(actor.id if actor is not None else None, Integer()),
            literal("role.granted"),
            literal("user"),
            cast(RoleGrant.user_id, String),
            json_object(db.session, {"role": literal(Role.TEACHER.value), "scope": scope}),
        )
        .join(School, School.id == RoleGrant.school_id)
        .where(RoleGrant.id == new.c.id)
    )
    db.session.execute(
        insert(audit.AuditEvent).from_select(
            ["created_at", "actor_id", "action", "object_type", "object_id", "details"], events
        )
    )
    return len(granted)


# --- first login of a person registered by someone else ---------------------------------

ACTIVATION_MAX_AGE = 14 * 24 * 3600  # seconds a link stays valid


def _activation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(), salt="account-activation")


def activation_token(user: User) -> str:
    """A signed link token for a person who has no password yet; useless once one is set."""
    return _activation_serializer().dumps({"user": user.id, "email": user.email})


def account_waiting_for(email: str) -> User | None:
    """The active account registered for `email` by someone else, still without a password."""
    user = find_user(email)
    if user is None or user.password_hash is not None or not user.active:
        return None
    return user


def send_activation(user: User, *, vendor: Vendor | None = None, again: bool = False) -> None:
    """Queue the mail with the link to choose a first password. Sent once per account
    (an allocation run twice does not send twice) unless the person asks `again`."""
    payload: dict[str, Any] = {"user": user.id}
    if vendor is not None:
        payload["vendor"] = vendor.id
    key = None if again else f"user:{user.id}"
    mail.send("account_activation", payload, to=user.email, key=key)


def user_of_activation_token(token: str) -> User:
    """The account an activation link is for, while it still waits; else a DomainError."""
    invalid = DomainError(
        "Ce lien d'activation n'est pas valide ou a expiré : demandez-en un nouveau.",
        code="invalid_activation",
    )
    try:
        data = _activation_serializer().loads(token, max_age=ACTIVATION_MAX_AGE)
    except BadSignature:
        raise invalid from None
    user = db.session.get(User, data.get("user"))
    if user is None or user.email != data.get("email") or account_waiting_for(user.email) is None:
        raise invalid
    return user


def activate(token: str, password: str) -> User:
    """Set the first password of the account named by an activation token."""
    user = user_of_activation_token(token)
    user.password_hash = hash_password(password, user.email)
    audit.record(user, "user.activated", "user", user.id)
    return user


# --- a forgotten password ------------------------------------------------------------------

PASSWORD_RESET_MAX_AGE = 3600  # seconds


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(), salt="password-reset")


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password does: a reset link works once, and not after any
    later change."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def password_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"user": user.id, "password": _password_fingerprint(user)})


def request_password_reset(email: str) -> None:
    """Someone says they forgot the password of `email`: mail the account's owner a link
    to choose a new one (or, for an account still waiting, its activation link). Nothing
    at all for an unknown or closed address; the caller answers the same either way."""
    user = find_user(email)
    if user is None or not user.active:
        return
    if user.password_hash is None:
        send_activation(user, again=True)
    else:
        mail.send("password_reset", {"user": user.id}, to=user.email)
    audit.record(None, "user.password_reset_requested", "user", user.id)


def user_of_reset_token(token: str) -> User:
    """The user a reset link is for, while it is valid; else a DomainError."""
    invalid = DomainError(
        "Ce lien de réinitialisation n'est plus valable (il sert une seule fois, pendant "
        "une heure) : demandez-en un nouveau.",
        code="invalid_password_reset",
    )
    try:
        data = _reset_serializer().loads(token, max_age=PASSWORD_RESET_MAX_AGE)
    except BadSignature:
        raise invalid from None
    user = db.session.get(User, data.get("user"))
    if user is None or not user.active or data.get("password") != _password_fingerprint(user):
        raise invalid
    return user


def reset_password(token: str, password: str) -> User:
    """Set a new password from a reset link; every open session of the user ends."""
    user = user_of_reset_token(token)
    user.password_hash = hash_password(password, user.email)
    end_every_session(user)
    audit.record(user, "user.password_reset", "user", user.id)
    return user


# --- the profile ----------------------------------------------------------------------------

EMAIL_CHANGE_MAX_AGE = 24 * 3600  # seconds


def rename(user: User, name: str) -> None:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Saisissez votre nom.", details={"name": ["Saisissez votre nom."]})
    if name != user.name:
        user.name = name[:200]
        audit.record(user, "user.renamed", "user", user.id)


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password, after checking the current one; other sessions end (the
    caller signs this one in again)."""
    if user.password_hash is None or not check_password_hash(user.password_hash, current):
        wrong = "Le mot de passe actuel n'est pas le bon."
        raise ValidationFailed(wrong, details={"current_password": [wrong]})
    user.password_hash = hash_password(new, user.email)
    end_every_session(user)
    audit.record(user, "user.password_changed", "user", user.id)


def _email_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(), salt="email-change")


def email_change_token(user: User, new_email: str) -> str:
    return _email_serializer().dumps({"user": user.id, "from": user.email, "to": new_email})


def request_email_change(user: User, new_email: str) -> str:
    """Mail a confirmation link to `new_email`; the address changes only once it is
    followed, so a typo never locks anyone out. Returns the normalised address."""
    try:
        new_email = validate_email(new_email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        invalid = "Cette adresse électronique n'est pas valide."
        raise ValidationFailed(invalid, details={"email": [invalid]}) from None
    new_email = normalize_email(new_email)
    if new_email == user.email:
        same = "C'est déjà votre adresse électronique."
        raise ValidationFailed(same, details={"email": [same]})
    if find_user(new_email) is not None:
        taken = "Un autre compte utilise déjà cette adresse."
        raise Conflict(taken, details={"email": [taken]})
    mail.send("email_change", {"user": user.id, "email": new_email}, to=new_email)
    audit.record(user, "user.email_change_requested", "user", user.id, email=new_email)
    return new_email


def confirm_email_change(token: str) -> User:
    """Move the account to the address a confirmation link was sent to."""
    invalid = DomainError(
        "Ce lien de confirmation n'est pas valide ou a expiré : refaites la demande depuis "
        "votre profil.",
        code="invalid_email_change",
    )
    try:
        data = _email_serializer().loads(token, max_age=EMAIL_CHANGE_MAX_AGE)
    except BadSignature:
        raise invalid from None
    user = db.session.get(User, data.get("user"))
    if user is None or not user.active or user.email != data.get("from"):
        raise invalid
    if find_user(data["to"]) is not None:
        raise Conflict("Un autre compte utilise déjà cette adresse.", code="email_taken")
    user.email = data["to"]
    audit.record(user, "user.email_changed", "user", user.id, previous=data["from"])
    return user


# --- closing an account ---------------------------------------------------------------------


def close_account(actor: User | None, user: User) -> None:
    """Close `user`'s account: no more sign-in, every session ends. Its name and address
    are kept for the retention period, then replaced (app/core/retention.py); what it
    bought and was credited stays in the ledger. Closing it again changes nothing."""
    if not user.active:
        return
    user.active = False
    user.closed_at = utcnow()
    end_every_session(user)
    audit.record(actor, "user.closed", "user", user.id)


# --- the operator: finding people, giving and removing their roles ---------------------------

USERS_PER_PAGE = 50
# Each word of a search must be found in the name or the address; past these, ignored.
MAX_SEARCH_WORDS = 8


def fold(text: str | None) -> str:
    """Lower case, accents removed: what `search_fold` does on PostgreSQL (unaccent)."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _sqlite_search_functions() -> None:
    """SQLite has no `unaccent` nor the functions of migration 0023: the same, in Python,
    on the session's connection (PostgreSQL has them in the database)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.driver_connection
    assert raw is not None  # noqa: S101 - an open connection has its driver's
    raw.create_function("search_fold", 1, fold, deterministic=True)
    raw.create_function(
        "user_search_key", 2, lambda name, email: fold(f"{name} {email}"), deterministic=True
    )


def matching_users(search: str) -> ColumnElement[bool]:
    """Users whose name or address holds every word of `search`, any case, accents
    ignored ("helene" finds "Hélène"); on PostgreSQL through the trigram index."""
    _sqlite_search_functions()
    key = func.user_search_key(User.name, User.email)
    conditions = []
    for word in search.split()[:MAX_SEARCH_WORDS]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = literal("%") + func.search_fold(literal(escaped, String())) + literal("%")
        conditions.append(key.like(pattern, escape="\\"))
    return and_(true(), *conditions)


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    total: int
    page: int
    pages: int


def search_users(
    search: str = "", role: Role | None = None, page: int = 1, per_page: int = USERS_PER_PAGE
) -> UserPage:
    """One page of the users, by name: those matching `search` (name or address) and
    holding `role`, if given. A page past the last shows the last."""
    query = select(User).where(matching_users(search))
    if role is not None:
        query = query.where(
            select(RoleGrant.id)
            .where(RoleGrant.user_id == User.id, RoleGrant.role == role)
            .exists()
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(math.ceil(total / per_page), 1)
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        query.order_by(User.name, User.id).limit(per_page).offset((page - 1) * per_page)
    )
    return UserPage(list(rows), total, page, pages)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("Utilisateur introuvable.")
    return user


def _refused(field: str, label: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{label} : {reason}.", details={field: [reason]})


def _scope_of(role: Role, scope: str) -> dict[str, Any]:
    """The school (UAI), academy (code) or company (SIRET) a role is given for, found in
    the database; a French refusal naming the field when there is none."""
    scope = scope.strip()
    if role is Role.ACADEMY_MANAGER:
        academy = db.session.get(Academy, scope) if scope else None
        if academy is None:
            reason = f"académie inconnue (« {scope} »)" if scope else "choisissez l'académie"
            raise _refused("academy", "Académie", reason)
        return {"academy": academy}
    if role is Role.TEACHER:
        uai = scope.upper()
        school = db.session.scalar(select(School).where(School.uai == uai)) if uai else None
        if school is None:
            reason = f"aucun établissement n'a l'UAI « {uai} »" if uai else "indiquez son UAI"
            raise _refused("school", "Établissement", reason)
        return {"school": school}
    if role is Role.VENDOR:
        siret = "".join(scope.split())
        vendor = db.session.scalar(select(Vendor).where(Vendor.siret == siret)) if siret else None
        if vendor is None:
            reason = (
                f"aucun éditeur inscrit n'a le SIRET « {siret} »" if siret else "indiquez son SIRET"
            )
            raise _refused("vendor", "Éditeur", reason)
        return {"vendor": vendor}
    return {}


def give_role(actor: User, user: User, role: Role, scope: str = "") -> RoleGrant:
    """The operator gives `user` a role, for the academy (code), school (UAI) or company
    (SIRET) the role needs. Refused, naming the field, for an unknown scope or a role the
    user already holds there. Audited by `grant_role`, with the roles before and after."""
    found = _scope_of(role, scope)
    wanted = (found.get("school"), found.get("academy"), found.get("vendor"))
    if any(g.role == role and (g.school, g.academy, g.vendor) == wanted for g in user.grants):
        where = next((str(v) for v in wanted if v is not None), "")
        reason = f"{user.name} a déjà ce rôle" + (f" pour {where}" if where else "")
        raise Conflict(f"Rôle : {reason}.", details={"role": [reason]})
    return grant_role(actor, user, role, **found)


def remove_role(actor: User, user: User, grant_id: int) -> None:
    """The operator takes a role back from `user`. An operator cannot remove their own
    national operator role, nor the last one's: the platform always keeps an operator
    (the operators' grants are locked while counted, so two removals at once cannot
    both pass). Audited with the roles before and after."""
    grant = next((g for g in user.grants if g.id == grant_id), None)
    if grant is None:
        raise NotFound("Ce rôle n'est pas (ou plus) attribué à cette personne.")
    if grant.role is Role.ADMIN:
        if user.id == actor.id:
            reason = (
                "vous ne pouvez pas retirer votre propre rôle d'opérateur national : "
                "demandez-le à un autre opérateur"
            )
            raise Conflict(f"Rôle : {reason}.", details={"role": [reason]})
        operators = db.session.scalars(
            select(RoleGrant.id)
            .join(User, User.id == RoleGrant.user_id)
            .where(RoleGrant.role == Role.ADMIN, User.active.is_(True))
            .order_by(RoleGrant.id)
            .with_for_update(of=RoleGrant)
        ).all()
        if len([i for i in operators if i != grant.id]) == 0:
            reason = (
                "c'est le dernier opérateur national : donnez d'abord ce rôle à une autre personne"
            )
            raise Conflict(f"Rôle : {reason}.", details={"role": [reason]})
    before = roles_held(user)
    user.grants.remove(grant)
    db.session.flush()
    audit.record(
        actor,
        "role.revoked",
        "user",
        user.id,
        role=grant.role.value,
        scope=scope_name(grant),
        before=before,
        after=roles_held(user),
    )
