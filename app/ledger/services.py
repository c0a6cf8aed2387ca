"""The only way money moves. Functions flush, never commit.

Every movement is one journal entry whose postings sum to zero, written with:
- a unique idempotency key: a replay returns the first entry and moves nothing,
  even when both arrive at once (the unique index makes the second wait, then see
  the first);
- a guarded debit on accounts that keep a balance: one conditional
  `UPDATE … SET balance_cents = balance_cents - :x WHERE id = :id AND balance_cents >= :x`;
  no row updated means not enough money, and what the entry had moved is put back.
  `CHECK (balance_cents >= 0)` is the backstop;
- postings inserted in one statement, so the database checks the entry balances
  (statement trigger on PostgreSQL, migration 0002).

`post()` writes an entry of a few lines (a purchase, a refund, a funding);
`post_batch()` writes one entry of any number of lines in set-based SQL (allocating
to every teacher of an academy, closing a year).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm.attributes import set_committed_value

from app.budgets.models import SchoolYear
from app.core import schedule
from app.core.db import AnySelect, insert_or_ignore, insert_rows, utcnow
from app.core.errors import Conflict, DomainError
from app.core.money import format_euros
from app.extensions import db
from app.ledger.models import (
    GUARDED_KINDS,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    LedgerVerification,
    Posting,
)

if TYPE_CHECKING:
    from app.accounts.models import User


# The lines of a batch entry while it is written (a temporary table, outside the models).
LEDGER_BATCH = Table(
    "ledger_batch",
    MetaData(),
    Column("account_id", BigInteger, primary_key=True),
    Column("amount_cents", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)


class InsufficientFunds(DomainError):
    code = "insufficient_funds"


class YearClosed(DomainError):
    code = "school_year_closed"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


# --- accounts -------------------------------------------------------------------------


def _account(kind: AccountKind, **owner: Any) -> LedgerAccount:
    """The account of `kind` for `owner`, created on first use (safe under concurrency)."""
    query = select(LedgerAccount).where(LedgerAccount.kind == kind)
    for column in (
        "school_year_code",
        "academy_code",
        "user_id",
        "vendor_id",
        "pooled_purchase_id",
    ):
        query = query.where(
            getattr(LedgerAccount, column).is_(None)
            if owner.get(column) is None
            else getattr(LedgerAccount, column) == owner[column]
        )
    account = db.session.scalar(query)
    if account is not None:
        return account
    values = dict(owner, kind=kind.value, balance_cents=0 if kind in GUARDED_KINDS else None)
    db.session.execute(
        insert_or_ignore(db.session, LedgerAccount).values(values).on_conflict_do_nothing()
    )
    return db.session.scalars(query).one()


def national_funding(school_year: str) -> LedgerAccount:
    return _account(AccountKind.NATIONAL_FUNDING, school_year_code=school_year)


def academy_pool(academy_code: str, school_year: str) -> LedgerAccount:
    return _account(
        AccountKind.ACADEMY_POOL, academy_code=academy_code, school_year_code=school_year
    )


def teacher_credit(user_id: int, academy_code: str, school_year: str) -> LedgerAccount:
    return _account(
        AccountKind.TEACHER_CREDIT,
        user_id=user_id,
        academy_code=academy_code,
        school_year_code=school_year,
    )


def vendor_payable(vendor_id: int) -> LedgerAccount:
    return _account(AccountKind.VENDOR_PAYABLE, vendor_id=vendor_id)


def vendor_paid(vendor_id: int) -> LedgerAccount:
    return _account(AccountKind.VENDOR_PAID, vendor_id=vendor_id)


def pooled_purchase_hold(
    pooled_purchase_id: int, academy_code: str, school_year: str
) -> LedgerAccount:
    """The account holding the shares of a pooled purchase until it completes (guarded)."""
    return _account(
        AccountKind.POOLED_PURCHASE_HOLD,
        pooled_purchase_id=pooled_purchase_id,
        academy_code=academy_code,
        school_year_code=school_year,
    )


def pooled_share_accounts(
    user_id: int, pooled_purchase_id: int, academy_code: str, school_year: str
) -> tuple[LedgerAccount, LedgerAccount]:
    """In one SELECT, what a share of a pooled purchase moves money between: the teacher's
    credit account (of the school's academy, for the year) and the purchase's hold
    account; either created when missing."""
    rows = db.session.scalars(
        select(LedgerAccount).where(
            (LedgerAccount.kind == AccountKind.TEACHER_CREDIT)
            & (LedgerAccount.user_id == user_id)
            & (LedgerAccount.academy_code == academy_code)
            & (LedgerAccount.school_year_code == school_year)
            | (LedgerAccount.kind == AccountKind.POOLED_PURCHASE_HOLD)
            & (LedgerAccount.pooled_purchase_id == pooled_purchase_id)
        )
    ).all()
    credit = next((a for a in rows if a.kind is AccountKind.TEACHER_CREDIT), None)
    hold = next((a for a in rows if a.kind is AccountKind.POOLED_PURCHASE_HOLD), None)
    if credit is None:
        credit = teacher_credit(user_id, academy_code, school_year)
    if hold is None:
        hold = pooled_purchase_hold(pooled_purchase_id, academy_code, school_year)
    return credit, hold


def purchase_accounts(
    user_id: int, academy_code: str, school_year: str, vendor_ids: Sequence[int]
) -> tuple[LedgerAccount, list[LedgerAccount], dict[int, LedgerAccount]]:
    """In one SELECT, what a purchase moves money between: the teacher's credit account
    given by `academy_code` for the year, the teacher's other credit accounts of that year
    (their credit left is the sum of all), and the vendors' payable accounts. An account
    not there yet is created, as by :func:`teacher_credit` and :func:`vendor_payable`."""
    rows = db.session.scalars(
        _PURCHASE_ACCOUNTS,
        {"user_id": user_id, "school_year": school_year, "vendor_ids": list(vendor_ids)},
    ).all()
    credits = [a for a in rows if a.kind is AccountKind.TEACHER_CREDIT]
    credit = next((a for a in credits if a.academy_code == academy_code), None)
    if credit is None:
        credit = teacher_credit(user_id, academy_code, school_year)
        credits.append(credit)
    payables = {
        a.vendor_id: a
        for a in rows
        if a.kind is AccountKind.VENDOR_PAYABLE and a.vendor_id is not None
    }
    for vendor_id in vendor_ids:
        if vendor_id not in payables:
            payables[vendor_id] = vendor_payable(vendor_id)
    return credit, [a for a in credits if a is not credit], payables


_PURCHASE_ACCOUNTS = select(LedgerAccount).where(  # built once: every purchase reads it
    (LedgerAccount.kind == AccountKind.TEACHER_CREDIT)
    & (LedgerAccount.user_id == bindparam("user_id"))
    & (LedgerAccount.school_year_code == bindparam("school_year"))
    | (LedgerAccount.kind == AccountKind.VENDOR_PAYABLE)
    & LedgerAccount.vendor_id.in_(bindparam("vendor_ids", expanding=True))
)


def ensure_teacher_credits(user_ids: AnySelect, academy_code: str, school_year: str) -> None:
    """Create, in one statement, the missing teacher credit accounts of these users.

    Every user is offered; the unique index of teacher credit accounts skips those who
    have one (ON CONFLICT DO NOTHING, one index probe a row, whatever the statistics),
    so the statement costs the users given, not the accounts of the whole academy."""
    rows = select(
        literal(AccountKind.TEACHER_CREDIT.value),
        user_ids.subquery().c[0],
        literal(academy_code),
        literal(school_year),
        literal(0),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
    statement = insert_or_ignore(db.session, LedgerAccount).from_select(
        ["kind", "user_id", "academy_code", "school_year_code", "balance_cents"], rows
    )
    db.session.execute(statement.on_conflict_do_nothing())


def balance(account: LedgerAccount) -> int:
    """The account's balance: its materialised balance, or the sum of its postings."""
    if account.kind in GUARDED_KINDS:
        return int(
            db.session.scalar(
                select(LedgerAccount.balance_cents).where(LedgerAccount.id == account.id)
            )
            or 0
        )
    total = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_cents), 0)).where(
            Posting.account_id == account.id
        )
    )
    return int(total or 0)


