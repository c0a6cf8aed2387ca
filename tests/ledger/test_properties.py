"""Random sequences of movements keep the ledger sound (hypothesis).

A Python model keeps the balance every account should have. Each example runs in a
savepoint rolled back at its end, so examples never see each other's money.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.budgets.services import ensure_school_year
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import GUARDED_KINDS, EntryKind, JournalEntry, LedgerAccount
from app.ledger.services import InsufficientFunds
from tests import factories
from tests.ledger.helpers import YEAR, lines, new_key, snapshot

ACADEMIES = ("01", "10")
TEACHERS_PER_ACADEMY = 2

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)


@dataclass
class World:
    national: LedgerAccount
    pools: list[LedgerAccount]  # by academy
    teachers: list[list[LedgerAccount]]  # by academy, then teacher
    payable: LedgerAccount

    @property
    def accounts(self) -> list[LedgerAccount]:
        credits = [credit for academy in self.teachers for credit in academy]
        return [self.national, *self.pools, *credits, self.payable]


@pytest.fixture
def world(session: Session) -> World:
    ensure_school_year(YEAR)
    vendor = factories.VendorFactory()
    return World(
        national=ledger.national_funding(YEAR),
        pools=[ledger.academy_pool(code, YEAR) for code in ACADEMIES],
        teachers=[
            [
                ledger.teacher_credit(factories.UserFactory().id, code, YEAR)
                for _ in range(TEACHERS_PER_ACADEMY)
            ]
            for code in ACADEMIES
        ],
        payable=ledger.vendor_payable(vendor.id),
    )


# --- operations -----------------------------------------------------------------------

small = st.integers(1, 5_000)
amounts = st.one_of(small, small, st.integers(5_001, 60_000))  # some beyond any balance
academy = st.integers(0, len(ACADEMIES) - 1)
teacher = st.integers(0, TEACHERS_PER_ACADEMY - 1)
batch_lines = st.lists(st.tuples(teacher, amounts), max_size=TEACHERS_PER_ACADEMY).map(
    lambda pairs: list(dict(pairs).items())  # one line per teacher
)

fund = st.tuples(st.just("fund"), academy, st.integers(1, 40_000))
allocate = st.tuples(st.just("allocate"), academy, teacher, amounts)
purchase = st.tuples(st.just("purchase"), academy, teacher, amounts)
replay = st.tuples(st.just("replay"), st.integers(0, 10_000))
operations = st.lists(
    st.one_of(
        fund,
        fund,
        allocate,
        allocate,
        st.tuples(st.just("allocate_batch"), academy, batch_lines),
        purchase,
        purchase,
        st.tuples(st.just("refund"), academy, teacher, amounts),
        st.tuples(st.just("expire"), academy, batch_lines),
        st.tuples(st.just("expire_all"), academy),
        st.tuples(st.just("reverse"), st.integers(0, 10_000)),
        replay,
        replay,
    ),
    min_size=8,
    max_size=20,
)


@dataclass
class Movement:
    """One call to the ledger, and what the model expects it to move."""

    deltas: dict[int, int]
    call: Callable[[str], JournalEntry | None]  # given the idempotency key
    key: str = field(default_factory=new_key)
    entry_id: int | None = None  # once written
    operation: tuple[Any, ...] = ()


class Model:
    """The balances the ledger should show, and the movements written so far."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.guarded = {a.id for a in world.accounts if a.kind in GUARDED_KINDS}
        self.expected = {a.id: 0 for a in world.accounts}
        self.movements: list[Movement] = []
        self.reversals: dict[int, int] = {}  # entry id → its reversal's id

    def allowed(self, deltas: dict[int, int]) -> bool:
        return all(
            self.expected[account] + delta >= 0
            for account, delta in deltas.items()
            if account in self.guarded
        )

    def run(self, movement: Movement) -> None:
        """Call the ledger; check it wrote exactly what the model expects, or nothing."""
        before = snapshot()
        if not self.allowed(movement.deltas):
            with pytest.raises(InsufficientFunds):
                movement.call(movement.key)
            assert snapshot() == before, "a refused movement changed the ledger"
            event(f"{movement.operation[0]}: refused")
            return
        entry = movement.call(movement.key)
        if not movement.deltas:  # an empty batch
            assert entry is None
            assert snapshot() == before
            return
        assert entry is not None
        assert {p.account_id: p.amount_cents for p in entry.postings} == movement.deltas
        for account, delta in movement.deltas.items():
            self.expected[account] += delta
        movement.entry_id = entry.id
        event(f"{movement.operation[0]}: written")

    def replay(self, movement: Movement) -> None:
        """The same call under the same key: the first entry, nothing moved."""
        if movement.entry_id is None:  # refused or empty: the key is still free, try again
            again = movement_for(self, movement.operation)
            if again is not None:
                again.key = movement.key
                self.run(again)
                movement.deltas, movement.call = again.deltas, again.call
                movement.entry_id = again.entry_id
            return
        before = snapshot()
        entry = movement.call(movement.key)
        assert entry is not None
        assert entry.id == movement.entry_id
        assert snapshot() == before, "a replay moved money"
        event(f"{movement.operation[0]}: replayed")


def transfer(source: LedgerAccount, destination: LedgerAccount, cents: int, kind: EntryKind):
    reference = f"{kind.value}:{source.id}:{destination.id}:{cents}"

    def call(key: str) -> JournalEntry:
        return ledger.transfer(
            source,
            destination,
            cents,
            kind=kind,
            idempotency_key=key,
            reference=reference,
            actor=None,
        )

    return Movement(deltas={source.id: -cents, destination.id: cents}, call=call)


