"""The ledger's guarantees, one by one (DESIGN.md §4), on the rolled-back test session."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from app.core.db import utcnow
from app.core.errors import DomainError
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, JournalEntry, LedgerAccount, LedgerVerification, Posting
from app.ledger.services import IdempotencyConflict, InsufficientFunds, YearClosed
from tests import factories
from tests.conftest import requires_postgres
from tests.ledger.conftest import Books
from tests.ledger.helpers import (
    allocate,
    balances,
    fund,
    lines,
    new_key,
    snapshot,
    sums_of_postings,
)


def purchase(books: Books, cents: int, key: str | None = None, reference: str = "order:1"):
    return ledger.transfer(
        books.alice_credit,
        books.payable,
        cents,
        kind=EntryKind.PURCHASE,
        idempotency_key=key or new_key("order"),
        reference=reference,
        actor=books.alice,
    )


def entry_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))


# --- transfers ------------------------------------------------------------------------


def test_a_transfer_writes_one_balanced_entry_and_moves_the_balances(books: Books) -> None:
    fund(books.pool, 50_000)

    entry = ledger.transfer(
        books.pool,
        books.alice_credit,
        12_000,
        kind=EntryKind.ALLOCATE,
        idempotency_key="allocation:1",
        reference="allocation:1",
        actor=books.bob,
    )

    assert entry.kind == EntryKind.ALLOCATE
    assert entry.created_by == books.bob.id
    postings = db.session.scalars(sa.select(Posting).where(Posting.entry_id == entry.id)).all()
    assert sorted((p.account_id, p.amount_cents) for p in postings) == sorted(
        [(books.pool.id, -12_000), (books.alice_credit.id, 12_000)]
    )
    assert sum(p.amount_cents for p in postings) == 0
    assert entry_count() == 2  # the funding, then the allocation
    assert ledger.balance(books.pool) == 38_000
    assert ledger.balance(books.alice_credit) == 12_000
    assert ledger.balance(books.national) == -50_000
    assert ledger.verify().ok


def test_a_debit_larger_than_the_balance_is_refused_and_changes_nothing(books: Books) -> None:
    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 3_000)
    before = snapshot()

    with pytest.raises(InsufficientFunds) as refused:
        purchase(books, 3_001)

    assert refused.value.details["missing_cents"] == [1]
    assert snapshot() == before
    assert ledger.balance(books.alice_credit) == 3_000
    assert ledger.balance(books.payable) == 0
    # The pool is guarded too.
    with pytest.raises(InsufficientFunds):
        allocate(books.pool, books.bob_credit, 7_001)
    assert snapshot() == before
    # Exactly the balance is fine.
    purchase(books, 3_000)
    assert ledger.balance(books.alice_credit) == 0


def test_the_same_idempotency_key_moves_money_once(books: Books) -> None:
    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 5_000)

    first = purchase(books, 1_000, key="order:7", reference="order:7")
    entries = entry_count()
    second = purchase(books, 1_000, key="order:7", reference="order:7")

    assert second.id == first.id
    assert entry_count() == entries
    assert ledger.balance(books.alice_credit) == 4_000
    assert ledger.balance(books.payable) == 1_000


def test_the_same_key_for_another_movement_is_a_conflict(books: Books) -> None:
    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 5_000)
    purchase(books, 1_000, key="order:7", reference="order:7")
    before = snapshot()

    with pytest.raises(IdempotencyConflict):  # another reference
        purchase(books, 1_000, key="order:7", reference="order:8")
    with pytest.raises(IdempotencyConflict):  # another kind
        ledger.transfer(
            books.payable,
            books.alice_credit,
            1_000,
            kind=EntryKind.REFUND,
            idempotency_key="order:7",
            reference="order:7",
            actor=None,
        )
    with pytest.raises(IdempotencyConflict):  # a batch too
        ledger.post_batch(
            EntryKind.ALLOCATE,
            lines([(books.bob_credit.id, 100)]),
            books.pool,
            idempotency_key="order:7",
            reference="allocation:9",
            actor=None,
        )
    assert snapshot() == before


@pytest.mark.parametrize("cents", [0, -1, -5_000])
def test_a_transfer_of_zero_or_negative_cents_is_refused(books: Books, cents: int) -> None:
    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 5_000)
    before = snapshot()

    with pytest.raises(DomainError) as refused:
        purchase(books, cents)

    assert "amount" in refused.value.details
    assert snapshot() == before


def test_post_refuses_unbalanced_or_zero_lines(books: Books) -> None:
    fund(books.pool, 10_000)
    before = snapshot()
    for bad in (
        [(books.pool, -100), (books.alice_credit, 99)],
        [(books.pool, 0), (books.alice_credit, 0)],
    ):
        with pytest.raises(ValueError, match="unbalanced"):
            ledger.post(
                EntryKind.ALLOCATE, bad, idempotency_key=new_key(), reference="x", actor=None
            )
    assert snapshot() == before


# --- reversals ------------------------------------------------------------------------


def test_reverse_restores_the_balances_and_twice_returns_the_first_reversal(
    books: Books,
) -> None:
    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 5_000)
    order = purchase(books, 2_000)
    before_reversal = sums_of_postings()

    reversal = ledger.reverse(order, actor=books.bob)

    assert reversal.kind == EntryKind.REVERSAL
    assert reversal.reverses_id == order.id
    assert sorted((p.account_id, p.amount_cents) for p in reversal.postings) == sorted(
        (p.account_id, -p.amount_cents) for p in order.postings
    )
    assert ledger.balance(books.alice_credit) == 5_000
    assert ledger.balance(books.payable) == 0
    assert ledger.balance(books.pool) == 5_000
    entries = entry_count()

    again = ledger.reverse(order, actor=books.bob)

    assert again.id == reversal.id
    assert entry_count() == entries
    assert ledger.balance(books.alice_credit) == 5_000
    alice = books.alice_credit.id
    assert sums_of_postings()[alice] == before_reversal[alice] + 2_000
    assert ledger.verify().ok


def test_a_reversal_that_would_overdraw_is_refused(books: Books) -> None:
    fund(books.pool, 10_000)
    allocation = ledger.transfer(
        books.pool,
        books.alice_credit,
        5_000,
        kind=EntryKind.ALLOCATE,
        idempotency_key=new_key(),
        reference="allocation:1",
        actor=None,
    )
    purchase(books, 4_000)  # Alice spent most of it
    before = snapshot()

    with pytest.raises(InsufficientFunds):
        ledger.reverse(allocation, actor=None)

    assert snapshot() == before


# --- batches --------------------------------------------------------------------------


def test_post_batch_credits_many_teachers_from_the_pool_in_one_entry(books: Books) -> None:
    teachers = [factories.UserFactory() for _ in range(5)]
    credits = [ledger.teacher_credit(t.id, "01", books.year) for t in teachers]
    fund(books.pool, 100_000)
    entries = entry_count()

    entry = ledger.post_batch(
        EntryKind.ALLOCATE,
        lines((account.id, 1_000 * (i + 1)) for i, account in enumerate(credits)),
        books.pool,
        idempotency_key="allocation-rule:1",
        reference="allocation-rule:1",
        actor=books.bob,
    )

    assert entry is not None
    assert entry_count() == entries + 1
    postings = {p.account_id: p.amount_cents for p in entry.postings}
    assert postings == {
        books.pool.id: -15_000,
        **{account.id: 1_000 * (i + 1) for i, account in enumerate(credits)},
    }
    assert ledger.balance(books.pool) == 85_000
    assert [ledger.balance(a) for a in credits] == [1_000, 2_000, 3_000, 4_000, 5_000]
    # A replay of the same batch moves nothing.
    again = ledger.post_batch(
        EntryKind.ALLOCATE,
        lines((account.id, 1_000) for account in credits),
        books.pool,
        idempotency_key="allocation-rule:1",
        reference="allocation-rule:1",
        actor=books.bob,
    )
    assert again is not None
    assert again.id == entry.id
    assert ledger.balance(books.pool) == 85_000
    assert ledger.verify().ok


def test_post_batch_of_no_lines_writes_nothing(books: Books) -> None:
    fund(books.pool, 10_000)
    before = snapshot()

    entry = ledger.post_batch(
        EntryKind.ALLOCATE,
        lines([]),
        books.pool,
        idempotency_key=new_key(),
        reference="allocation-rule:2",
        actor=None,
    )

    assert entry is None
    assert snapshot() == before


def test_post_batch_is_refused_whole_when_the_pool_is_short(books: Books) -> None:
    fund(books.pool, 2_999)
    before = snapshot()

    with pytest.raises(InsufficientFunds):
        ledger.post_batch(
            EntryKind.ALLOCATE,
            lines([(books.alice_credit.id, 1_500), (books.bob_credit.id, 1_500)]),
            books.pool,
            idempotency_key="allocation-rule:3",
            reference="allocation-rule:3",
            actor=None,
        )

    assert snapshot() == before
    assert ledger.find_entry("allocation-rule:3") is None


def test_post_batch_is_refused_whole_when_one_debit_would_overdraw(books: Books) -> None:
    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 1_000)
    allocate(books.pool, books.bob_credit, 1_000)
    before = snapshot()

    with pytest.raises(InsufficientFunds):
        ledger.post_batch(
            EntryKind.EXPIRE,
            lines([(books.alice_credit.id, -500), (books.bob_credit.id, -1_001)]),
            books.pool,
            idempotency_key="closing:1",
            reference="school_year:2026-2027",
            actor=None,
        )

    assert snapshot() == before  # not even Alice's 500, which she had
    entry = ledger.post_batch(
        EntryKind.EXPIRE,
        lines([(books.alice_credit.id, -500), (books.bob_credit.id, -1_000)]),
        books.pool,
        idempotency_key="closing:1",
        reference="school_year:2026-2027",
        actor=None,
    )
    assert entry is not None
    assert {p.account_id: p.amount_cents for p in entry.postings} == {
        books.pool.id: 1_500,
        books.alice_credit.id: -500,
        books.bob_credit.id: -1_000,
    }
    assert ledger.balance(books.pool) == 9_500
    assert ledger.verify().ok


# --- closed school years --------------------------------------------------------------


def test_a_closed_school_year_refuses_every_movement_but_expiry(books: Books) -> None:
    from app.budgets.models import SchoolYear

    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 3_000)
    allocate(books.pool, books.bob_credit, 2_000)
    db.session.get(SchoolYear, books.year).closed_at = utcnow()
    db.session.flush()
    before = snapshot()

    with pytest.raises(YearClosed):
        fund(books.pool, 1_000)
    with pytest.raises(YearClosed):
        allocate(books.pool, books.alice_credit, 1_000)
    with pytest.raises(YearClosed):
        purchase(books, 1_000)
    with pytest.raises(YearClosed):
        ledger.post_batch(
            EntryKind.ALLOCATE,
            lines([(books.alice_credit.id, 100)]),
            books.pool,
            idempotency_key=new_key(),
            reference="allocation-rule:4",
            actor=None,
        )
    assert snapshot() == before

    ledger.transfer(
        books.alice_credit,
        books.pool,
        3_000,
        kind=EntryKind.EXPIRE,
        idempotency_key=new_key(),
        reference="school_year:2026-2027",
        actor=None,
    )
    ledger.post_batch(
        EntryKind.EXPIRE,
        lines([(books.bob_credit.id, -2_000)]),
        books.pool,
        idempotency_key=new_key(),
        reference="school_year:2026-2027",
        actor=None,
    )
    assert ledger.balance(books.alice_credit) == 0
    assert ledger.balance(books.bob_credit) == 0
    assert ledger.balance(books.pool) == 10_000
    assert ledger.verify().ok


# --- the database itself refuses ------------------------------------------------------


def raw(statement: str, **params: object) -> None:
    """Run raw SQL in a savepoint, so a refusal leaves the test transaction usable."""
    with db.session.begin_nested():
        db.session.execute(sa.text(statement), params)


def one_entry(books: Books) -> JournalEntry:
    fund(books.pool, 10_000)
    allocate(books.pool, books.alice_credit, 3_000)
    return purchase(books, 1_000)


def test_the_database_refuses_a_negative_balance(books: Books) -> None:
    fund(books.pool, 10_000)
    before = snapshot()

    with pytest.raises(sa.exc.DBAPIError, match="balance_not_negative"):
        raw("UPDATE ledger_account SET balance_cents = -1 WHERE id = :id", id=books.pool.id)
    # Every account at once: unguarded ones may trip their own CHECK first (SQLite).
    with pytest.raises(sa.exc.DBAPIError, match="balance_not_negative|guarded_kinds"):
        raw("UPDATE ledger_account SET balance_cents = -1")

    assert snapshot() == before


@requires_postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE posting SET amount_cents = amount_cents + 1 WHERE entry_id = :entry",
        "UPDATE posting SET account_id = account_id WHERE entry_id = :entry",
        "DELETE FROM posting WHERE entry_id = :entry",
        "UPDATE journal_entry SET reference = 'order:666' WHERE id = :entry",
        "UPDATE journal_entry SET idempotency_key = 'other' WHERE id = :entry",
        "DELETE FROM journal_entry WHERE id = :entry",
    ],
)
def test_the_database_refuses_to_change_entries_and_postings(books: Books, statement: str) -> None:
    entry = one_entry(books)
    before = snapshot()

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        raw(statement, entry=entry.id)

    assert snapshot() == before


@requires_postgres
def test_the_database_refuses_an_unbalanced_posting(books: Books) -> None:
    entry = one_entry(books)
    before = snapshot()

    with pytest.raises(sa.exc.DBAPIError, match="does not balance"):
        raw(
            "INSERT INTO posting (entry_id, account_id, amount_cents) VALUES (:e, :a, 500)",
            e=entry.id,
            a=books.alice_credit.id,
        )
    # Two postings that balance each other are let through only together, in one statement.
    with pytest.raises(sa.exc.DBAPIError, match="does not balance"):
        raw(
            "INSERT INTO posting (entry_id, account_id, amount_cents) VALUES (:e, :a, -500), "
            "(:e, :b, 499)",
            e=entry.id,
            a=books.alice_credit.id,
            b=books.payable.id,
        )

    assert snapshot() == before


# --- verify ---------------------------------------------------------------------------


def build_a_small_ledger(books: Books) -> JournalEntry:
    """A bit of everything; returns Alice's purchase."""
    fund(books.pool, 20_000)
    allocate(books.pool, books.alice_credit, 5_000)
    allocate(books.pool, books.bob_credit, 5_000)
    order = purchase(books, 2_000)
    ledger.transfer(
        books.payable,
        books.alice_credit,
        500,
        kind=EntryKind.REFUND,
        idempotency_key=new_key(),
        reference="order:1",
        actor=None,
    )
    ledger.reverse(purchase(books, 1_000, reference="order:2"), actor=None)
    return order


