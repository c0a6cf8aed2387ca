"""The ledger under real concurrency: parallel sessions, each in its own thread, committing.

Every thread opens its own app context (hence its own session and connection), waits
at a barrier so they all start together, moves money and commits; a refusal
(`InsufficientFunds`) is rolled back. The data is created and committed first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.budgets.services import ensure_school_year
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, LedgerAccount
from app.ledger.services import InsufficientFunds
from tests import factories
from tests.conftest import requires_postgres
from tests.ledger.helpers import YEAR, allocate, fund, lines

pytestmark = [requires_postgres, pytest.mark.committed]

BARRIER_TIMEOUT = 30


@dataclass
class Outcome:
    succeeded: list[Any] = field(default_factory=list)
    refused: int = 0
    errors: list[BaseException] = field(default_factory=list)


def run_together(app: Flask, work: list[Callable[[], Any]]) -> Outcome:
    """Run each callable in its own thread and session, all at once; commit or roll back."""
    barrier = threading.Barrier(len(work), timeout=BARRIER_TIMEOUT)
    outcome = Outcome()
    lock = threading.Lock()

    def one(task: Callable[[], Any]) -> None:
        with app.app_context():
            try:
                barrier.wait()
                result = task()
                db.session.commit()
            except InsufficientFunds:
                db.session.rollback()
                with lock:
                    outcome.refused += 1
            except Exception as error:  # reported by the test
                db.session.rollback()
                with lock:
                    outcome.errors.append(error)
            else:
                with lock:
                    outcome.succeeded.append(result)

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        list(pool.map(one, work))
    return outcome


def account(account_id: int) -> LedgerAccount:
    found = db.session.get(LedgerAccount, account_id)
    assert found is not None
    return found


def check(app: Flask) -> dict[int, int | None]:
    """After the threads: the ledger verifies; returns every balance."""
    with app.app_context():
        report = ledger.verify()
        assert report.ok, report
        rows = db.session.execute(sa.text("SELECT id, balance_cents FROM ledger_account"))
        return {row.id: row.balance_cents for row in rows}


def test_concurrent_debits_never_overdraw_a_teacher(committed: Flask) -> None:
    app = committed
    with app.app_context():
        ensure_school_year(YEAR)
        teacher, vendor = factories.UserFactory(), factories.VendorFactory()
        pool = ledger.academy_pool("01", YEAR)
        credit = ledger.teacher_credit(teacher.id, "01", YEAR)
        payable = ledger.vendor_payable(vendor.id)
        fund(pool, 20_000)
        allocate(pool, credit, 20_000)
        credit_id, payable_id = credit.id, payable.id
        db.session.commit()

    lowest: list[int] = []
    done = threading.Event()

    def watch() -> None:  # reads the balance, committed, while the debits run
        with app.app_context():
            while not done.is_set():
                lowest.append(
                    db.session.scalar(
                        sa.select(LedgerAccount.balance_cents).where(LedgerAccount.id == credit_id)
                    )
                )
                db.session.rollback()

    def purchase(i: int) -> Callable[[], Any]:
        def task() -> int:
            entry = ledger.transfer(
                account(credit_id),
                account(payable_id),
                1_000,
                kind=EntryKind.PURCHASE,
                idempotency_key=f"order:{i}",
                reference=f"order:{i}",
                actor=None,
            )
            return entry.id

        return task

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcome = run_together(app, [purchase(i) for i in range(50)])
    finally:
        done.set()
        watcher.join()

    assert outcome.errors == []
    assert len(outcome.succeeded) == 20
    assert outcome.refused == 30
    assert len(set(outcome.succeeded)) == 20
    assert min(lowest) >= 0
    balances = check(app)
    assert balances[credit_id] == 0
    with app.app_context():
        assert ledger.balance(account(payable_id)) == 20_000


def test_concurrent_allocations_never_overdraw_the_pool(committed: Flask) -> None:
    app = committed
    with app.app_context():
        ensure_school_year(YEAR)
        pool = ledger.academy_pool("01", YEAR)
        fund(pool, 50_000)
        credits = [
            ledger.teacher_credit(factories.UserFactory().id, "01", YEAR).id for _ in range(40)
        ]
        pool_id = pool.id
        db.session.commit()

    def allocation(credit_id: int) -> Callable[[], Any]:
        def task() -> int:
            return ledger.transfer(
                account(pool_id),
                account(credit_id),
                3_000,
                kind=EntryKind.ALLOCATE,
                idempotency_key=f"allocation:{credit_id}",
                reference=f"allocation:{credit_id}",
                actor=None,
            ).id

        return task

    outcome = run_together(app, [allocation(c) for c in credits])

    assert outcome.errors == []
    assert len(outcome.succeeded) == 16
    assert outcome.refused == 24
    balances = check(app)
    assert balances[pool_id] == 2_000
    assert sorted(balances[c] for c in credits) == [0] * 24 + [3_000] * 16


def test_the_same_idempotency_key_at_once_moves_money_once(committed: Flask) -> None:
    app = committed
    with app.app_context():
        ensure_school_year(YEAR)
        teacher, vendor = factories.UserFactory(), factories.VendorFactory()
        pool = ledger.academy_pool("01", YEAR)
        credit = ledger.teacher_credit(teacher.id, "01", YEAR)
        payable = ledger.vendor_payable(vendor.id)
        fund(pool, 10_000)
        allocate(pool, credit, 10_000)
        credit_id, payable_id = credit.id, payable.id
        db.session.commit()
        entries_before = ledger.verify().entries

    def task() -> int:
        return ledger.transfer(
            account(credit_id),
            account(payable_id),
            1_000,
            kind=EntryKind.PURCHASE,
            idempotency_key="order:42",
            reference="order:42",
            actor=None,
        ).id

    outcome = run_together(app, [task] * 10)

    assert outcome.errors == []
    assert outcome.refused == 0
    assert len(outcome.succeeded) == 10
    assert len(set(outcome.succeeded)) == 1  # every thread got the same entry
    balances = check(app)
    assert balances[credit_id] == 9_000
    with app.app_context():
        assert ledger.verify().entries == entries_before + 1
        assert ledger.balance(account(payable_id)) == 1_000
        entry = ledger.find_entry("order:42")
        assert entry is not None
        assert entry.id == outcome.succeeded[0]


def test_two_batches_that_together_exceed_the_pool_one_succeeds(committed: Flask) -> None:
    app = committed
    with app.app_context():
        ensure_school_year(YEAR)
        pool = ledger.academy_pool("01", YEAR)
        fund(pool, 10_000)
        credits = [
            ledger.teacher_credit(factories.UserFactory().id, "01", YEAR).id for _ in range(10)
        ]
        pool_id = pool.id
        db.session.commit()

    def batch(name: str, credit_ids: list[int]) -> Callable[[], Any]:
        def task() -> int | None:
            entry = ledger.post_batch(
                EntryKind.ALLOCATE,
                lines((c, 1_500) for c in credit_ids),
                account(pool_id),
                idempotency_key=f"allocation-rule:{name}",
                reference=f"allocation-rule:{name}",
                actor=None,
            )
            return entry.id if entry else None

        return task

    outcome = run_together(app, [batch("a", credits[:5]), batch("b", credits[5:])])

    assert outcome.errors == []
    assert len(outcome.succeeded) == 1
    assert outcome.refused == 1
    balances = check(app)
    assert balances[pool_id] == 2_500
    funded = [c for c in credits if balances[c]]
    assert len(funded) == 5
    assert funded in (credits[:5], credits[5:])
    assert all(balances[c] == 1_500 for c in funded)
