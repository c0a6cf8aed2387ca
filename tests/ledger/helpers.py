"""Small helpers shared by the ledger tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from app.core.db import integer_rows
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, LedgerAccount

YEAR = "2026-2027"

_keys = itertools.count(1)


def new_key(prefix: str = "test") -> str:
    """An idempotency key never used before in this run."""
    return f"{prefix}:{next(_keys)}"


def lines(pairs: Iterable[tuple[int, int]]) -> sa.Select[Any]:
    """`post_batch` lines: a SELECT of `(account_id, signed cents)` rows."""
    pairs = list(pairs)
    if not pairs:
        return sa.select(LedgerAccount.id, sa.literal(1, sa.BigInteger)).where(sa.false())
    rows = integer_rows(
        db.session,
        "batch_lines",
        account_id=[account for account, _ in pairs],
        amount_cents=[cents for _, cents in pairs],
    )
    return sa.select(rows.c.account_id, rows.c.amount_cents)


def fund(pool: LedgerAccount, cents: int) -> None:
    """Put `cents` in an academy pool, from the national funding of its year."""
    assert pool.school_year_code is not None
    ledger.transfer(
        ledger.national_funding(pool.school_year_code),
        pool,
        cents,
        kind=EntryKind.FUND,
        idempotency_key=new_key("fund"),
        reference=f"funding:{pool.id}",
        actor=None,
    )


def allocate(pool: LedgerAccount, account: LedgerAccount, cents: int) -> None:
    ledger.transfer(
        pool,
        account,
        cents,
        kind=EntryKind.ALLOCATE,
        idempotency_key=new_key("allocate"),
        reference=f"allocation:{account.id}",
        actor=None,
    )


def balances() -> dict[int, int | None]:
    """Every account's materialised balance (None for accounts without one), read in SQL."""
    rows = db.session.execute(sa.text("SELECT id, balance_cents FROM ledger_account"))
    return {row.id: row.balance_cents for row in rows}


def sums_of_postings() -> dict[int, int]:
    rows = db.session.execute(
        sa.text("SELECT account_id, sum(amount_cents) AS total FROM posting GROUP BY account_id")
    )
    return {row.account_id: int(row.total) for row in rows}


def snapshot() -> tuple[dict[int, int | None], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The whole ledger: balances, entries and postings, to prove nothing changed."""
    entries = db.session.execute(
        sa.text("SELECT id, kind, idempotency_key, reference FROM journal_entry ORDER BY id")
    ).all()
    postings = db.session.execute(
        sa.text("SELECT id, entry_id, account_id, amount_cents FROM posting ORDER BY id")
    ).all()
    return balances(), [tuple(r) for r in entries], [tuple(r) for r in postings]