# --- entries --------------------------------------------------------------------------


def find_entry(idempotency_key: str) -> JournalEntry | None:
    return db.session.scalar(
        select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key)
    )


def _replay(idempotency_key: str, kind: EntryKind, reference: str) -> JournalEntry | None:
    """The entry already written under this key, if any; refused if it was another movement."""
    entry = find_entry(idempotency_key)
    if entry is not None and (entry.kind, entry.reference) != (kind, reference):
        raise IdempotencyConflict(
            "Cette clé d'idempotence a déjà servi pour un autre mouvement.",
            details={"idempotency_key": [idempotency_key]},
        )
    if entry is not None:
        entry.replayed = True
    return entry


def _refuse_closed_years(year_codes: set[str], kind: EntryKind) -> None:
    if kind in (EntryKind.EXPIRE, EntryKind.REVERSAL) or not year_codes:
        return
    closed = db.session.scalars(
        select(SchoolYear.code).where(
            SchoolYear.code.in_(year_codes), SchoolYear.closed_at.is_not(None)
        )
    ).all()
    if closed:
        raise YearClosed(
            f"L'année scolaire {', '.join(sorted(closed))} est clôturée : "
            "plus aucun mouvement n'est possible sur ses comptes.",
            details={"school_year": list(closed)},
        )