def batch(kind: EntryKind, rows: sa.Select[Any], counterpart: LedgerAccount, deltas: dict):
    reference = f"{kind.value}-batch:{counterpart.id}"

    def call(key: str) -> JournalEntry | None:
        return ledger.post_batch(
            kind, rows, counterpart, idempotency_key=key, reference=reference, actor=None
        )

    total = sum(deltas.values())
    return Movement(deltas={counterpart.id: -total, **deltas} if deltas else {}, call=call)


def movement_for(model: Model, operation: tuple[Any, ...]) -> Movement | None:
    movement = _movement_for(model, operation)
    if movement is not None:
        movement.operation = operation
    return movement


def _movement_for(model: Model, operation: tuple[Any, ...]) -> Movement | None:
    world = model.world
    name, *args = operation
    if name == "fund":
        code, cents = args
        return transfer(world.national, world.pools[code], cents, EntryKind.FUND)
    if name in ("allocate", "purchase", "refund"):
        code, index, cents = args
        pool, credit = world.pools[code], world.teachers[code][index]
        if name == "allocate":
            return transfer(pool, credit, cents, EntryKind.ALLOCATE)
        if name == "purchase":
            return transfer(credit, world.payable, cents, EntryKind.PURCHASE)
        # A refund gives back at most what the vendor was paid (its account has no guard).
        cents = min(cents, model.expected[world.payable.id])
        return transfer(world.payable, credit, cents, EntryKind.REFUND) if cents > 0 else None
    if name in ("allocate_batch", "expire"):
        code, pairs = args
        sign = 1 if name == "allocate_batch" else -1
        deltas = {world.teachers[code][index].id: sign * cents for index, cents in pairs}
        kind = EntryKind.ALLOCATE if sign > 0 else EntryKind.EXPIRE
        return batch(kind, lines(deltas.items()), world.pools[code], deltas)
    if name == "expire_all":  # closing a year: every remaining credit back to the pool
        (code,) = args
        credits = [credit.id for credit in world.teachers[code]]
        rows = sa.select(LedgerAccount.id, -LedgerAccount.balance_cents).where(
            LedgerAccount.id.in_(credits), LedgerAccount.balance_cents > 0
        )
        deltas = {c: -model.expected[c] for c in credits if model.expected[c] > 0}
        return batch(EntryKind.EXPIRE, rows, world.pools[code], deltas)
    raise AssertionError(name)


def reverse(model: Model, choice: int) -> None:
    written = [m for m in model.movements if m.entry_id is not None]
    if not written:
        return
    movement = written[choice % len(written)]
    entry = db.session.get(JournalEntry, movement.entry_id)
    assert entry is not None
    if movement.entry_id in model.reversals:  # reversing twice: the first reversal
        before = snapshot()
        assert ledger.reverse(entry, actor=None).id == model.reversals[movement.entry_id]
        assert snapshot() == before
        return
    deltas = {account: -delta for account, delta in movement.deltas.items()}
    reversal = Movement(
        deltas=deltas,
        call=lambda _key: ledger.reverse(entry, actor=None),
        operation=("reverse",),
    )
    model.run(reversal)
    if reversal.entry_id is not None:
        model.reversals[movement.entry_id] = reversal.entry_id


def check_the_ledger(model: Model) -> None:
    report = ledger.verify()
    assert report.ok, report
    accounts = db.session.execute(sa.text("SELECT id, balance_cents FROM ledger_account")).all()
    sums = dict(
        db.session.execute(
            sa.text("SELECT account_id, sum(amount_cents) FROM posting GROUP BY account_id")
        ).all()
    )
    for account_id, kept in accounts:
        if kept is not None:
            assert kept >= 0
            assert kept == sums.get(account_id, 0)
    total = db.session.scalar(sa.text("SELECT coalesce(sum(amount_cents), 0) FROM posting"))
    assert total == 0
    actual = {a.id: ledger.balance(a) for a in model.world.accounts}
    assert actual == model.expected


@EXAMPLES
@given(
    funding=st.lists(
        st.integers(40_000, 100_000), min_size=len(ACADEMIES), max_size=len(ACADEMIES)
    ),
    credits=st.lists(
        st.integers(0, 20_000),
        min_size=len(ACADEMIES) * TEACHERS_PER_ACADEMY,
        max_size=len(ACADEMIES) * TEACHERS_PER_ACADEMY,
    ),
    operations=operations,
)
def test_random_movements_keep_the_ledger_sound(
    world: World, funding: list[int], credits: list[int], operations: list[tuple[Any, ...]]
) -> None:
    savepoint = db.session.begin_nested()
    try:
        db.session.expire_all()
        model = Model(world)
        # A start with money in every pool and some credit for the teachers.
        initial = [("fund", code, cents) for code, cents in enumerate(funding)] + [
            ("allocate", i // TEACHERS_PER_ACADEMY, i % TEACHERS_PER_ACADEMY, cents)
            for i, cents in enumerate(credits)
            if cents
        ]
        for operation in [*initial, *operations]:
            if operation[0] == "reverse":
                reverse(model, operation[1])
            elif operation[0] == "replay":
                if model.movements:
                    model.replay(model.movements[operation[1] % len(model.movements)])
            else:
                movement = movement_for(model, operation)
                if movement is not None:
                    model.run(movement)
                    model.movements.append(movement)
        check_the_ledger(model)
    finally:
        savepoint.rollback()