def corrupt_posting(entry: JournalEntry, account: LedgerAccount, delta: int) -> None:
    """Alter one posting behind the ledger's back (bypassing the append-only trigger)."""
    with db.session.begin_nested():
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        updated = db.session.execute(
            sa.text(
                "UPDATE posting SET amount_cents = amount_cents + :delta "
                "WHERE entry_id = :entry AND account_id = :account"
            ),
            {"delta": delta, "entry": entry.id, "account": account.id},
        ).rowcount
        db.session.execute(sa.text("SET LOCAL session_replication_role = origin"))
    assert updated == 1


def counts() -> tuple[int, int, int]:
    report = ledger.verify()
    return report.entries, report.postings, report.accounts


def test_verify_passes_on_a_valid_ledger(books: Books) -> None:
    entries, postings, accounts = counts()
    build_a_small_ledger(books)

    report = ledger.verify()

    assert report.ok
    assert report.unbalanced_entries == []
    assert report.wrong_balances == []
    assert report.negative_balances == []
    assert report.entries == entries + 7
    assert report.postings == postings + 14
    assert report.accounts == accounts
    # Every guarded balance is the sum of its postings.
    sums = sums_of_postings()
    for account_id, balance in balances().items():
        if balance is not None:
            assert balance == sums.get(account_id, 0)


