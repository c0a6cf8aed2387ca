"""Users and the roles they hold.

A person may hold several roles; each grant carries its scope: the school of a
teacher, the academy of an academy manager, the company of a vendor member.
The database refuses a grant without the scope its role needs.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Timestamped, UTCDateTime, enum_column
from app.extensions import Model

if TYPE_CHECKING:
    from app.budgets.models import Academy, School
    from app.vendors.models import Vendor


class Role(enum.StrEnum):
    TEACHER = "teacher"
    VENDOR = "vendor"
    REVIEWER = "reviewer"
    ACADEMY_MANAGER = "academy_manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.TEACHER: _l("Enseignant"),
    Role.VENDOR: _l("Éditeur"),
    Role.REVIEWER: _l("Membre de la commission"),
    Role.ACADEMY_MANAGER: _l("Gestionnaire académique"),
    Role.ADMIN: _l("Opérateur national"),
}


class User(UserMixin, Timestamped, Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased (the CHECK guards it), so the unique index is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # None: the person was registered by someone else (an academy allocating credit)
    # and has not chosen a password yet.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When the account was closed: its name and address are replaced by a placeholder
    # once the retention period has passed (app/core/retention.py).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of the session cookie's user id: raising it signs the person out everywhere
    # ("se déconnecter de partout", a password change).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The language the person chose for the interface ("fr", "en"): their e-mails speak it.
    locale: Mapped[str | None] = mapped_column(String(5))

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        Index("ix_user_name", "name", "id"),  # the operator's list of users, by name
    )

    @property
    def is_active(self) -> bool:  # flask-login: a deactivated user cannot log in
        return self.active

    def get_id(self) -> str:  # flask-login: what the session cookie holds
        return f"{self.id}.{self.session_version}"

    @property
    def roles(self) -> set[Role]:
        return {grant.role for grant in self.grants}

    def has_role(self, role: Role, scope: object | None = None) -> bool:
        """True when the user holds `role`, and, if given, holds it for `scope`."""
        return any(
            grant.role == role and (scope is None or str(grant.scope) == str(scope))
            for grant in self.grants
        )

    def scopes(self, role: Role) -> list[object]:
        """The schools, academies or vendors for which the user holds `role`."""
        return [grant.scope_object for grant in self.grants if grant.role == role]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


# The operator's search of users, by any part of their name or address, any case, accents
# ignored: a trigram index over `user_search_key(name, email)`, a function of migration
# 0023 (PostgreSQL only; SQLite computes the key in Python, app/accounts/services.py).
Index(
    "ix_user_search",
    func.user_search_key(User.name, User.email).label("search_key"),
    postgresql_using="gin",
    postgresql_ops={"search_key": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


class RoleGrant(Timestamped, Model):
    """One role held by one user, within its scope."""

    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    academy_code: Mapped[str | None] = mapped_column(ForeignKey("academy.code"), index=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"), index=True)

    user: Mapped[User] = relationship(back_populates="grants")
    school: Mapped[School | None] = relationship(lazy="joined")
    academy: Mapped[Academy | None] = relationship(lazy="joined")
    vendor: Mapped[Vendor | None] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint(
            "user_id",
            "role",
            "school_id",
            "academy_code",
            "vendor_id",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("(role = 'teacher') = (school_id IS NOT NULL)", name="teacher_has_school"),
        CheckConstraint(
            "(role = 'academy_manager') = (academy_code IS NOT NULL)",
            name="academy_manager_has_academy",
        ),
        CheckConstraint("(role = 'vendor') = (vendor_id IS NOT NULL)", name="vendor_has_vendor"),
    )

    @property
    def scope(self) -> object | None:
        """The key of the scope: school id, academy code or vendor id (None for global roles)."""
        return self.school_id or self.academy_code or self.vendor_id

    @property
    def scope_object(self) -> object | None:
        return self.school or self.academy or self.vendor


class ExternalIdentity(Timestamped, Model):
    """The identity a person signs in with at an identity provider (ProConnect): the
    provider's stable subject, linked to the account on the first sign-in whose verified
    e-mail matched it, and used alone afterwards."""

    __tablename__ = "external_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("provider", "subject"),
        UniqueConstraint("provider", "user_id"),
    )


class ApiToken(Timestamped, Model):
    """A vendor's key to the REST API. Only its SHA-256 is stored: the token itself is
    shown once, when created. Scoped to one vendor; revocable."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, to recognise a token in the list ("cr_a1b2…").
    prefix: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    vendor: Mapped[Vendor] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
