"""Pooled purchases under real concurrency (PostgreSQL): parallel sessions, each in its own
thread, app context and connection, committing. The last euros wanted by 30 teachers at
once, and the deadline task racing a last join."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.ledger.models import EntryKind, JournalEntry
from app.licences.models import Licence
from app.orders.models import Order
from app.pooled_purchases import services
from app.pooled_purchases.models import PooledPurchase, PooledShare, PooledStatus
from tests import factories
from tests.conftest import requires_postgres
from tests.orders.helpers import count, credit_of, give_credit, on_sale
from tests.orders.test_checkout_concurrency import run_together
from tests.pooled_purchases.helpers import assert_invariants, hold_balance

pytestmark = [requires_postgres, pytest.mark.committed]


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    return user


def _pooled(pooled_id: int) -> PooledPurchase:
    pooled = db.session.get(PooledPurchase, pooled_id)
    assert pooled is not None
    return pooled


def _thirty_colleagues_and_a_start(app: Flask, starter_cents: int) -> tuple[int, list[int]]:
    """A school whose starter put `starter_cents` into a 40 € licence, and 30 colleagues
    with 10 € each: the purchase's id and the colleagues' ids."""
    with app.app_context():
        school = factories.SchoolFactory(academy_code="01")
        starter = factories.teacher(school)
        give_credit(starter, 100_00)
        colleagues = [factories.teacher(school) for _ in range(30)]
        for colleague in colleagues:
            give_credit(colleague, 10_00)
        atlas = on_sale(title="Atlas des océans")  # 40 €
        deadline = services.today() + timedelta(days=5)
        pooled = services.start(starter, atlas.id, deadline=deadline, share_cents=starter_cents)
        db.session.commit()
        return pooled.id, [c.id for c in colleagues]


def _join(user_id: int, pooled_id: int, cents: int) -> Callable[[], int]:
    """One teacher's join, to run in a thread of its own: the share's id."""

    def task() -> int:
        share = services.join(_user(user_id), pooled_id, cents)
        assert share is not None
        return share.id

    return task


def test_thirty_teachers_want_the_last_euros_at_once(committed: Flask) -> None:
    app = committed
    pooled_id, ids = _thirty_colleagues_and_a_start(app, 35_00)

    # 5 € remain: 30 teachers ask 1 € or 2 € each, all at once.
    outcome = run_together(
        app, [_join(user_id, pooled_id, 100 + 100 * (n % 2)) for n, user_id in enumerate(ids)]
    )

    assert outcome.errors == []
    assert outcome.results
    with app.app_context():
        pooled = _pooled(pooled_id)
        shares = db.session.scalars(
            select(PooledShare).where(PooledShare.pooled_purchase_id == pooled_id)
        ).all()
        total = sum(s.amount_cents for s in shares if s.withdrawn_at is None)
        assert total == pooled.collected_cents <= pooled.price_cents
        assert len(shares) == 1 + len(outcome.results)
        assert len(outcome.results) + len(outcome.refusals) == 30
        if pooled.collected_cents == pooled.price_cents:
            assert pooled.status is PooledStatus.COMPLETED
            assert count(Order) == 1
            assert count(Licence) == 1
            assert count(JournalEntry, JournalEntry.kind == EntryKind.PURCHASE) == 1
        else:  # 2 € asked when 1 € remained: the last euro may wait for a 1 € share
            assert pooled.status is PooledStatus.OPEN
            assert count(Order) == 0
        assert hold_balance(pooled) == (0 if pooled.order_id else pooled.collected_cents)
        joined = {s.teacher_id: s.amount_cents for s in shares}
        for user_id in ids:
            assert credit_of(_user(user_id)) == 10_00 - joined.get(user_id, 0)
        assert_invariants()


def test_thirty_teachers_for_the_last_euros_complete_it_once(committed: Flask) -> None:
    app = committed
    pooled_id, ids = _thirty_colleagues_and_a_start(app, 37_00)

    outcome = run_together(app, [_join(user_id, pooled_id, 1_00) for user_id in ids])

    assert outcome.errors == []
    assert len(outcome.results) == 3
    assert len(outcome.refusals) == 27
    with app.app_context():
        pooled = _pooled(pooled_id)
        assert pooled.status is PooledStatus.COMPLETED
        assert pooled.collected_cents == pooled.price_cents == 40_00
        assert count(Order) == 1
        assert count(Licence) == 1
        assert count(JournalEntry, JournalEntry.kind == EntryKind.PURCHASE) == 1
        assert count(JournalEntry, JournalEntry.kind == EntryKind.POOL_SHARE) == 4
        assert hold_balance(pooled) == 0
        assert sum(credit_of(_user(user_id)) for user_id in ids) == 30 * 10_00 - 3_00
        assert_invariants()


@pytest.mark.parametrize("round_", range(4))
def test_the_deadline_task_and_a_last_join_never_both_win(committed: Flask, round_: int) -> None:
    app = committed
    with app.app_context():
        school = factories.SchoolFactory(academy_code="01")
        starter, last = factories.teacher(school), factories.teacher(school)
        give_credit(starter, 100_00)
        give_credit(last, 100_00)
        atlas = on_sale(title="Atlas des océans")  # 40 €
        deadline = services.today() + timedelta(days=3)
        pooled = services.start(starter, atlas.id, deadline=deadline, share_cents=30_00)
        db.session.commit()
        pooled_id, starter_id, last_id = pooled.id, starter.id, last.id

    def last_join() -> int:  # just before midnight, on the last day
        share = services.join(_user(last_id), pooled_id, 10_00, on=deadline)
        assert share is not None
        return 1

    def deadline_task() -> int:  # just after midnight
        return services.end_due(deadline + timedelta(days=1)).expired

    work = [last_join, deadline_task] if round_ % 2 else [deadline_task, last_join]
    outcome = run_together(app, work)

    assert outcome.errors == []
    with app.app_context():
        pooled = _pooled(pooled_id)
        if pooled.status is PooledStatus.COMPLETED:  # the join came first
            assert sorted(outcome.results) == [0, 1]
            assert outcome.refusals == []
            assert count(Order) == 1
            assert count(JournalEntry, JournalEntry.kind == EntryKind.POOL_REFUND) == 0
            assert credit_of(_user(starter_id)) == 70_00
            assert credit_of(_user(last_id)) == 90_00
        else:  # the task came first: refunded, the join refused
            assert pooled.status is PooledStatus.EXPIRED
            assert outcome.results == [1]
            assert len(outcome.refusals) == 1
            assert count(Order) == 0
            assert credit_of(_user(starter_id)) == 100_00
            assert credit_of(_user(last_id)) == 100_00
        assert hold_balance(pooled) == 0
        assert_invariants()