def _debit_guarded(account: LedgerAccount, cents: int) -> None:
    """Take `cents` from a guarded account, or refuse: never below zero, under any concurrency."""
    result = db.session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account.id, LedgerAccount.balance_cents >= cents)
        .values(balance_cents=LedgerAccount.balance_cents - cents)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InsufficientFunds(
            f"Solde insuffisant : il manque {format_euros(cents - balance(account))}.",
            details={"account": [str(account.id)], "missing_cents": [cents - balance(account)]},
        )


def _credit_guarded(account: LedgerAccount, cents: int) -> None:
    db.session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account.id)
        .values(balance_cents=LedgerAccount.balance_cents + cents)
        .execution_options(synchronize_session=False)
    )


def post(
    kind: EntryKind,
    lines: Sequence[tuple[LedgerAccount, int]],
    *,
    idempotency_key: str,
    reference: str,
    actor: User | None,
    memo: str = "",
    reverses: JournalEntry | None = None,
    new_key: bool = False,
) -> JournalEntry:
    """Write one entry of a few lines `(account, signed cents)`, or return its replay.

    In order: the guarded accounts are debited (or credited) first, one conditional UPDATE
    each, by account id so that two entries never deadlock; a refusal (not enough money,
    a closed year) undoes those already moved and writes nothing. Then the entry claims
    its key (a twin that won it: the moves are undone and its entry returned), then the
    postings, in one statement. `new_key`: the caller has just claimed a key no entry can
    have (a purchase's `order:<new id>`), so it is not looked up first."""
    if sum(cents for _, cents in lines) != 0 or any(cents == 0 for _, cents in lines):
        raise ValueError(f"unbalanced or empty lines: {lines!r}")
    if not new_key:
        replay = _replay(idempotency_key, kind, reference)
        if replay is not None:
            return replay
    # Years of the accounts without a guard; a guarded account's year is checked by its UPDATE.
    _refuse_closed_years(
        {
            a.school_year_code
            for a, _ in lines
            if a.school_year_code and a.kind not in GUARDED_KINDS
        },
        kind,
    )
    check_year = kind not in (EntryKind.EXPIRE, EntryKind.REVERSAL)
    moved: list[tuple[LedgerAccount, int]] = []
    try:
        for account, cents in sorted(lines, key=lambda line: line[0].id):
            if account.kind in GUARDED_KINDS:
                _move_guarded(account, cents, check_year)
                moved.append((account, cents))
    except DomainError:
        _undo(moved)
        replay = _replay(idempotency_key, kind, reference)  # a twin emptied the account first
        if replay is not None:
            return replay
        raise
    entry = _insert_entry(
        kind, idempotency_key, reference, actor, memo, reverses.id if reverses else None
    )
    if entry is None:  # a concurrent twin won the key
        _undo(moved)
        replay = _replay(idempotency_key, kind, reference)
        assert replay is not None
        return replay
    db.session.execute(
        insert(Posting).values(
            [{"entry_id": entry.id, "account_id": a.id, "amount_cents": c} for a, c in lines]
        )
    )
    entry.replayed = False
    return entry


