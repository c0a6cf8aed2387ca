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
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    TypeDecorator,
    func,
)
from sqlalchemy import bindparam as sa_bindparam
from sqlalchemy import insert as sa_insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column

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


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores no zone: read back
    as UTC). Naive datetimes are refused: they are a bug waiting to happen."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime refused: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Timestamped:
    """Adds `created_at`, set by the database in UTC."""

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
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


_INSERTS: dict[tuple[type[Any], str, tuple[str, ...]], Any] = {}
M = TypeVar("M", bound=Base)


def insert_rows(
    session: Any,
    model: type[M],
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts_on: tuple[str, ...] = (),
) -> list[M]:
    """Write new rows of `model` and return their objects, in the order of `rows`, without
    the unit of work: a Core `INSERT … RETURNING id`, built once per model, then each
    object made from the values written (its columns' defaults included) and its id, as
    if a query had loaded it. For the hot paths, where the ORM's own INSERT … RETURNING of
    an object costs several times the statement (a checkout writes an order, its line, a
    licence, an invoice and its lines, an entry). A column whose default the database
    computes (a server default, a SQL expression) is read when first used.

    `skip_conflicts_on` (one row only): the columns of a unique index; a row whose values
    are already there is skipped (`ON CONFLICT (…) DO NOTHING`): the result is empty."""
    if not rows:
        return []
    if skip_conflicts_on and len(rows) != 1:
        raise ValueError("skip_conflicts_on: one row at a time")
    key = (model, session.get_bind().dialect.name, skip_conflicts_on)
    statement: Any = _INSERTS.get(key)
    if statement is None:
        table = cast(Table, model.__table__)
        statement = sa_insert(table)
        if skip_conflicts_on:
            statement = insert_or_ignore(session, table).on_conflict_do_nothing(
                index_elements=list(skip_conflicts_on)
            )
        statement = _INSERTS[key] = statement.returning(
            *table.primary_key, sort_by_parameter_order=True
        )
    result = session.execute(statement, rows[0] if len(rows) == 1 else list(rows))
    ids = result.all()
    written = result.last_inserted_params()  # with the columns' defaults
    written = written if isinstance(written, list) else [written]
    return [
        _persistent(session, model, {**values, **row._mapping})
        for values, row in zip(written[: len(ids)], ids, strict=True)
    ]


def _persistent(session: Any, model: type[M], values: Mapping[str, Any]) -> M:
    """The object of a row just written, from its column values, put in the session as if
    a query had loaded it: no flush writes it again, no SELECT reads it again."""
    mapper = sa_inspect(model)
    # As the ORM's own loading does: the attributes set in the object's state directly,
    # not through the constructor's attribute events (a tenth of a millisecond an object).
    instance = mapper.class_manager.new_instance()
    sa_inspect(instance).dict.update(
        {
            prop.key: values.get(column.key)  # not given and no default: NULL
            for prop in mapper.column_attrs
            if (column := prop.columns[0]).key in values
            or (column.default is None and column.server_default is None)
        }
    )
    make_transient_to_detached(instance)  # a default SQL computed is expired: read when used
    stale = session.identity_map.get(sa_inspect(instance).key)
    if stale is not None:  # a row rolled back earlier had this id (SQLite reuses them)
        session.expunge(stale)
    session.add(instance)
    return cast(M, instance)


def same_dialect(dialect: str) -> Any:
    """An Alembic `include_object` for a database of `dialect`: the schema objects built for
    other dialects only (``Index(...).ddl_if(dialect="postgresql")``, e.g. a trigram index)
    are not compared, so `flask db check` agrees on PostgreSQL and on SQLite alike."""

    def include(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == dialect

    return include


def is_postgres(session: Any) -> bool:
    return bool(session.get_bind().dialect.name == "postgresql")


def json_object(session: Any, fields: dict[str, Any]) -> Any:
    """A JSON object built by the database from named SQL expressions (an INSERT … SELECT
    writing payloads without any row going through Python)."""
    from sqlalchemy import JSON, String, cast, func, literal

    pairs: list[Any] = []
    for name, value in fields.items():
        pairs += [literal(name, String()), value]
    if is_postgres(session):
        return cast(func.json_build_object(*pairs), JSON)
    return func.json_object(*pairs)


def integer_rows(session: Any, name: str, **columns: list[int]) -> Any:
    """A FROM clause of BIGINT columns holding these values, however many rows, as one or
    two parameters: `unnest` of arrays on PostgreSQL, `json_each` on SQLite. The way to
    send a list a person gave (an upload's lines) to the database: one parameter a value
    (`in_(values)`) fails past 65,535 on PostgreSQL (32,766 on SQLite) and is slow long
    before.

    `integer_rows(session, "lines", account_id=[1, 2], amount_cents=[500, 700])`.
    """
    return _value_rows(session, name, BigInteger(), columns)


def text_rows(session: Any, name: str, **columns: Sequence[str]) -> Any:
    """`integer_rows` for text columns: `text_rows(session, "codes", code=["A1", "B2"])`."""
    return _value_rows(session, name, Text(), columns)


def _value_rows(session: Any, name: str, type_: Any, columns: Mapping[str, Sequence[Any]]) -> Any:
    import json

    from sqlalchemy import literal_column, select
    from sqlalchemy.dialects.postgresql import ARRAY

    names = list(columns)
    if is_postgres(session):
        arrays = [
            sa_bindparam(f"{name}_{column}", value=list(values), type_=ARRAY(type_))
            for column, values in columns.items()
        ]
        return func.unnest(*arrays).table_valued(*names).render_derived(name=name)
    rows = json.dumps([list(row) for row in zip(*columns.values(), strict=True)])
    each = func.json_each(sa_bindparam(f"{name}_json", value=rows)).table_valued("value")
    return select(
        *(
            func.json_extract(each.c.value, literal_column(f"'$[{index}]'")).label(column)
            for index, column in enumerate(names)
        )
    ).subquery(name)


def enable_sqlite_savepoints() -> None:
    """Let SQLAlchemy drive SQLite's transactions itself, so SAVEPOINTs work.

    Python's sqlite3 module begins transactions on its own and breaks nested ones (the
    SQLAlchemy documentation's "Serializable isolation / Savepoints" recipe). Our
    services rely on savepoints (a refused debit rolls back to one), so the embedded
    default needs this. Registered once for every SQLite engine; other engines untouched.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if event.contains(Engine, "begin", _sqlite_begin):
        return

    @event.listens_for(Engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None  # no implicit BEGIN from sqlite3
            dbapi_connection.execute("PRAGMA foreign_keys = ON")

    event.listen(Engine, "begin", _sqlite_begin)


def _sqlite_begin(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
