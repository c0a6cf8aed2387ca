"""Declarative base, constraint naming convention and column conventions.

- Constraint names are stable (the naming convention), so migrations can name
  what they alter or drop.
- Timestamps are timezone-aware and in UTC (`utcnow`, `Timestamped`).
- Money is an integer number of euro cents: columns are named `*_cents` and
  typed `Mapped[int]` (`Cents`); never a float.
- Enums are stored by their value (`enum_column`), not by their Python name.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, Select, func
from sqlalchemy import bindparam as sa_bindparam
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An amount of money in euro cents. BIGINT: national totals exceed 2^31 cents.
Cents = Annotated[int, mapped_column(BigInteger)]
# Primary key of the tables that grow by millions of rows (BIGINT; SQLite's rowid).
BigId = BigInteger().with_variant(Integer, "sqlite")


# A SELECT of any columns, for functions that take a query of rows (ids, amounts…).
AnySelect = Select[*tuple[Any, ...]]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Timestamped:
    """Adds `created_at`, set by the database in UTC."""

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


def enum_column(enum_class: type[enum.Enum], **kwargs: Any) -> Enum:
    """An Enum column type that stores each member's value (`"teacher"`, not `"TEACHER"`)."""
    return Enum(
        enum_class,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        validate_strings=True,
        create_constraint=True,
        name=kwargs.pop("name", enum_class.__name__.lower()),
        length=kwargs.pop("length", 32),
        **kwargs,
    )


def insert_or_ignore(session: Any, entity: Any) -> Any:
    """An `INSERT … ON CONFLICT DO NOTHING` for the session's database (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if is_postgres(session):
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def is_postgres(session: Any) -> bool:
    return bool(session.get_bind().dialect.name == "postgresql")


def id_rows(session: Any, ids: list[int], name: str = "ids") -> Any:
    """A FROM clause of one BIGINT column `id` holding `ids`, whatever their number:
    one array parameter on PostgreSQL (`unnest`), a VALUES list on SQLite."""
    from sqlalchemy import column, values
    from sqlalchemy.dialects.postgresql import ARRAY

    if is_postgres(session):
        array = sa_bindparam(name, value=ids, type_=ARRAY(BigInteger))
        return func.unnest(array).table_valued("id").render_derived(name=name)
    return values(column("id", BigInteger), name=name).data([(id_,) for id_ in ids])