def _move_guarded(account: LedgerAccount, cents: int, check_year: bool) -> None:
    """Add signed `cents` to a guarded account, or refuse: never below zero under any
    concurrency (the UPDATE matches no row), never in a closed school year."""
    check_year = check_year and account.school_year_code is not None
    new_balance = db.session.execute(
        _guarded_move(debit=cents < 0, check_year=check_year),
        {"account_id": account.id, "cents": cents, "needed": -cents},
    ).scalar_one_or_none()
    if new_balance is not None:
        set_committed_value(account, "balance_cents", new_balance)
        return
    if check_year:
        _refuse_closed_years({str(account.school_year_code)}, EntryKind.PURCHASE)
    missing = -cents - balance(account)
    raise InsufficientFunds(
        f"Solde insuffisant : il manque {format_euros(missing)}.",
        details={"account": [str(account.id)], "missing_cents": [missing]},
    )


@functools.cache
def _guarded_move(*, debit: bool, check_year: bool) -> Any:
    """`UPDATE ledger_account SET balance_cents = balance_cents + :cents WHERE id =
    :account_id` [`AND balance_cents >= :needed`] [`AND its school year is not closed`]
    `RETURNING balance_cents`, built once per variant (every purchase runs one)."""
    account = LedgerAccount.__table__.c
    guard = [account.id == bindparam("account_id")]
    if debit:
        guard.append(account.balance_cents >= bindparam("needed"))
    if check_year:
        closed = select(SchoolYear.code).where(
            SchoolYear.code == account.school_year_code, SchoolYear.closed_at.is_not(None)
        )
        guard.append(~closed.exists())
    return (
        update(cast(Table, LedgerAccount.__table__))
        .where(*guard)
        .values(balance_cents=account.balance_cents + bindparam("cents"))
        .returning(account.balance_cents)
    )


def _undo(moved: Sequence[tuple[LedgerAccount, int]]) -> None:
    """Put back what `_move_guarded` moved (same transaction, rows still locked)."""
    for account, cents in moved:
        _credit_guarded(account, -cents)
        db.session.expire(account, ["balance_cents"])


def _insert_entry(
    kind: EntryKind,
    idempotency_key: str,
    reference: str,
    actor: User | None,
    memo: str,
    reverses_id: int | None,
) -> JournalEntry | None:
    """Insert the entry (:func:`app.core.db.insert_rows`, nothing read back); None when
    another transaction wrote the same key first."""
    written = insert_rows(
        db.session,
        JournalEntry,
        [
            {
                "kind": kind,
                "idempotency_key": idempotency_key,
                "reference": reference,
                "memo": memo,
                "created_by": actor.id if actor else None,
                "reverses_id": reverses_id,
                "created_at": utcnow(),
            }
        ],
        skip_conflicts_on=("idempotency_key",),
    )
    return written[0] if written else None


def _written(entry_id: int) -> JournalEntry:
    entry = db.session.get(JournalEntry, entry_id)
    assert entry is not None
    entry.replayed = False
    return entry


def transfer(
    source: LedgerAccount,
    destination: LedgerAccount,
    cents: int,
    *,
    kind: EntryKind,
    idempotency_key: str,
    reference: str,
    actor: User | None,
    memo: str = "",
) -> JournalEntry:
    """Move `cents` from `source` to `destination` as one entry."""
    if cents <= 0:
        raise DomainError(
            "Le montant doit être strictement positif.", details={"amount": ["doit être > 0"]}
        )
    return post(
        kind,
        [(source, -cents), (destination, cents)],
        idempotency_key=idempotency_key,
        reference=reference,
        actor=actor,
        memo=memo,
    )


