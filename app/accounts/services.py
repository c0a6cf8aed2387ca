"""Users, passwords and role grants. Functions flush, never commit."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.models import Role, RoleGrant, User
from app.budgets.models import Academy, School
from app.core import audit
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.extensions import db
from app.vendors.models import Vendor

MIN_PASSWORD_LENGTH = 8

# Checked against when the email is unknown, so a wrong email and a wrong password
# take the same time and cannot be told apart.
_UNKNOWN_USER_HASH = generate_password_hash("not-a-password-of-anyone")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    """A scrypt hash (werkzeug's default), salted."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères.",
            details={"password": ["trop court"]},
        )
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
        password_hash=password_hash or (hash_password(password) if password else None),
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
    user.last_login_at = utcnow()
    return user


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
        raise ValidationFailed(
            f"Le rôle {role.label} demande : {', '.join(sorted(expected)) or 'aucun périmètre'}.",
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
    grant = RoleGrant(role=role, school=school, academy=academy, vendor=vendor)
    user.grants.append(grant)
    db.session.flush()
    audit.record(actor, "role.granted", "user", user.id, role=role.value, scope=str(grant.scope))
    return grant


# --- first login of a teacher registered by their academy ---------------------------------

ACTIVATION_MAX_AGE = 14 * 24 * 3600  # seconds a link stays valid


def _activation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="account-activation")


def activation_token(user: User) -> str:
    """A signed link token for a person who has no password yet; useless once one is set."""
    return _activation_serializer().dumps({"user": user.id, "email": user.email})


def account_waiting_for(email: str) -> User | None:
    """The active account registered for `email` by someone else, still without a password."""
    user = find_user(email)
    if user is None or user.password_hash is not None or not user.active:
        return None
    return user


def activate(token: str, password: str) -> User:
    """Set the first password of the account named by an activation token."""
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
    user.password_hash = hash_password(password)
    audit.record(user, "user.activated", "user", user.id)
    return user
