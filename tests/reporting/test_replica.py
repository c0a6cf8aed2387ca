"""With `DATABASE_REPLICA_URL`, the dashboards and exports read the replica: here a
second PostgreSQL database whose figures differ from the primary's, so the page tells
which one it read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.orm import Session

from app import create_app
from app.extensions import db
from app.reporting import services
from app.reporting.models import NATIONAL, SpendingSummary
from tests.conftest import DATABASE_URL, requires_postgres
from tests.database import scratch_database

pytestmark = requires_postgres

YEAR = "2026-2027"


def _figures(teachers: int) -> list[SpendingSummary]:
    return [
        SpendingSummary(
            school_year_code=YEAR,
            academy_code=NATIONAL,
            dimension="people",
            key="teachers",
            count=teachers,
        ),
        SpendingSummary(school_year_code=YEAR, academy_code=NATIONAL, dimension="refresh", key=""),
    ]


@pytest.fixture
def replica_url() -> Iterator[str]:
    """A second database with the schema (built by the migrations, as production's replica
    is a copy of a migrated database) and its own figures: 4,242 teachers."""
    with scratch_database(DATABASE_URL, "replica") as url:
        with create_app("test", SQLALCHEMY_DATABASE_URI=url).app_context():
            upgrade()
            db.engine.dispose()
        engine = sa.create_engine(url)
        with Session(engine) as replica:
            replica.add_all(_figures(4242))
            replica.commit()
        engine.dispose()
        yield url


def test_the_dashboard_reads_the_replica_when_there_is_one(
    app: Flask, session: Session, replica_url: str
) -> None:
    session.add_all(_figures(7))  # the primary's figures
    session.flush()
    with app.app_context():
        assert services.dashboard(YEAR).teachers == 7
        assert len(services.academies_side_by_side(YEAR)) == 30

    with_replica = create_app(
        "test", SQLALCHEMY_DATABASE_URI=DATABASE_URL, DATABASE_REPLICA_URL=replica_url
    )
    with with_replica.app_context():
        assert services.dashboard(YEAR).teachers == 4242
        # the side-by-side table and the exports read it too: it has no academy yet,
        # where the primary has the thirty
        assert services.academies_side_by_side(YEAR) == []
        assert list(services.allocation_rows("01", date(2026, 9, 1), date(2027, 8, 31)))[1:] == []
        db.engines["replica"].dispose()
