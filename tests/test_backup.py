"""`make backup` and `make restore` (docs/deploy.md), for real: the demo seeded into a
new database, dumped with pg_dump, restored with pg_restore into another new database,
where `flask ledger verify` passes and the rows are all there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.demo import DEMO_ACCOUNTS, TEACHERS
from app.extensions import db
from config import BASE_DIR
from tests.conftest import DATABASE_URL, requires_postgres
from tests.database import scratch_database

pytestmark = [requires_postgres, pytest.mark.committed]

COUNTED = ("academy", "school", "user", "ledger_account", "journal_entry", "posting", "order")


def _app(url: str) -> Flask:
    return create_app("test", SQLALCHEMY_DATABASE_URI=url)


def _make(target: str, database_url: str, **variables: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", target]
        + [f"{name}={value}" for name, value in variables.items()],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        counts = {
            table: db.session.scalar(sa.text(f'SELECT count(*) FROM "{table}"')) or 0
            for table in COUNTED
        }
        db.session.remove()
        db.engine.dispose()
    return counts


def test_a_backup_of_the_demo_restores_into_a_new_database_whose_ledger_verifies(
    tmp_path: Path,
) -> None:
    with scratch_database(DATABASE_URL, "backup_source") as source_url:
        source = _app(source_url)
        with source.app_context():
            flask_migrate.upgrade()
        seeded = source.test_cli_runner().invoke(args=["seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        before = _counts(source)

        printed = _make("backup", source_url, BACKUP_DIR=str(tmp_path))
        (dump,) = tmp_path.glob("*.dump")
        assert str(dump) in printed
        assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    with scratch_database(DATABASE_URL, "backup_restored") as restored_url:
        _make("restore", restored_url, FILE=str(dump))
        restored = _app(restored_url)
        verified = restored.test_cli_runner().invoke(args=["ledger", "verify"])
        assert verified.exit_code == 0, verified.output
        after = _counts(restored)

    assert after == before
    assert before["user"] == TEACHERS + len(DEMO_ACCOUNTS)  # the demo's people
    assert before["posting"] > 0
