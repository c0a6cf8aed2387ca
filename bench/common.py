"""What every benchmark needs: its own PostgreSQL database, dropped and recreated."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import URL


def libpq_url(url: URL, database: str | None = None) -> str:
    """The URL as psycopg wants it (no "+psycopg"), optionally on another database."""
    url = url.set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def recreate_database(url: URL) -> None:
    """Drop and create the benchmark's database; refuses a name without "bench"."""
    name = url.database or ""
    if url.get_backend_name() != "postgresql" or "bench" not in name:
        raise SystemExit(
            f"refusing to drop {name!r}: the benchmark only drops and recreates a PostgreSQL "
            "database whose name contains 'bench'"
        )
    with psycopg.connect(libpq_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
