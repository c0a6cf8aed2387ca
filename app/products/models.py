"""Products and their versions.

A vendor never edits what teachers are buying: each change is a new *version* of the
product (draft → in review → approved or sent back). Exactly one version per product is
*listed* (on sale) at a time, guarded by a partial unique index; it stays on sale while
the next version is under review. Plans (how the product is sold, at what price) and the
data-practices declaration belong to a version, so an approved price or declaration can
never change under a teacher's feet.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Cents, Timestamped, UTCDateTime, enum_column
from app.extensions import Model

if TYPE_CHECKING:
    from app.vendors.models import Vendor


class Channel(enum.StrEnum):
    """How a licence reaches the teacher once bought."""

    CODES = "codes"
    WEBHOOK = "webhook"
    GAR = "gar"


class PlanKind(enum.StrEnum):
    TEACHER = "teacher"
    CLASS = "class"
    SCHOOL = "school"

    @property
    def label(self) -> str:
        return str(PLAN_LABELS[self])


PLAN_LABELS = {
    PlanKind.TEACHER: _l("Licence enseignant"),
    PlanKind.CLASS: _l("Licence classe"),
    PlanKind.SCHOOL: _l("Licence établissement"),
}


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    # An approved version replaced on the storefront by a newer approved one.
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return str(VERSION_STATUS_LABELS[self])


VERSION_STATUS_LABELS = {
    VersionStatus.DRAFT: _l("Brouillon"),
    VersionStatus.IN_REVIEW: _l("En cours d’examen"),
    VersionStatus.CHANGES_REQUESTED: _l("Modifications demandées"),
    VersionStatus.APPROVED: _l("Labellisé"),
    VersionStatus.REJECTED: _l("Refusé"),
    VersionStatus.SUPERSEDED: _l("Remplacé"),
}


EDITABLE_STATUSES = frozenset({VersionStatus.DRAFT, VersionStatus.CHANGES_REQUESTED})

# VAT rates allowed on a plan, in basis points (5.5 % = 550).
VAT_RATES_BP = (2000, 1000, 550, 210)


class Product(Timestamped, Model):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)

    vendor: Mapped[Vendor] = relationship()
    versions: Mapped[list[ProductVersion]] = relationship(
        back_populates="product", order_by="ProductVersion.number"
    )

    @property
    def latest(self) -> ProductVersion:
        """The version the vendor works on (the newest)."""
        return self.versions[-1]

    @property
    def listed(self) -> ProductVersion | None:
        """The version on the storefront, if any."""
        return next((v for v in self.versions if v.listed), None)


class ProductVersion(Timestamped, Model):
    __tablename__ = "product_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(
        enum_column(VersionStatus), default=VersionStatus.DRAFT
    )
    listed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(40))
    access_url: Mapped[str] = mapped_column(String(500))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    logo_key: Mapped[str | None] = mapped_column(String(100))
    # The resource's identifier in the GAR (an ark), for the gar channel.
    gar_resource_id: Mapped[str | None] = mapped_column(String(200))
    # The data-practices declaration, in catalog.conduct's JSON format.
    declaration: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The findings of the last code-of-conduct check, as a list of dicts.
    findings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    label_expires_on: Mapped[date | None] = mapped_column(Date)

    # Denormalised for the storefront: the cheapest plan and the searchable text
    # (title, summary, description, vendor and vocabulary labels, accents removed).
    price_from_cents: Mapped[Cents | None]
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # French full-text vector of search_text, kept by a trigger (PostgreSQL only).
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR().with_variant(Text(), "sqlite"), deferred=True
    )

    product: Mapped[Product] = relationship(back_populates="versions")
    plans: Mapped[list[Plan]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="Plan.id"
    )
    disciplines: Mapped[list[VersionDiscipline]] = relationship(cascade="all, delete-orphan")
    levels: Mapped[list[VersionLevel]] = relationship(cascade="all, delete-orphan")
    screenshots: Mapped[list[Screenshot]] = relationship(
        cascade="all, delete-orphan", order_by="Screenshot.position"
    )

    __table_args__ = (
        UniqueConstraint("product_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "NOT listed OR (status = 'approved' AND label_expires_on IS NOT NULL)",
            name="listed_is_approved",
        ),
        Index(
            "uq_product_version_one_listed",
            "product_id",
            unique=True,
            postgresql_where=text("listed"),
            sqlite_where=text("listed"),
        ),
        Index("ix_product_version_status", "status", "submitted_at"),
        # The storefront reads listed versions only: search, and newest first.
        Index(
            "ix_product_version_search",
            "search_vector",
            postgresql_using="gin",
            postgresql_where=text("listed"),
            sqlite_where=text("listed"),
        ),
        Index(
            "ix_product_version_listed_created",
            "created_at",
            postgresql_where=text("listed"),
            sqlite_where=text("listed"),
        ),
        # Suggestions as one types: any part of a word (LIKE '%…%'), PostgreSQL only.
        Index(
            "ix_product_version_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_where=text("listed"),
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def discipline_codes(self) -> list[str]:
        return [d.code for d in self.disciplines]

    @property
    def level_codes(self) -> list[str]:
        return [level.code for level in self.levels]

    def plan(self, kind: PlanKind) -> Plan | None:
        """This version's plan of `kind`, or None when the version does not offer it.

        The one way to look a plan up. It takes a :class:`PlanKind` only: a string (as a
        template would pass, ``version.plan("class")``) raises instead of silently never
        matching, and the comparison is by value, so a plan not yet reloaded from the
        database is found too."""
        if not isinstance(kind, PlanKind):
            raise TypeError(f"ProductVersion.plan() takes a PlanKind, not {kind!r}")
        return next((p for p in self.plans if p.kind == kind), None)


class VersionDiscipline(Model):
    __tablename__ = "product_version_discipline"

    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)

    __table_args__ = (Index("ix_product_version_discipline_code", "code", "version_id"),)


class VersionLevel(Model):
    __tablename__ = "product_version_level"

    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)

    __table_args__ = (Index("ix_product_version_level_code", "code", "version_id"),)


# Screenshots a version may show on the storefront.
SCREENSHOTS_MAX = 5


class Screenshot(Model):
    """A screenshot of a version, shown on its product page with the text that describes
    it to those who cannot see it (required). At most SCREENSHOTS_MAX per version: each
    takes one of the numbered places, which the database holds unique and in range."""

    __tablename__ = "product_version_screenshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))  # in storage, under screenshots/
    alt_text: Mapped[str] = mapped_column(String(250))

    __table_args__ = (
        UniqueConstraint("version_id", "position"),
        CheckConstraint(f"position BETWEEN 1 AND {SCREENSHOTS_MAX}", name="position_in_range"),
        CheckConstraint("length(trim(alt_text)) > 0", name="alt_text_given"),
    )


class Plan(Model):
    """How a version is sold: to one teacher, a class of up to N pupils, or a school.

    Every licence runs until the end of the school year it was bought in."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"))
    kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    price_cents: Mapped[Cents]  # including VAT
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    max_pupils: Mapped[int | None] = mapped_column(Integer)

    version: Mapped[ProductVersion] = relationship(back_populates="plans")

    __table_args__ = (
        UniqueConstraint("version_id", "kind"),
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint(
            f"vat_rate_bp IN ({', '.join(str(rate) for rate in VAT_RATES_BP)})",
            name="vat_rate_known",
        ),
        CheckConstraint(
            "(kind = 'class') = (max_pupils IS NOT NULL)"
            " AND (max_pupils IS NULL OR max_pupils > 0)",
            name="max_pupils_for_class",
        ),
    )

    @property
    def vat_cents(self) -> int:
        """The VAT included in the price, rounded to the cent."""
        return round(self.price_cents * self.vat_rate_bp / (10_000 + self.vat_rate_bp))


