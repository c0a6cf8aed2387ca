"""The open-data files: valid against their Data Package (frictionless), the CSV and the
JSON agreeing, nothing personal, no small count, the dashboards' figures."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import frictionless
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import storage
from app.extensions import db
from app.opendata import services
from app.opendata.models import OpenDataGeneration
from app.reporting import services as reporting
from tests.opendata.conftest import LYON, PARIS, World
from tests.opendata.helpers import as_text, cents, csv_rows, files_of, json_rows, write_package
from tests.reporting.helpers import YEAR

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@pytest.fixture
def published(world: World) -> services.OpenDataGeneration:
    generation = services.publish()
    db.session.commit()  # a refused request rolls back to here, not further
    return generation


def test_the_files_validate_against_their_data_package(
    published: services.OpenDataGeneration, tmp_path: Path
) -> None:
    report = frictionless.validate(str(write_package(published, tmp_path)))

    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "note"])
    names = {task.name for task in report.tasks}
    assert names == {"catalogue-csv", "catalogue-json", "depenses-csv", "depenses-json"}


def test_the_package_describes_every_column_in_french_under_the_open_licence(
    published: services.OpenDataGeneration,
) -> None:
    package = services.datapackage(published.generated_at, published.rows)
    report = frictionless.Package.validate_descriptor(package)
    assert report.valid, report.flatten(["note"])

    assert package["licenses"][0]["name"] == "etalab-2.0"
    for resource in package["resources"]:
        assert resource["licenses"][0]["title"] == "Licence Ouverte / Open Licence version 2.0"
        schema = resource["schema"]
        assert schema["primaryKey"]
        assert schema["missingValues"] == [""]
        for field in schema["fields"]:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", field["name"]), field["name"]
            assert field["description"], field["name"]


def test_a_broken_file_fails_the_validation(
    published: services.OpenDataGeneration, tmp_path: Path
) -> None:
    """The check is real: a count under 10 in `depenses.csv` breaks the schema."""
    write_package(published, tmp_path)
    path = tmp_path / "depenses.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    published_line = next(i for i, line in enumerate(lines) if ",false," in line)
    lines[published_line] = lines[published_line].rsplit(",", 1)[0] + ",9"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

    report = frictionless.validate(str(tmp_path / services.PACKAGE))

    assert not report.valid
    assert report.flatten(["fieldName", "type"]) == [["nombre_enseignants", "constraint-error"]]
    assert [task.name for task in report.tasks if not task.valid] == ["depenses-csv"]


def test_csv_and_json_hold_the_same_rows(published: services.OpenDataGeneration) -> None:
    files = files_of(published)
    for name in services.DATASETS:
        from_csv = csv_rows(files[f"{name}.csv"])
        from_json = json_rows(files[f"{name}.json"])
        assert len(from_csv) == len(from_json) == published.rows[name] > 0
        columns = [field["name"] for field in services.FIELDS[name]]
        numbers = {field["name"] for field in services.FIELDS[name] if field["type"] == "number"}
        for csv_row, json_row in zip(from_csv, from_json, strict=True):
            assert list(csv_row) == columns == list(json_row)
            for column in numbers:  # 20.00 in the CSV, 20.0 in the JSON: the same number
                if json_row[column] is not None:
                    assert Decimal(csv_row.pop(column)) == Decimal(str(json_row.pop(column)))
            assert csv_row == {key: as_text(value) for key, value in json_row.items()}


def test_nothing_personal_is_published(
    world: World, published: services.OpenDataGeneration
) -> None:
    everything = b"".join(files_of(published).values()).decode("utf-8")

    assert EMAIL.search(everything) is None
    for person in world.teachers:
        assert person.email not in everything
        assert person.name not in everything
        assert person.name.split()[-1] not in everything
    for school in world.schools.values():
        assert school.name not in everything
        assert school.uai not in everything
    declared = services.catalogue_rows()[0]
    assert "dpo" not in " ".join(declared).lower()  # the DPO's contact is never a column


def test_no_figure_comes_from_fewer_than_10_teachers(
    published: services.OpenDataGeneration,
) -> None:
    rows = json_rows(files_of(published)["depenses.json"])
    figures = ("montant_euros", "nombre_commandes", "nombre_enseignants")

    for row in rows:
        if row["secret_statistique"]:
            assert all(row[name] is None for name in figures), row
        else:
            assert row["nombre_enseignants"] >= services.SMALL_COUNT, row
    suppressed = {
        (r["code_academie"], r["code_discipline"]) for r in rows if r["secret_statistique"]
    }
    assert suppressed == {(PARIS, "francais"), (LYON, "histoire_geographie")}
    assert all(r["code_academie"] in (PARIS, LYON) for r in rows)  # no national total


def test_the_published_cells(published: services.OpenDataGeneration) -> None:
    rows = {
        (r["mois"], r["code_academie"], r["code_discipline"], r["code_niveau"]): r
        for r in json_rows(files_of(published)["depenses.json"])
    }

    maths = rows[("2026-09", PARIS, "mathematiques", "cycle_3")]
    # 12 bought the maths at 40 €, one cancelled: 11 teachers, 11 orders, 440 €.
    assert (maths["montant_euros"], maths["nombre_commandes"], maths["nombre_enseignants"]) == (
        440.0,
        11,
        11,
    )
    assert maths["annee_scolaire"] == YEAR
    assert maths["academie"] == "Paris"
    assert maths["discipline"] == "Mathématiques"
    # The sciences count whole under each of their two disciplines.
    for discipline in ("svt", "physique_chimie"):
        cell = rows[("2026-10", PARIS, discipline, "cycle_4")]
        assert (cell["montant_euros"], cell["nombre_enseignants"]) == (400.0, 10)


def test_the_figures_match_the_dashboards(
    world: World, published: services.OpenDataGeneration, session: Session
) -> None:
    """Per academy, the published figures of each discipline summed over the months (and
    levels: every resource here has one level) are the dashboards'; so are those of a
    level whose resources have one discipline (a resource of two disciplines is in both
    rows of its level: summing them would count it twice, as the description says)."""
    reporting.refresh(YEAR)
    rows = [
        row
        for row in json_rows(files_of(published)["depenses.json"])
        if row["code_academie"] == PARIS and not row["secret_statistique"]
    ]
    dash = reporting.dashboard(YEAR, PARIS, primary=True)
    disciplines = {bar.label: bar.cents for bar in dash.rankings["discipline"].bars}
    levels = {bar.label: bar.cents for bar in dash.rankings["level"].bars}
    by_discipline: dict[str, int] = {}
    for row in rows:
        by_discipline[row["discipline"]] = by_discipline.get(row["discipline"], 0) + cents(
            row["montant_euros"]
        )
    assert set(by_discipline) == {
        "Mathématiques",
        "Physique-chimie",
        "Sciences de la vie et de la Terre",
    }
    for label, total in by_discipline.items():
        assert disciplines[label] == total, label
    cycle_3 = [row for row in rows if row["code_niveau"] == "cycle_3"]
    assert len(cycle_3) == 1  # the maths only
    assert levels[cycle_3[0]["niveau"]] == cents(cycle_3[0]["montant_euros"])
    # And a month of the academy, the monthly report's figure: September is all maths.
    september = reporting.month_figures(PARIS, date(2026, 9, 1))
    maths = next(r for r in rows if r["mois"] == "2026-09" and r["code_academie"] == PARIS)
    assert september.bought_cents - september.refunded_cents == cents(maths["montant_euros"])


def test_the_catalogue_lists_each_offer_on_sale(
    world: World, published: services.OpenDataGeneration
) -> None:
    rows = json_rows(files_of(published)["catalogue.json"])

    assert len(rows) == 2 * len(world.products)  # a teacher and a school plan each
    maths = [r for r in rows if r["identifiant_produit"] == world.products["maths"].id]
    assert [r["offre"] for r in maths] == ["Licence enseignant", "Licence établissement"]
    teacher = maths[0]
    assert teacher["editeur"] == "Éditions Alpha SAS"
    assert teacher["siren_editeur"] == "123456782"
    assert teacher["prix_ttc_euros"] == 20.0
    assert teacher["taux_tva_pourcent"] == 5.5
    school_csv = csv_rows(files_of(published)["catalogue.csv"])[1]
    assert (school_csv["offre"], school_csv["taux_tva_pourcent"]) == ("Licence établissement", "20")
    assert school_csv["prix_ttc_euros"] == "40.00"
    assert teacher["disciplines"] == "Mathématiques"
    assert teacher["hebergement_pays"] == "FR"
    assert teacher["publicite"] is False
    assert teacher["label_date_fin"]
    sciences = next(r for r in rows if r["identifiant_produit"] == world.products["sciences"].id)
    assert sciences["disciplines"] == "Physique-chimie | Sciences de la vie et de la Terre"


def test_a_failed_generation_leaves_the_previous_one_served(
    published: services.OpenDataGeneration, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = storage.save

    def failing(namespace: str, data: bytes, extension: str) -> str:
        if b'"resources"' in data:  # the package, written last
            raise OSError("disque plein")
        return real_save(namespace, data, extension)

    monkeypatch.setattr(storage, "save", failing)
    with pytest.raises(OSError, match="disque plein"):
        services.publish()

    assert services.latest() == published


def test_the_nightly_run_keeps_two_generations_and_deletes_what_only_older_ones_used(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    nights = iter(datetime(2026, 12, day, 2, 40, tzinfo=UTC) for day in (1, 2, 3))
    monkeypatch.setattr(services, "utcnow", lambda: next(nights))
    keys, ids = [], []
    for _night in range(3):
        services.publish_nightly()
        generation = services.latest()
        assert generation is not None
        keys.append({name: generation.key(name) for name in generation.files})
        ids.append(generation.id)

    remaining = db.session.scalars(select(OpenDataGeneration.id).order_by(OpenDataGeneration.id))
    assert list(remaining) == ids[1:]
    first, kept = keys[0], keys[1:]
    assert not storage.exists(first[services.PACKAGE])  # it names its night: its own file
    assert first["catalogue.csv"] == kept[-1]["catalogue.csv"]  # the same data since
    assert storage.exists(first["catalogue.csv"])  # so still there, for the kept ones
    assert all(storage.exists(key) for generation in kept for key in generation.values())
    served = services.latest()
    assert served is not None
    assert services.read_file(served, "catalogue.csv")
