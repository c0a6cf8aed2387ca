"""Checkouts under real concurrency: parallel sessions, each in its own thread and app
context, committing (PostgreSQL only).

Every thread waits at a barrier so they all start together, runs one checkout and commits;
a refusal (a `DomainError`) is rolled back and counted. The data is committed first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.accounts.models import User
from app.core.errors import DomainError
from app.core.jobs import Job
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, JournalEntry
from app.licences import services as licences
from app.licences.models import Licence, LicenceStatus
from app.orders import services as orders
from app.orders.models import Order
from app.products.models import PlanKind
from tests import factories
from tests.conftest import requires_postgres
from tests.orders.helpers import (
    CLASS_AND_TEACHER_PLANS,
    buy,
    count,
    credit_of,
    give_credit,
    on_sale,
)

pytestmark = [requires_postgres, pytest.mark.committed]

BARRIER_TIMEOUT = 30


@dataclass
class Outcome:
    results: list[int] = field(default_factory=list)
    refusals: list[DomainError] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def run_together(app: Flask, work: list[Callable[[], int]]) -> Outcome:
    """Run each callable in its own thread and session, all at once; commit or roll back."""
    barrier = threading.Barrier(len(work), timeout=BARRIER_TIMEOUT)
    outcome = Outcome()
    lock = threading.Lock()

    def one(task: Callable[[], int]) -> None:
        with app.app_context():
            try:
                barrier.wait()
                result = task()
                db.session.commit()
            except DomainError as refusal:
                db.session.rollback()
                with lock:
                    outcome.refusals.append(refusal)
            except Exception as error:  # reported by the test
                db.session.rollback()
                with lock:
                    outcome.errors.append(error)
            else:
                with lock:
                    outcome.results.append(result)

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        list(pool.map(one, work))
    return outcome


def _teacher(teacher_id: int) -> User:
    teacher = db.session.get(User, teacher_id)
    assert teacher is not None
    return teacher


def _totals(teacher_id: int) -> dict[str, Any]:
    with db.session.no_autoflush:
        teacher = _teacher(teacher_id)
        return {
            "orders": count(Order),
            "purchases": count(JournalEntry, JournalEntry.kind == EntryKind.PURCHASE),
            "licences": count(Licence),
            "jobs": count(Job, Job.kind == licences.PROVISION),
            "credit": credit_of(teacher),
            "ledger_ok": ledger.verify().ok,
        }


def test_ten_checkouts_at_once_spend_the_credit_only_as_far_as_it_goes(committed: Flask) -> None:
    app = committed
    with app.app_context():
        teacher = factories.teacher()
        give_credit(teacher, 100_00)
        atlas = on_sale(title="Atlas des océans")  # a school plan at 40 €
        db.session.commit()
        teacher_id, atlas_id, vendor_id = teacher.id, atlas.id, atlas.vendor_id

    def checkout(n: int) -> Callable[[], int]:
        def task() -> int:
            items = [orders.Item(atlas_id, PlanKind.SCHOOL, 1, 40_00)]
            return orders.place_order(_teacher(teacher_id), items, f"checkout-form-{n}").id

        return task

    outcome = run_together(app, [checkout(n) for n in range(10)])

    assert outcome.errors == []
    assert len(set(outcome.results)) == 2
    assert len(outcome.refusals) == 8
    assert {type(refusal) for refusal in outcome.refusals} == {orders.CreditTooLow}
    assert "il vous manque 20,00\u00a0€" in outcome.refusals[0].message
    with app.app_context():
        assert _totals(teacher_id) == {
            "orders": 2,
            "purchases": 2,
            "licences": 2,
            "jobs": 2,
            "credit": 20_00,
            "ledger_ok": True,
        }
        assert ledger.balance(ledger.vendor_payable(vendor_id)) == 80_00


@pytest.mark.parametrize("through", ["cart", "items"])
def test_the_same_checkout_posted_twice_at_once_makes_one_order(
    committed: Flask, through: str
) -> None:
    app = committed
    with app.app_context():
        teacher = factories.teacher()
        give_credit(teacher, 100_00)
        atlas = on_sale(title="Atlas des océans")
        lab = on_sale(title="Laboratoire de chimie", plans=CLASS_AND_TEACHER_PLANS)
        orders.add_to_cart(teacher, atlas.id, PlanKind.SCHOOL)
        orders.add_to_cart(teacher, lab.id, PlanKind.TEACHER)
        db.session.commit()
        teacher_id, atlas_id, lab_id = teacher.id, atlas.id, lab.id

    def double_click() -> int:
        teacher = _teacher(teacher_id)
        if through == "cart":
            return orders.checkout(teacher, "one-form").id
        items = [
            orders.Item(atlas_id, PlanKind.SCHOOL, 1, 40_00),
            orders.Item(lab_id, PlanKind.TEACHER, 1, 25_00),
        ]
        return orders.place_order(teacher, items, "one-form").id

    outcome = run_together(app, [double_click, double_click])

    assert outcome.errors == []
    assert outcome.refusals == []
    assert len(outcome.results) == 2
    assert len(set(outcome.results)) == 1  # both clicks got the same order
    with app.app_context():
        assert _totals(teacher_id) == {
            "orders": 1,
            "purchases": 1,
            "licences": 2,
            "jobs": 2,
            "credit": 35_00,
            "ledger_ok": True,
        }


def test_the_teacher_plan_bought_in_two_tabs_at_once_is_bought_once(committed: Flask) -> None:
    """Both checkouts pass the "already owned" check before either commits: the database's
    one-teacher-plan index refuses the second licence, and its whole order is undone."""
    app = committed
    with app.app_context():
        teacher = factories.teacher()
        give_credit(teacher, 100_00)
        lab = on_sale(title="Laboratoire de chimie", plans=CLASS_AND_TEACHER_PLANS)
        db.session.commit()
        teacher_id, lab_id = teacher.id, lab.id

    def tab(n: int) -> Callable[[], int]:
        def task() -> int:
            items = [orders.Item(lab_id, PlanKind.TEACHER, 1, 25_00)]
            return orders.place_order(_teacher(teacher_id), items, f"tab-{n}").id

        return task

    outcome = run_together(app, [tab(1), tab(2)])

    assert outcome.errors == []
    assert len(outcome.results) == 1
    assert len(outcome.refusals) == 1
    assert "Vous disposez déjà de « Laboratoire de chimie »" in outcome.refusals[0].message
    with app.app_context():
        assert _totals(teacher_id) == {
            "orders": 1,
            "purchases": 1,
            "licences": 1,
            "jobs": 1,
            "credit": 75_00,
            "ledger_ok": True,
        }
        (licence,) = db.session.scalars(select(Licence)).all()
        assert licence.status is LicenceStatus.PENDING


def test_a_line_cancelled_twice_at_once_is_refunded_once(committed: Flask) -> None:
    app = committed
    with app.app_context():
        teacher = factories.teacher()
        give_credit(teacher, 100_00)
        order = buy(teacher, on_sale(title="Atlas des océans"))
        teacher_id, line_id = teacher.id, order.lines[0].id

    def cancel() -> int:
        refund_entry_id = orders.cancel_line(_teacher(teacher_id), line_id).refund_entry_id
        assert refund_entry_id is not None
        return refund_entry_id

    outcome = run_together(app, [cancel, cancel])

    assert outcome.errors == []
    assert outcome.refusals == []
    assert len(set(outcome.results)) == 1
    with app.app_context():
        refunds = count(JournalEntry, JournalEntry.kind == EntryKind.REFUND)
        assert refunds == 1
        assert _totals(teacher_id) | {"refunds": refunds} == {
            "orders": 1,
            "purchases": 1,
            "refunds": 1,
            "licences": 1,
            "jobs": 1,
            "credit": 100_00,
            "ledger_ok": True,
        }
