"""The allocation by rule is set-based: the number of SQL statements it sends does not
depend on the number of teachers within one chunk, and grows by a fixed number a chunk."""

from __future__ import annotations

import pytest

from app.accounts.models import User
from app.budgets import services
from app.budgets.models import School
from app.core import dates
from app.extensions import db
from app.ledger import services as ledger
from catalog.identifiers import make_uai
from tests import factories
from tests.helpers import count_statements

YEAR = services.school_year_code(dates.today())


@pytest.fixture
def manager(session: object) -> User:
    services.ensure_school_year(YEAR)
    services.fund_academy(None, "01", YEAR, 100_000_00, "fund:test")
    return factories.academy_manager("01")


def _school(number: int, teachers: int) -> School:
    school = factories.SchoolFactory(uai=make_uai(f"{750_800 + number:07d}"), academy_code="01")
    for _ in range(teachers):
        factories.teacher(school)
    db.session.flush()
    return school


def _statements(manager: User, school: School, key: str) -> int:
    """The statements of the rule's application (preview aside), each teacher credited."""
    rule = services.Rule(100, school_ids=(school.id,))
    preview = services.preview_rule(manager, "01", YEAR, rule, key)
    with count_statements() as sent:
        for _progress in services.apply_allocation(manager, preview.allocation):
            pass
    assert preview.allocation.teacher_count == preview.teacher_count
    return len(sent)


def test_an_allocation_sends_as_many_statements_for_10_as_for_200_teachers(
    manager: User,
) -> None:
    few = _statements(manager, _school(1, 10), "few")
    many = _statements(manager, _school(2, 200), "many")
    assert few == many == 36, (few, many)
    assert ledger.verify().ok


def test_each_chunk_adds_the_same_statements(
    manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "ALLOCATION_CHUNK", 4)
    one = _statements(manager, _school(1, 4), "one")
    three = _statements(manager, _school(2, 10), "three")
    five = _statements(manager, _school(3, 18), "five")
    per_chunk = (three - one) // 2
    assert (three - one, five - three) == (2 * per_chunk, 2 * per_chunk)
    assert (one, per_chunk) == (36, 23), (one, three, five)
    assert ledger.verify().ok
