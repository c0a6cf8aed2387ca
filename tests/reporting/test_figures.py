"""The dashboards' figures are the ledger's: after a refresh, every figure of an academy
(and of the whole country) equals what hand-written SQL finds in the postings and the
orders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from app.budgets import services as budgets
from app.extensions import db
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.reporting import services
from app.reporting.models import NATIONAL
from app.reporting.services import Dashboard, Ranking
from tests.conftest import AuthActions, requires_postgres
from tests.reporting import expected
from tests.reporting.conftest import LYON, PARIS, World
from tests.reporting.helpers import YEAR, allocate, at, buy, euros, visible_text

EVERYWHERE = pytest.mark.parametrize("academy", [PARIS, LYON, NATIONAL])


def _scope(academy: str) -> str | None:
    return None if academy == NATIONAL else academy


def _bars(ranking: Ranking) -> dict[str, tuple[int, int]]:
    return {bar.label: (bar.cents, bar.count) for bar in ranking.with_rest}


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    statements: list[str] = []
    connection = db.session.connection()

    def note(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", note)


def _refreshed(academy: str) -> Dashboard:
    services.refresh(YEAR)
    return services.dashboard(YEAR, academy)


@EVERYWHERE
def test_the_budget_figures_are_the_ledgers(world: World, academy: str) -> None:
    dash = _refreshed(academy)

    assert dash.ledger == expected.ledger(YEAR, _scope(academy))
    assert dash.net_spent_cents == dash.ledger["spent"] - dash.ledger["refunded"]
    assert dash.teachers == expected.teachers(_scope(academy))
    assert dash.buyers == expected.buyers(YEAR, _scope(academy))
    assert dash.buyers_share == dash.buyers / dash.teachers
    # Paris: David never bought; Lyon: Farid cancelled his only purchase.
    assert (dash.buyers, dash.teachers) == {PARIS: (3, 4), LYON: (1, 2), NATIONAL: (4, 6)}[academy]


def test_some_figures_counted_by_hand(world: World) -> None:
    """The SQL above does not compare nothing with nothing: a few figures, counted."""
    paris = _refreshed(PARIS)
    assert paris.ledger == {
        "received": 1_200_00,  # 1 000 € + 200 €
        "allocated": 410_00,  # 120 € to Alice, 150 € to Bruno, 80 € to Chloé, 60 € to David
        "spent": 202_50,  # 65 € + 12,50 € + 85 € + 40 €
        "refunded": 55_00,  # the sciences line Bruno cancelled
        "expired": 0,
        "pool": 790_00,
        "teachers": 262_50,  # 410 € − 202,50 € + 55 €
    }
    # Emma's sciences resource is of two disciplines: it counts in each.
    lyon = _bars(services.dashboard(YEAR, LYON).rankings["discipline"])
    assert lyon["Sciences de la vie et de la Terre"] == lyon["Physique-chimie"] == (55_00, 1)


def test_a_cancelled_funding_is_not_counted_as_received(world: World) -> None:
    funding = db.session.scalars(
        select(JournalEntry)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.kind == EntryKind.FUND, Posting.amount_cents == 200_00)
    ).first()
    assert funding is not None
    budgets.reverse_funding(world.admin, PARIS, funding.id, "Dotation saisie deux fois")

    paris = _refreshed(PARIS)

    assert (paris.ledger["received"], paris.ledger["pool"]) == (1_000_00, 590_00)
    assert paris.ledger["allocated"] == 410_00


@EVERYWHERE
def test_the_breakdowns_are_the_orders(world: World, academy: str) -> None:
    dash = _refreshed(academy)

    for dimension in ("vendor", "school", "discipline", "level", "resource_type", "product"):
        ranking = dash.rankings[dimension]
        assert _bars(ranking) == expected.breakdown(YEAR, dimension, _scope(academy)), dimension
        cents = [bar.cents for bar in ranking.bars]
        assert cents == sorted(cents, reverse=True), dimension
    weeks = {bar.label: (bar.cents, bar.count) for bar in dash.weeks}
    assert weeks == expected.weeks(YEAR, _scope(academy))
    assert [bar.label for bar in dash.weeks] == sorted(weeks)


def test_expired_credit_is_the_ledgers_after_the_year_is_closed(world: World) -> None:
    left = expected.ledger(YEAR, PARIS)["teachers"]
    for _ in budgets.close_year(world.admin, YEAR):
        pass

    dash = _refreshed(PARIS)

    assert dash.ledger == expected.ledger(YEAR, PARIS)
    assert (dash.ledger["expired"], dash.ledger["teachers"]) == (left, 0)


def test_the_figures_are_those_of_the_last_refresh(world: World) -> None:
    before = _refreshed(PARIS)
    buy(world.teachers["david"], [world.products["quiz"]], at("2026-11-16"))

    assert services.dashboard(YEAR, PARIS).ledger == before.ledger  # until the next refresh

    after = _refreshed(PARIS)
    assert after.ledger["spent"] == before.ledger["spent"] + 12_50
    assert after.ledger == expected.ledger(YEAR, PARIS)
    assert after.buyers == before.buyers + 1


def test_the_academy_dashboard_shows_its_buyers_and_breakdowns_not_the_budget_again(
    world: World, paris_manager: FlaskClient
) -> None:
    """The year's budget is on the academy's home page (budgets.academy_home): the
    dashboard links to it rather than writing its figures a second time."""
    services.refresh(YEAR)
    db.session.commit()
    figures = expected.ledger(YEAR, PARIS)

    page = visible_text(paris_manager.get(f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}"))

    assert "Enseignants ayant acheté au moins une fois : 3 sur 4 (75,0 %)." in page
    for label, (cents, lines) in expected.breakdown(YEAR, "vendor", PARIS).items():
        assert f"{label} {lines} {euros(cents)}" in page
    for key in ("received", "allocated", "pool", "teachers"):
        assert euros(figures[key]) not in page, key
    assert "Le budget de l’année (reçu, attribué, restant)" in page


def test_the_national_page_shows_each_academy_and_the_totals(
    world: World, client: FlaskClient, auth: AuthActions
) -> None:
    services.refresh(YEAR)
    db.session.commit()
    auth.login(world.admin.email)

    page = visible_text(client.get(f"/admin/tableau-de-bord?annee={YEAR}"))

    for code, name in ((PARIS, "Paris"), (LYON, "Lyon")):
        f = expected.ledger(YEAR, code)
        row = [
            f"{code} {name}",
            euros(f["received"]),
            euros(f["allocated"]),
            euros(f["spent"] - f["refunded"]),
            euros(budgets.remaining_cents(f["pool"], f["teachers"])),
            f"{expected.buyers(YEAR, code)} / {expected.teachers(code)}",
        ]
        assert " ".join(row) in page
    country = expected.ledger(YEAR)
    assert f"Reçu de l’État {euros(country['received'])}" in page
    assert "Enseignants ayant acheté au moins une fois 4 / 6 (66,7 %)" in page


def test_a_teacher_of_two_academies_counts_once_in_the_country(world: World) -> None:
    alice, lumiere = world.teachers["alice"], world.schools["lumiere"]
    alice.email = "alice.moved@ac-lyon.fr"  # Lyon credits Lyon addresses only
    allocate(world.managers[LYON], alice, lumiere, 50_00)  # she also teaches in Lyon
    buy(alice, [world.products["quiz"]], at("2026-11-17"), school=lumiere)

    dash = _refreshed(NATIONAL)

    assert (expected.buyers(YEAR), expected.teachers()) == (4, 6)
    assert (dash.buyers, dash.teachers) == (4, 6)


def test_a_cancelled_line_is_not_counted_as_a_purchase(world: World) -> None:
    products = _bars(_refreshed(PARIS).rankings["product"])

    # Bruno cancelled the sciences resource: it was not bought, in money or in number.
    assert products.get("Sciences animées", (0, 0)) == (0, 0)


@requires_postgres  # SQLite counts weeks in UTC (see _week in app/reporting/services.py)
def test_weeks_are_counted_in_paris_time(world: World) -> None:
    """Sunday 4 October 2026, 22:30 UTC is already Monday the 5th, 00:30, in Paris."""
    world.orders["paris_first"].created_at = datetime.fromisoformat("2026-10-04T22:30:00+00:00")
    db.session.flush()

    weeks = {bar.label: bar.cents for bar in _refreshed(PARIS).weeks}

    assert "2026-09-28" not in weeks  # the week of Sunday the 4th, in UTC
    assert weeks["2026-10-05"] == 65_00 + 12_50 + 30_00  # with Alice's quiz, Bruno's lecture


def test_reading_a_dashboard_costs_the_same_whatever_the_activity(world: World) -> None:
    services.refresh(YEAR)
    with count_queries() as quiet:
        services.dashboard(YEAR, PARIS)
    t = world.teachers
    allocate(world.managers[PARIS], t["david"], world.schools["victor_hugo"], 200_00)
    for day in ("2026-11-09", "2026-11-16", "2026-11-23"):
        buy(t["david"], [world.products["quiz"], world.products["lecture"]], at(day))
    services.refresh(YEAR)

    with count_queries() as busy:
        services.dashboard(YEAR, PARIS)

    assert len(busy) == len(quiet) > 0
