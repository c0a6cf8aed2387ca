"""Two runs of the same rule at once, each committing chunk by chunk, credit every
teacher exactly once (PostgreSQL, real parallel sessions)."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.budgets import services
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import AccountKind, LedgerAccount
from tests import factories
from tests.conftest import requires_postgres

YEAR = "2026-2027"
TEACHERS = 40


@requires_postgres
def test_two_runs_of_a_rule_at_once_credit_each_teacher_once(
    committed: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "ALLOCATION_CHUNK", 3)  # many commits, many interleavings
    with committed.app_context():
        services.ensure_school_year(YEAR)
        services.fund_academy(None, "01", YEAR, 10_000_000, "fund:race")
        school = factories.SchoolFactory(academy_code="01")
        for _ in range(TEACHERS):
            factories.teacher(school)
        db.session.commit()

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(key: str) -> None:
        with committed.app_context():
            try:
                preview = services.preview_rule(
                    None, "01", YEAR, services.Rule(1000), f"rule:{key}"
                )
                db.session.commit()
                barrier.wait(timeout=10)
                for _ in services.apply_allocation(None, preview.allocation):
                    db.session.commit()
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                db.session.rollback()

    threads = [threading.Thread(target=run, args=(key,)) for key in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    with committed.app_context():
        balances = db.session.scalars(
            select(LedgerAccount.balance_cents).where(
                LedgerAccount.kind == AccountKind.TEACHER_CREDIT
            )
        ).all()
        assert sorted(balances) == [1000] * TEACHERS
        assert services.pool_balance("01", YEAR) == 10_000_000 - TEACHERS * 1000
        applied = db.session.scalar(
            select(func.sum(services.Allocation.teacher_count)).where(
                services.Allocation.applied_at.is_not(None)
            )
        )
        assert applied == TEACHERS
        assert ledger.verify().ok


@requires_postgres
def test_the_same_form_posted_twice_at_once_allocates_once(committed: Flask) -> None:
    with committed.app_context():
        services.ensure_school_year(YEAR)
        services.fund_academy(None, "01", YEAR, 100_000, "fund:double-click")
        school = factories.SchoolFactory(academy_code="01")
        manager = factories.academy_manager("01")
        uai, manager_id = school.uai, manager.id
        db.session.commit()

    barrier = threading.Barrier(5)
    results: list[int] = []
    errors: list[BaseException] = []

    def submit() -> None:
        with committed.app_context():
            try:
                actor = db.session.get(services.User, manager_id)
                barrier.wait(timeout=10)
                allocation = services.allocate_one(
                    actor, "01", YEAR, "double@ac-paris.fr", uai, "25", "same-token"
                )
                db.session.commit()
                results.append(allocation.id)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                db.session.rollback()

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(set(results)) == 1
    with committed.app_context():
        assert services.pool_balance("01", YEAR) == 100_000 - 2500
        assert ledger.verify().ok