class SearchWord(Model):
    """A word of the catalogue's vocabulary, for "did you mean": the words of the titles,
    vendor names, disciplines and levels of the products on sale (docs/decisions/0024).

    `word` is the word as the search reads it (accents removed, lower case, singular);
    `label` one way it is written (accents kept), to show. Words are added when a version
    goes on sale and the whole table is rebuilt every night, so it may hold for a day the
    words of a product no longer on sale: a correction is offered only when the corrected
    search finds something."""

    __tablename__ = "search_word"

    word: Mapped[str] = mapped_column(String(60), primary_key=True)
    label: Mapped[str] = mapped_column(String(60))

    __table_args__ = (
        Index(
            "ix_search_word_trgm",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )


class ProductSearch(Model):
    """The storefront's narrow copy of each listed version: what a search filters, ranks
    and shows on a card, one short row per listed version. A search
    reads these rows instead of `product_version`'s wide ones (description, declaration,
    search text: 2–3 rows a page, the vector often out of line).

    Kept in step by :func:`app.products.services.refresh_product_search`, which a flush
    that lists, withdraws or changes a version calls (the session event below): a row
    exists while its version is listed. The other conditions of being on sale are read at
    search time, never copied: the label's end date is compared with today's
    (:func:`app.products.services.purchasable`), and the vendor's status is joined."""

    __tablename__ = "product_search"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("product_version.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(Integer)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"))
    label_expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300))
    logo_key: Mapped[str | None] = mapped_column(String(100))
    resource_type: Mapped[str] = mapped_column(String(40))
    price_from_cents: Mapped[Cents | None]
    # The price of each plan the version offers (NULL for a kind it does not offer): the
    # offer and price filters read the row and these columns' indexes.
    teacher_cents: Mapped[Cents | None]
    class_cents: Mapped[Cents | None]
    school_cents: Mapped[Cents | None]
    # The codes between spaces (" francais mathematiques "): the cards' tags and the
    # discipline and level filters (`LIKE '% francais %'`), read in the row.
    disciplines: Mapped[str] = mapped_column(String(1000), default="")
    levels: Mapped[str] = mapped_column(String(1000), default="")
    # The version's French full-text vector (PostgreSQL; NULL on SQLite, whose search
    # reads product_version.search_text).
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))

    __table_args__ = (
        Index("ix_product_search_vector", "search_vector", postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
        Index("ix_product_search_created", "created_at", "version_id"),
        Index("ix_product_search_price", "price_from_cents", "created_at", "version_id"),
        Index("ix_product_search_teacher", "teacher_cents"),
        Index("ix_product_search_class", "class_cents"),
        Index("ix_product_search_school", "school_cents"),
    )

    @classmethod
    def price_of(cls, kind: PlanKind) -> Any:
        """The column of the price of `kind`'s plan."""
        return {
            PlanKind.TEACHER: cls.teacher_cents,
            PlanKind.CLASS: cls.class_cents,
            PlanKind.SCHOOL: cls.school_cents,
        }[kind]

    @property
    def discipline_codes(self) -> list[str]:
        return self.disciplines.split()

    @property
    def level_codes(self) -> list[str]:
        return self.levels.split()
