"""Academies, schools and school years: the frame every euro of credit lives in."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Cents, UTCDateTime, enum_column, utcnow
from app.extensions import Model
from catalog import vocabularies

if TYPE_CHECKING:
    from app.accounts.models import User


class Academy(Model):
    """A rectorat, by the ministry's code ("01" Paris … "70" Normandie)."""

    __tablename__ = "academy"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    email_domain: Mapped[str] = mapped_column(String(100))

    schools: Mapped[list[School]] = relationship(back_populates="academy")

    @property
    def email_domains(self) -> tuple[str, ...]:
        """The domains of the academy's addresses, from the catalogue's reference list
        (`email_domain`, kept in the database, is the current one)."""
        reference = vocabularies.academy(self.code)
        return reference.email_domains if reference is not None else (self.email_domain,)

    @property
    def at_domains(self) -> list[str]:
        """Its domains as people read them: "@ac-paris.fr"."""
        return [f"@{domain}" for domain in self.email_domains]

    def accepts_email(self, email: str) -> bool:
        """Whether `email` is an address of one of the academy's domains."""
        local, at, domain = email.strip().rpartition("@")
        return bool(local and at) and domain.lower() in self.email_domains

    def __str__(self) -> str:
        elided = self.name[0] in "AEIOUÉ"
        return f"Académie d'{self.name}" if elided else f"Académie de {self.name}"


class School(Model):
    """A school (école, collège, lycée…) identified by its UAI."""

    __tablename__ = "school"

    id: Mapped[int] = mapped_column(primary_key=True)
    uai: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(100))
    academy_code: Mapped[str] = mapped_column(ForeignKey("academy.code"), index=True)
    # Whether the school is in the GAR's list (`flask gar import-etablissements`); None
    # until a list is imported: the GAR channel is offered to the schools not known not to.
    uses_gar: Mapped[bool | None] = mapped_column()

    academy: Mapped[Academy] = relationship(back_populates="schools")

    __table_args__ = (CheckConstraint("length(uai) = 8", name="uai_length"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.uai})"


class SchoolYear(Model):
    """A school year, "2026-2027", from 1 September to 31 August. Credit belongs to one."""

    __tablename__ = "school_year"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("starts_on < ends_on", name="starts_before_end"),)

    def __str__(self) -> str:
        return self.code


class AllocationMethod(enum.StrEnum):
    ONE = "one"  # one teacher, from a form
    FILE = "file"  # an uploaded CSV file, one amount per line
    RULE = "rule"  # the same amount to every teacher of the academy (or of chosen schools)

    @property
    def label(self) -> str:
        return str(ALLOCATION_METHOD_LABELS[self])


ALLOCATION_METHOD_LABELS = {
    AllocationMethod.ONE: _l("Un enseignant"),
    AllocationMethod.FILE: _l("Fichier"),
    AllocationMethod.RULE: _l("Règle"),
}


class Allocation(Model):
    """An academy manager's decision to give credit to teachers, and what it moved.

    Previewed first (file and rule), then applied once: its journal entries carry the
    reference `allocation:<id>`. The unique idempotency key makes a re-submitted form
    a replay; a file's hash makes the same file impossible to apply twice.
    """

    __tablename__ = "allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    academy_code: Mapped[str] = mapped_column(ForeignKey("academy.code"))
    school_year_code: Mapped[str] = mapped_column(ForeignKey("school_year.code"))
    method: Mapped[AllocationMethod] = mapped_column(enum_column(AllocationMethod))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(300))
    # The uploaded file (text) or the rule (JSON), and its SHA-256.
    source: Mapped[str] = mapped_column(Text, default="")
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    teacher_count: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[Cents] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    academy: Mapped[Academy] = relationship()
    author: Mapped[User | None] = relationship()

    __table_args__ = (
        Index(
            "uq_allocation_file_applied_once",
            "academy_code",
            "school_year_code",
            "source_sha256",
            unique=True,
            postgresql_where=text("method = 'file' AND applied_at IS NOT NULL"),
            sqlite_where=text("method = 'file' AND applied_at IS NOT NULL"),
        ),
        Index("ix_allocation_academy_year", "academy_code", "school_year_code", "created_at"),
    )

    @property
    def reference(self) -> str:
        return f"allocation:{self.id}"

    @property
    def recipient_email(self) -> str:
        """The teacher's address of a single allocation ("" for a file or a rule)."""
        if self.method != AllocationMethod.ONE:
            return ""
        return self.source.split(";", 1)[0]


class PoolThreshold(Model):
    """The amount under which an academy's managers want to hear that their pool runs low,
    for one school year (each year's pool is a separate envelope, funded anew: a
    threshold suited to last year's budget says nothing about this year's).

    No row: no alert. Crossing it (a debit taking the pool from at or above the threshold
    to below) tells the managers once; the pool going back above re-arms it, since the
    next crossing is another debit."""

    __tablename__ = "pool_threshold"

    academy_code: Mapped[str] = mapped_column(ForeignKey("academy.code"), primary_key=True)
    school_year_code: Mapped[str] = mapped_column(ForeignKey("school_year.code"), primary_key=True)
    threshold_cents: Mapped[Cents] = mapped_column()
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("threshold_cents > 0", name="threshold_positive"),)
