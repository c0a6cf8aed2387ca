"""The page « Données ouvertes », its files, the nightly task and the command."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.core import jobs, schedule
from app.extensions import db
from app.opendata import services
from app.opendata.models import OpenDataGeneration
from tests.opendata.conftest import World
from tests.opendata.helpers import files_of
from tests.reporting.helpers import visible_text

PAGE = "/donnees-ouvertes"


def test_the_page_says_when_nothing_was_published_yet(client: FlaskClient) -> None:
    response = client.get(PAGE)

    assert response.status_code == 200
    text = visible_text(response)
    assert "Les données ouvertes n’ont pas encore été publiées" in text
    assert "Licence Ouverte / Open Licence version 2.0" in text
    assert client.get(f"{PAGE}/catalogue.csv").status_code == 404


def test_the_page_links_to_every_file_of_the_last_generation(
    client: FlaskClient, world: World
) -> None:
    generation = services.publish()
    db.session.commit()

    response = client.get(PAGE)
    page = response.get_data(as_text=True)
    text = visible_text(response)
    assert "Fichiers générés le" in text
    assert "moins de 10 enseignants distincts" in text
    links = set(re.findall(r'href="(/donnees-ouvertes/[^"]+)"', page))
    assert links == {f"{PAGE}/{name}" for name in services.FILENAMES}
    expected = files_of(generation)
    for link in sorted(links):
        download = client.get(link)
        assert download.status_code == 200, link
        assert download.get_data() == expected[link.rsplit("/", 1)[-1]]
        assert download.headers["Cache-Control"] == "public, max-age=3600"
    assert client.get(f"{PAGE}/catalogue.csv").mimetype == "text/csv"
    assert client.get(f"{PAGE}/autre.csv").status_code == 404
    for api in ("/api/v1/donnees-ouvertes/catalogue", "/api/v1/donnees-ouvertes/depenses"):
        assert api in page
        assert client.get(api).status_code == 200


def test_the_footer_and_the_site_map_link_to_the_page(client: FlaskClient) -> None:
    for path in ("/aide", "/plan-du-site"):
        assert f'href="{PAGE}"' in client.get(path).get_data(as_text=True), path


def test_the_nightly_task_is_registered_and_can_run_again(app: Flask, world: World) -> None:
    task = schedule.TASKS["opendata.publish"]
    assert task.cron == "40 3 * * *"
    assert task.run is services.publish_nightly
    with app.test_request_context():
        assert str(task.label) == "Publication des données ouvertes"

    task.run()
    first = services.latest()
    task.run()
    second = services.latest()

    assert first is not None
    assert second is not None
    assert second.id > first.id
    # The same data: the same data files (the package names its generation's time, to the
    # second, so it changes when the two runs fall in different seconds).
    data = [name for name in first.files if name != "datapackage.json"]
    assert data
    assert {name: second.files[name] for name in data} == {name: first.files[name] for name in data}


def test_the_nightly_task_publishes_through_the_outbox(world: World) -> None:
    """As the scheduler runs it: a job `schedule` of the outbox, whose commit publishes."""
    jobs.enqueue(schedule.KIND, {"task": "opendata.publish", "period": None}, key="test:opendata:1")
    db.session.commit()

    assert jobs.work(once=True, kinds=[schedule.KIND]) == 1

    db.session.expire_all()
    generation = services.latest()
    assert generation is not None
    assert generation.rows == {"catalogue": 8, "depenses": 5}


def test_the_command_publishes_and_says_what_it_wrote(app: Flask, world: World) -> None:
    result = app.test_cli_runner().invoke(args=["opendata", "publish"])

    assert result.exit_code == 0, result.output
    assert "catalogue : 8 lignes" in result.output
    assert "depenses.csv" in result.output
    assert "publiée le" in result.output
    assert services.latest() is not None


def test_the_command_run_again_keeps_the_last_two_generations(app: Flask, world: World) -> None:
    runner = app.test_cli_runner()
    outputs = [runner.invoke(args=["opendata", "publish"]).output for _run in range(3)]

    assert "supprimée" not in outputs[1]
    assert "La génération la plus ancienne est supprimée, avec ses fichiers." in outputs[2]
    assert db.session.query(OpenDataGeneration).count() == 2


def test_the_command_fails_cleanly_and_keeps_the_previous_generation(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    previous = services.publish()
    session.commit()

    def broken() -> list[services.Row]:
        raise RuntimeError("base indisponible")

    monkeypatch.setitem(services.BUILDERS, "depenses", broken)
    result = app.test_cli_runner().invoke(args=["opendata", "publish"])

    assert result.exit_code != 0
    assert "la génération précédente reste publiée" in result.output
    assert services.latest() == previous
