"""Which database the tests run on, and how it is prepared.

- `TEST_DATABASE_URL` when set;
- else, when `DATABASE_URL` names a PostgreSQL server, a sibling database named
  `<its name>_test` on that server (the tests never touch the database itself);
- else the local PostgreSQL on 127.0.0.1:5432 (user postgres), database
  `compte_ressources_test`, created when missing;
- else a SQLite file, with a warning (never on CI, where PostgreSQL is required).

Under pytest-xdist each worker gets its own database (`…_test_gw0`, `test_gw0.sqlite`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

from config import INSTANCE_DIR

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/compte_ressources_test"


def _postgres_answers(url: str) -> bool:
    server = make_url(url).set(drivername="postgresql", database="postgres")
    try:
        with psycopg.connect(server.render_as_string(hide_password=False), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _create_database_if_missing(url: str) -> None:
    parsed = make_url(url)
    server = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def _per_worker(url: str) -> str:
    """The worker's own database when pytest-xdist runs the suite in several processes."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        stem, dot, extension = (parsed.database or "test.sqlite").rpartition(".")
        return parsed.set(database=f"{stem}_{worker}{dot}{extension}").render_as_string(False)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(False)


def test_database_url() -> str:
    """The URL the test suite uses, the database created when needed."""
    candidates: list[str] = []
    if os.environ.get("TEST_DATABASE_URL"):
        candidates.append(os.environ["TEST_DATABASE_URL"])
    elif os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
        candidates.append(url.set(database=f"{url.database}_test").render_as_string(False))
    else:
        candidates.append(LOCAL_POSTGRES)
    candidates = [_per_worker(url) for url in candidates]
    for url in candidates:
        if url.startswith("sqlite"):
            return url
        if _postgres_answers(url):
            _create_database_if_missing(url)
            return url
    if os.environ.get("CI"):
        raise RuntimeError(
            f"PostgreSQL ne répond pas ({candidates[0]}) : les tests l'exigent sur CI."
        )
    return _per_worker(f"sqlite:///{INSTANCE_DIR / 'test.sqlite'}")


def describe(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite ({parsed.database}) — PostgreSQL not reachable, concurrency tests skipped"
    return f"PostgreSQL {parsed.host}:{parsed.port}/{parsed.database}"


@contextmanager
def scratch_database(url: str, suffix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside the tests' one (`<its name>_<suffix>`),
    dropped afterwards (with whatever is still connected to it)."""
    scratch = make_url(url).set(database=f"{make_url(url).database}_{suffix}")
    server = make_url(url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{scratch.database}"')
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
