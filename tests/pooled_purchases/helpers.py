"""Helpers of the pooled purchase tests: the ledger invariants every flow must keep."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import AccountKind, LedgerAccount, Posting
from app.pooled_purchases.models import PooledPurchase, PooledStatus


def hold_balance(pooled: PooledPurchase) -> int:
    return ledger.balance(
        ledger.pooled_purchase_hold(pooled.id, pooled.academy_code, pooled.school_year_code)
    )


def assert_invariants() -> None:
    """`flask ledger verify` passes; every open purchase's hold account holds what it
    collected, every ended one's holds nothing; no purchase collected beyond its price."""
    report = ledger.verify()
    assert report.ok, report
    for pooled in db.session.scalars(
        select(PooledPurchase).execution_options(populate_existing=True)
    ):
        held = hold_balance(pooled)
        assert 0 <= pooled.collected_cents <= pooled.price_cents
        if pooled.status is PooledStatus.OPEN:
            assert held == pooled.collected_cents, (pooled.id, held, pooled.collected_cents)
            active = sum(s.amount_cents for s in pooled.active_shares)
            assert active == pooled.collected_cents
        else:
            assert held == 0, (pooled.id, pooled.status, held)
        if pooled.status is PooledStatus.COMPLETED:
            assert pooled.order_id is not None


def money_in_accounts() -> int:
    """The sum of every posting: always 0 (money is neither made nor lost)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Posting.amount_cents), 0))) or 0)


def hold_accounts_total() -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
                LedgerAccount.kind == AccountKind.POOLED_PURCHASE_HOLD
            )
        )
        or 0
    )