@requires_postgres
def test_verify_finds_a_posting_altered_behind_its_back(books: Books) -> None:
    order = build_a_small_ledger(books)

    corrupt_posting(order, books.alice_credit, -100)  # Alice now "spent" 1 € more

    report = ledger.verify()
    assert not report.ok
    assert report.unbalanced_entries == [order.id]
    assert report.wrong_balances == [books.alice_credit.id]
    assert report.negative_balances == []


@requires_postgres
def test_verify_finds_an_entry_whose_postings_were_deleted(books: Books) -> None:
    fund(books.pool, 1_000)
    fund(books.pool, 1)
    emptied = db.session.get(
        JournalEntry, db.session.scalar(sa.select(sa.func.max(JournalEntry.id)))
    )
    assert emptied is not None
    with db.session.begin_nested():
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        db.session.execute(sa.text("DELETE FROM posting WHERE entry_id = :e"), {"e": emptied.id})
        db.session.execute(sa.text("SET LOCAL session_replication_role = origin"))

    report = ledger.verify()

    assert report.unbalanced_entries == [emptied.id]  # an entry without postings
    assert report.wrong_balances == [books.pool.id]  # 1 001 kept, 1 000 posted


def test_flask_ledger_verify_exits_0_with_a_summary_on_a_good_ledger(
    app: Flask, books: Books
) -> None:
    build_a_small_ledger(books)
    entries, postings, accounts = counts()

    result = app.test_cli_runner().invoke(args=["ledger", "verify"])

    assert result.exit_code == 0, result.output
    assert f"{entries} écritures, {postings} lignes, {accounts} comptes vérifiés" in result.output
    assert "Le grand livre est équilibré." in result.output
    assert "ERREUR" not in result.output


