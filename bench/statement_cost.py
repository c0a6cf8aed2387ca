"""What one statement costs the client, layer by layer: psycopg alone (the baseline, the
statement prepared), SQLAlchemy Core on the connection (statement built once), the same
through the ORM's Session, an ORM-enabled INSERT … RETURNING of the whole object (as the
checkout writes its rows), and an ORM SELECT of an object by its key.

    .venv/bin/python bench/statement_cost.py [--statements N] [--database-url URL]

Each layer runs N INSERT … RETURNING and N SELECT by key on a table of six columns, in one
transaction (rolled back), after a warm-up of 200; it prints the client's CPU per statement
(`process_time`) and the wall time. The checkout sends about 20 statements: multiply.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from common import libpq_url, recreate_database
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    bindparam,
    create_engine,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cr_bench_statement_cost"
WARM_UP = 200


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "statement_cost"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    cents: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def measure(label: str, run: Callable[[int], None], count: int) -> float:
    run(WARM_UP)
    wall, cpu = time.perf_counter(), time.process_time()
    run(count)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<62} {cpu / count * 1e3:6.3f} ms CPU  {wall / count * 1e3:6.3f} ms wall")
    return cpu / count


def values(i: int) -> dict[str, object]:
    return {
        "number": i,
        "title": "Ressource",
        "cents": 2000 + i,
        "kind": "teacher",
        "created_at": datetime.now(UTC),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=3000, help="per layer (3000)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    count, url = args.statements, make_url(args.database_url)
    recreate_database(url)
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    table = Row.__table__
    print(f"client CPU per statement, {count} statements a layer:")
    figures: dict[str, float] = {}

    with psycopg.connect(libpq_url(url)) as pg:  # the baseline
        cursor = pg.cursor()
        sql_insert = (
            "INSERT INTO statement_cost (number, title, cents, kind, created_at) "
            "VALUES (%(number)s, %(title)s, %(cents)s, %(kind)s, %(created_at)s) RETURNING id"
        )

        row = cursor.execute(sql_insert, values(0)).fetchone()
        key = row[0] if row else 0

        def raw_insert(n: int) -> None:
            for i in range(n):
                cursor.execute(sql_insert, values(i), prepare=True)
                cursor.fetchone()

        def raw_select(n: int) -> None:
            for _ in range(n):
                cursor.execute("SELECT * FROM statement_cost WHERE id = %s", (key,), prepare=True)
                cursor.fetchone()

        figures["raw"] = measure(
            "psycopg alone, INSERT … RETURNING id (prepared)", raw_insert, count
        )
        measure("psycopg alone, SELECT by key (prepared)", raw_select, count)
        pg.rollback()

    core_insert = insert(table).returning(table.c.id)
    core_select = select(table).where(table.c.id == bindparam("key"))
    with engine.connect() as connection:
        key = connection.execute(core_insert, values(0)).scalar_one()

        def on_connection(n: int) -> None:
            for i in range(n):
                connection.execute(core_insert, values(i)).scalar_one()

        def select_on_connection(n: int) -> None:
            for _ in range(n):
                connection.execute(core_select, {"key": key}).one()

        figures["core"] = measure(
            "Core on the connection, INSERT … RETURNING id", on_connection, count
        )
        measure("Core on the connection, SELECT by key", select_on_connection, count)
        connection.rollback()

    orm_insert = insert(Row).returning(Row)
    with Session(engine) as session:
        key = session.execute(core_insert, values(0)).scalar_one()

        def core_in_session(n: int) -> None:
            for i in range(n):
                session.execute(core_insert, values(i)).scalar_one()

        def orm_returning(n: int) -> None:
            for i in range(n):
                session.scalars(orm_insert, [values(i)]).one()

        def orm_get(n: int) -> None:
            for _ in range(n):
                session.scalars(select(Row).where(Row.id == key)).one()
                session.expunge_all()  # as a new request would: no identity-map hit

        figures["session"] = measure(
            "Core through Session.execute, INSERT … RETURNING id", core_in_session, count
        )
        figures["orm"] = measure(
            "ORM INSERT … RETURNING the object (built once)", orm_returning, count
        )
        measure("ORM SELECT of an object by key (statement built per call)", orm_get, count)
        session.rollback()

    raw = figures["raw"]
    print(
        "INSERT … RETURNING, × the baseline: "
        + ", ".join(f"{name} {cpu / raw:.1f}×" for name, cpu in figures.items())
    )


if __name__ == "__main__":
    main()