def post_batch(
    kind: EntryKind,
    lines: AnySelect,
    counterpart: LedgerAccount,
    *,
    idempotency_key: str,
    reference: str,
    actor: User | None,
    memo: str = "",
) -> JournalEntry | None:
    """One entry of many lines, in set-based SQL.

    `lines` selects `(account_id, signed cents)` rows on distinct accounts; the
    counterpart account takes the opposite of their sum. Guarded accounts debited by
    a line are debited conditionally, all at once: if any lacks the money, nothing
    is written. Returns None when `lines` is empty, the replay when the key was used.
    """
    replay = _replay(idempotency_key, kind, reference)
    if replay is not None:
        return replay
    with db.session.begin_nested():
        connection = db.session.connection()
        LEDGER_BATCH.create(connection)
        try:
            return _post_batch(
                kind,
                lines,
                counterpart,
                idempotency_key=idempotency_key,
                reference=reference,
                actor=actor,
                memo=memo,
            )
        finally:
            LEDGER_BATCH.drop(connection)


def _post_batch(
    kind: EntryKind,
    lines: AnySelect,
    counterpart: LedgerAccount,
    *,
    idempotency_key: str,
    reference: str,
    actor: User | None,
    memo: str,
) -> JournalEntry | None:
    db.session.execute(insert(LEDGER_BATCH).from_select(["account_id", "amount_cents"], lines))
    # One pass over the batch: per school year, its lines, their sum, its guarded lines.
    per_year = db.session.execute(
        text(
            "SELECT a.school_year_code, count(*), coalesce(sum(b.amount_cents), 0), "
            "sum(CASE WHEN a.balance_cents IS NOT NULL THEN 1 ELSE 0 END) "
            "FROM ledger_batch b JOIN ledger_account a ON a.id = b.account_id "
            "GROUP BY a.school_year_code"
        )
    ).all()
    count = sum(int(row[1]) for row in per_year)
    if count == 0:
        return None
    total = sum(int(row[2]) for row in per_year)  # sum() of BIGINT is NUMERIC on PostgreSQL
    guarded = sum(int(row[3]) for row in per_year)
    year_codes = {row[0] for row in per_year if row[0] is not None}
    if counterpart.school_year_code:
        year_codes.add(counterpart.school_year_code)
    _refuse_closed_years(year_codes, kind)

    entry = _insert_entry(kind, idempotency_key, reference, actor, memo, None)
    if entry is None:  # a concurrent twin won the key
        return _replay(idempotency_key, kind, reference)
    entry_id = entry.id
    # The counterpart takes the opposite of the lines: a pool debited for the whole
    # batch (allocation) or credited by it (year closing).
    if counterpart.kind in GUARDED_KINDS:
        if total > 0:
            _debit_guarded(counterpart, total)
        elif total < 0:
            _credit_guarded(counterpart, -total)
    # Every guarded line at once; a debit that would go below zero matches no row.
    updated = db.session.execute(
        text(
            "UPDATE ledger_account SET balance_cents = balance_cents + b.amount_cents "
            "FROM ledger_batch b WHERE ledger_account.id = b.account_id "
            "AND ledger_account.balance_cents IS NOT NULL "
            "AND ledger_account.balance_cents + b.amount_cents >= 0"
        )
    ).rowcount  # type: ignore[attr-defined]
    if updated != guarded:
        short = guarded - updated
        raise InsufficientFunds(
            ngettext(
                "Solde insuffisant sur %(num)s compte : rien n'a été écrit.",
                "Solde insuffisant sur %(num)s comptes : rien n'a été écrit.",
                short,
            ),
            details={
                "accounts": [
                    ngettext("%(num)s compte à découvert", "%(num)s comptes à découvert", short)
                ]
            },
        )
    db.session.execute(
        text(
            "INSERT INTO posting (entry_id, account_id, amount_cents) "
            "SELECT :entry, :counterpart, :total "
            "UNION ALL SELECT :entry, account_id, amount_cents FROM ledger_batch"
        ),
        {"entry": entry_id, "counterpart": counterpart.id, "total": -total},
    )
    db.session.expire_all()
    return _written(entry_id)


