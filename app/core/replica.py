"""The read replica: where the dashboards and exports read when `DATABASE_REPLICA_URL`
names one (a PostgreSQL hot standby), so that heavy reports never load the primary,
which takes the purchases. Without it they read the primary, as everything else.

Only reads go there: a replica lags the primary by a moment and refuses writes. Code
that reads for a report opens ``with replica.reads() as session:`` and queries that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy.orm import Session

from app.extensions import db

BIND = "replica"


def init_app(app: Flask) -> None:
    """Declare the replica as a Flask-SQLAlchemy bind (before `db.init_app`), so that it
    gets the same engine options and is disposed of with the others."""
    url = app.config["DATABASE_REPLICA_URL"]
    if url:
        app.config["SQLALCHEMY_BINDS"] = {**app.config.get("SQLALCHEMY_BINDS", {}), BIND: url}


@contextmanager
def reads() -> Iterator[Session]:
    """A session for reads only: on the replica (closed at the end of the block), or the
    request's own session when there is no replica."""
    engine = db.engines.get(BIND)
    if engine is None:
        yield db.session()
        return
    with Session(engine) as session:
        yield session
