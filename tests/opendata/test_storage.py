"""A generation in S3-compatible object storage (the moto server), as in production, and
the demo's: published by the seed, valid, nothing personal."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import frictionless
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.budgets.services import school_year_code
from app.core import storage
from app.demo import DEMO_COLLEAGUE_BUYERS
from app.extensions import db
from app.opendata import services
from app.reporting import services as reporting
from tests.opendata.conftest import World
from tests.opendata.helpers import files_of, json_rows, write_package
from tests.s3 import S3Server


def test_a_generation_in_s3_is_served_by_the_page_and_the_api(
    app: Flask,
    client: FlaskClient,
    world: World,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = s3_server.new_bucket()
    monkeypatch.setitem(app.extensions, "storage", storage.open_storage(url))
    generation = services.publish()
    db.session.commit()

    keys = s3_server.keys(url)
    assert sorted(f"fichiers/{entry['key']}" for entry in generation.files.values()) == keys
    assert (
        client.get("/donnees-ouvertes/depenses.csv").get_data()
        == files_of(generation)["depenses.csv"]
    )
    served = client.get("/api/v1/donnees-ouvertes/catalogue").json["items"]
    assert served == json_rows(files_of(generation)["catalogue.json"])


def test_the_demo_publishes_valid_open_data(app: Flask, session: object, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output

    generation = services.latest()
    assert generation is not None
    report = frictionless.validate(str(write_package(generation, tmp_path)))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "note"])
    assert generation.rows["catalogue"] > 0
    everything = b"".join(files_of(generation).values()).decode("utf-8")
    assert re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", everything) is None
    assert "camille" not in everything.lower()  # the demo teacher
    # The demo teacher and twelve Paris colleagues bought mathematics for cycle 3 this
    # month (app/demo.py): that cell is published; the demo teacher's older orders are not.
    spending = json_rows(files_of(generation)["depenses.json"])
    published = [row for row in spending if not row["secret_statistique"]]
    month = date.today().strftime("%Y-%m")  # noqa: DTZ011 - as the seed
    assert [
        (row["mois"], row["code_academie"], row["code_discipline"], row["code_niveau"])
        for row in published
    ] == [(month, "01", "mathematiques", "cycle_3")]
    assert published[0]["nombre_enseignants"] == 1 + DEMO_COLLEAGUE_BUYERS
    # The dashboard counts the same buyers in Paris this year.
    dash = reporting.dashboard(school_year_code(date.today()), "01")  # noqa: DTZ011
    assert dash.buyers == published[0]["nombre_enseignants"]
    assert any(row["secret_statistique"] for row in spending)