def reverse(entry: JournalEntry, *, actor: User | None, memo: str = "") -> JournalEntry:
    """Undo `entry` with a new `reversal` entry of opposite postings (entries never change).

    Reversing twice returns the first reversal. Guarded accounts are debited with the
    same guard: a reversal that would overdraw an account is refused.
    """
    lines = [(posting.account, -posting.amount_cents) for posting in entry.postings]
    return post(
        EntryKind.REVERSAL,
        lines,
        idempotency_key=f"reversal:{entry.id}",
        reference=f"entry:{entry.id}",
        actor=actor,
        memo=memo or f"Annulation de l'écriture n°{entry.id}",
        reverses=entry,
    )


@dataclass(frozen=True)
class VerifyReport:
    """What `flask ledger verify` found."""

    entries: int
    postings: int
    accounts: int
    seconds: float
    unbalanced_entries: list[int] = field(default_factory=list)
    wrong_balances: list[int] = field(default_factory=list)
    negative_balances: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unbalanced_entries or self.wrong_balances or self.negative_balances)


VERIFY_LIMIT = 1000  # offending ids listed at most, per kind of fault


def verify() -> VerifyReport:
    """Check the whole ledger in SQL: every entry sums to zero (and has postings), every
    materialised balance equals the sum of its account's postings, none is negative."""
    started = time.perf_counter()
    unbalanced = db.session.scalars(
        text(
            "SELECT e.id FROM journal_entry e LEFT JOIN ("
            "  SELECT entry_id, sum(amount_cents) AS total, count(*) AS n"
            "  FROM posting GROUP BY entry_id) p ON p.entry_id = e.id "
            "WHERE p.entry_id IS NULL OR p.total <> 0 OR p.n < 2 "
            "ORDER BY e.id LIMIT :limit"
        ),
        {"limit": VERIFY_LIMIT},
    ).all()
    wrong = db.session.scalars(
        text(
            "SELECT a.id FROM ledger_account a LEFT JOIN ("
            "  SELECT account_id, sum(amount_cents) AS total FROM posting GROUP BY account_id"
            ") p ON p.account_id = a.id "
            "WHERE a.balance_cents IS NOT NULL AND a.balance_cents <> coalesce(p.total, 0) "
            "ORDER BY a.id LIMIT :limit"
        ),
        {"limit": VERIFY_LIMIT},
    ).all()
    negative = db.session.scalars(
        text("SELECT id FROM ledger_account WHERE balance_cents < 0 ORDER BY id LIMIT :limit"),
        {"limit": VERIFY_LIMIT},
    ).all()
    entries, postings, accounts = db.session.execute(
        text(
            "SELECT (SELECT count(*) FROM journal_entry), (SELECT count(*) FROM posting), "
            "(SELECT count(*) FROM ledger_account)"
        )
    ).one()
    return VerifyReport(
        entries=entries,
        postings=postings,
        accounts=accounts,
        seconds=time.perf_counter() - started,
        unbalanced_entries=list(unbalanced),
        wrong_balances=list(wrong),
        negative_balances=list(negative),
    )


def verify_and_record() -> VerifyReport:
    """`verify`, and keep its result (the latest is read by the monitoring)."""
    report = verify()
    faults = {
        name: ids
        for name, ids in (
            ("unbalanced_entries", report.unbalanced_entries),
            ("wrong_balances", report.wrong_balances),
            ("negative_balances", report.negative_balances),
        )
        if ids
    }
    db.session.add(
        LedgerVerification(
            ok=report.ok,
            entries=report.entries,
            postings=report.postings,
            accounts=report.accounts,
            seconds=report.seconds,
            faults=faults,
        )
    )
    db.session.flush()
    if not report.ok:
        current_app.logger.error("Ledger verify failed: %s", faults)
    return report


@schedule.task("ledger.verify", "15 4 * * *", _l("Vérification du grand livre"))
def verify_daily() -> None:
    verify_and_record()
