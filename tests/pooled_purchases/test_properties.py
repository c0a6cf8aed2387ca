"""Random sequences of start / join / withdraw / complete / expire keep every ledger
invariant (hypothesis). A Python model keeps what each teacher's credit and each pooled
purchase should be; each operation runs in a savepoint, rolled back when refused, and each
example in a savepoint rolled back at its end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.core.errors import DomainError
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import AccountKind, LedgerAccount
from app.pooled_purchases import services
from app.pooled_purchases.models import PooledPurchase, PooledStatus
from tests.orders.helpers import credit_of, on_sale
from tests.pooled_purchases.conftest import Staff
from tests.pooled_purchases.helpers import assert_invariants, money_in_accounts

EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)

teacher = st.integers(0, 2)
product = st.integers(0, 1)
pool = st.integers(0, 3)
amount = st.one_of(st.integers(50, 4_500), st.integers(100, 1_500), st.just(0))  # 0: the rest
operations = st.lists(
    st.one_of(
        st.tuples(st.just("start"), teacher, product, amount),
        st.tuples(st.just("join"), teacher, pool, amount),
        st.tuples(st.just("join"), teacher, pool, amount),
        st.tuples(st.just("complete"), teacher, pool),
        st.tuples(st.just("withdraw"), teacher, pool),
        st.tuples(st.just("expire"), pool),
    ),
    min_size=5,
    max_size=16,
)


@dataclass
class Expected:
    credits: list[int]
    collected: dict[int, dict[int, int]] = field(default_factory=dict)  # pool → teacher → cents
    status: dict[int, PooledStatus] = field(default_factory=dict)
    paid: int = 0  # to the vendor


def _vendor_payable(staff: Staff) -> int:
    return ledger.balance(ledger.vendor_payable(staff.vendor.id))


def _holds() -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
                LedgerAccount.kind == AccountKind.POOLED_PURCHASE_HOLD
            )
        )
        or 0
    )


def _attempt(action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """Run one service call in a savepoint: (True, its result), or (False, None) refused."""
    savepoint = db.session.begin_nested()
    try:
        result = action(*args, **kwargs)
    except DomainError:
        savepoint.rollback()
        db.session.expire_all()
        return False, None
    savepoint.commit()
    return True, result


@pytest.fixture
def two_products(staff: Staff) -> list[int]:
    globe = on_sale(staff.vendor, title="Globe interactif")  # a school plan at 40 €
    db.session.commit()
    return [staff.atlas.id, globe.id]


@EXAMPLES
@given(operations=operations)
def test_random_pooled_purchases_keep_the_ledger_sound(
    staff: Staff, two_products: list[int], operations: list[tuple[Any, ...]]
) -> None:
    savepoint = db.session.begin_nested()
    try:
        db.session.expire_all()
        teachers = [staff.camille, staff.dominique, staff.sacha]
        model = Expected(credits=[credit_of(t) for t in teachers])
        total_before = sum(model.credits) + _holds() + _vendor_payable(staff)
        pools: list[int] = []
        for operation in operations:
            name = operation[0]
            if name == "start":
                who, which, cents = operation[1], operation[2], operation[3] or 40_00
                ok, made = _attempt(
                    services.start,
                    teachers[who],
                    two_products[which],
                    deadline=services.today() + timedelta(days=7),
                    share_cents=cents,
                )
                if ok:
                    pools.append(made.id)
                    model.collected[made.id] = {who: cents}
                    model.credits[who] -= cents
            elif not pools:
                continue
            elif name in ("join", "complete"):
                pooled = db.session.get(PooledPurchase, pools[operation[2] % len(pools)])
                assert pooled is not None
                who = operation[1]
                cents = pooled.remaining_cents if name == "complete" else operation[3]
                cents = cents or pooled.remaining_cents
                ok, _ = _attempt(services.join, teachers[who], pooled.id, cents)
                if ok:
                    model.collected[pooled.id][who] = cents
                    model.credits[who] -= cents
            elif name == "withdraw":
                pooled = db.session.get(PooledPurchase, pools[operation[2] % len(pools)])
                assert pooled is not None
                who = operation[1]
                ok, _ = _attempt(services.withdraw, teachers[who], pooled.id)
                if ok:
                    model.credits[who] += model.collected[pooled.id].pop(who)
            elif name == "expire":
                pooled = db.session.get(PooledPurchase, pools[operation[1] % len(pools)])
                assert pooled is not None
                ok, ended = _attempt(services.expire, pooled, pooled.deadline + timedelta(days=1))
                ok = ok and bool(ended)
            event(f"{name}: {'done' if ok else 'refused'}")

            # After each step: the ledger verifies, holds match what was collected.
            assert_invariants()
            for pooled_id, shares in model.collected.items():
                pooled = db.session.get(PooledPurchase, pooled_id)
                assert pooled is not None
                db.session.refresh(pooled)
                if pooled.status is PooledStatus.OPEN:
                    assert pooled.collected_cents == sum(shares.values())
                elif pooled.status is PooledStatus.EXPIRED and shares:
                    for who, cents in shares.items():
                        model.credits[who] += cents
                    shares.clear()
                elif (
                    pooled.status is PooledStatus.COMPLETED
                    and model.status.get(pooled_id) is not PooledStatus.COMPLETED
                ):
                    model.paid += pooled.price_cents
                model.status[pooled_id] = pooled.status
            assert [credit_of(t) for t in teachers] == model.credits
            assert _vendor_payable(staff) == model.paid
            assert sum(model.credits) + _holds() + model.paid == total_before
            assert money_in_accounts() == 0
    finally:
        savepoint.rollback()