@requires_postgres
def test_flask_ledger_verify_exits_1_naming_the_offending_ids(app: Flask, books: Books) -> None:
    order = build_a_small_ledger(books)
    corrupt_posting(order, books.alice_credit, -100)

    result = app.test_cli_runner().invoke(args=["ledger", "verify"])

    assert result.exit_code == 1, result.output
    assert f"écritures déséquilibrées ou sans lignes : {order.id}" in result.stderr
    assert (
        f"comptes dont le solde diffère de la somme des lignes : {books.alice_credit.id}"
        in result.stderr
    )
    assert "Le grand livre est équilibré." not in result.output


def test_flask_ledger_verify_exits_1_on_a_wrong_balance(app: Flask, books: Books) -> None:
    """Works on any database: a materialised balance that drifts from its postings."""
    build_a_small_ledger(books)
    raw(
        "UPDATE ledger_account SET balance_cents = balance_cents + 1 WHERE id = :id",
        id=books.bob_credit.id,
    )

    result = app.test_cli_runner().invoke(args=["ledger", "verify"])

    assert result.exit_code == 1, result.output
    assert (
        f"comptes dont le solde diffère de la somme des lignes : {books.bob_credit.id}"
        in result.stderr
    )
    assert ledger.verify().wrong_balances == [books.bob_credit.id]


def test_flask_ledger_verify_keeps_its_result_for_the_monitoring(app: Flask, books: Books) -> None:
    build_a_small_ledger(books)
    assert app.test_cli_runner().invoke(args=["ledger", "verify"]).exit_code == 0
    raw(
        "UPDATE ledger_account SET balance_cents = balance_cents + 1 WHERE id = :id",
        id=books.bob_credit.id,
    )
    assert app.test_cli_runner().invoke(args=["ledger", "verify"]).exit_code == 1

    good, bad = db.session.scalars(sa.select(LedgerVerification).order_by(LedgerVerification.id))
    assert (good.ok, good.faults) == (True, {})
    assert good.entries == bad.entries > 0
    assert bad.ok is False
    assert bad.faults == {"wrong_balances": [books.bob_credit.id]}


def test_the_ledger_is_verified_every_night() -> None:
    from app.core import schedule

    assert schedule.TASKS["ledger.verify"].run is ledger.verify_daily
