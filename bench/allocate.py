"""Benchmark: allocate the same credit to every teacher of one academy, at national scale.

    .venv/bin/python bench/allocate.py [--teachers N] [--database-url URL]

1. drops and recreates its own database (`compte_ressources_bench`), builds the schema
   with the project's migrations, syncs the academies, creates the year 2026-2027;
2. loads N synthetic teachers (schools, users, teacher role grants) of ONE academy with
   PostgreSQL COPY, then ANALYZE (setup, not measured);
3. funds the academy's pool with N × 300 € + 1 cent;
4. times `flask budgets allocate --academy X --year 2026-2027 --amount 300.00
   --all-teachers`, invoked through Flask's CLI runner: the real command, from its start
   to its last commit; every SQL statement it sends is timed too (the time split);
5. checks the result (N teacher credit accounts of 300 €, the pool's 1 cent left,
   `ledger verify` clean) and times `verify`;
6. times the fair baseline: COPY of every row the allocation inserted (the rows above
   each table's max(id) noted before it: accounts, entries, postings, mail jobs, the
   allocation and its audit event) into tables `LIKE … INCLUDING ALL` with the real
   tables' foreign keys added, in one transaction; and, as before, the postings alone
   into a table like `posting` without foreign keys;
7. prints a report. Exit status 0 whatever the timings (a measurement), 1 when a check
   of step 5 fails.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from flask import Flask
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import libpq_url, recreate_database  # noqa: E402

from app import create_app  # noqa: E402
from app.budgets import services as budgets  # noqa: E402
from app.budgets.services import ALLOCATION_CHUNK  # noqa: E402
from app.core.jobs import Job  # noqa: E402
from app.extensions import db  # noqa: E402
from app.ledger import services as ledger  # noqa: E402
from app.ledger.models import AccountKind, LedgerAccount  # noqa: E402
from catalog import vocabularies  # noqa: E402
from catalog.identifiers import make_uai  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/compte_ressources_bench"
FRANCE_TEACHERS = 870_000
TEACHERS_PER_SCHOOL = 15
SCHOOL_YEAR = "2026-2027"
AMOUNT = "300.00"
AMOUNT_CENTS = 30_000
AIM_RATIO = 3.0


# --- helpers -----------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class StatementTimes:
    """Wall-clock time of every SQL statement an engine sends, summed by statement."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    recording: bool = False

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self.recording:
            return
        elapsed = time.perf_counter() - conn.info.pop("bench_started")
        key = re.sub(r"\s+", " ", statement).strip()
        key = re.sub(r"%\(\w+\)s", "?", key)
        self.seconds[key] = self.seconds.get(key, 0.0) + elapsed
        self.calls[key] = self.calls.get(key, 0) + 1
        self.rows[key] = self.rows.get(key, 0) + max(cursor.rowcount, 0)

    def total(self) -> float:
        return sum(self.seconds.values())

    def top(self, count: int) -> list[tuple[str, float, int, int]]:
        keys = sorted(self.seconds, key=self.seconds.__getitem__, reverse=True)[:count]
        return [(key, self.seconds[key], self.calls[key], self.rows[key]) for key in keys]


@dataclass
class Plans:
    """Plans of the slow statements, by auto_explain, sent to the client as NOTICEs.

    Each new connection of the engine loads auto_explain for its own session only
    (LOAD needs a superuser, as the local postgres user is): nothing is changed on
    the server or on the database.
    """

    min_duration_ms: int
    plans: list[str] = field(default_factory=list)
    recording: bool = False

    def attach(self, engine: Engine) -> None:
        engine.dispose()  # connections opened from now on get auto_explain
        event.listen(engine, "connect", self._connect)

    def _connect(self, dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.add_notice_handler(self._notice)
        with dbapi_connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting, value in (
                ("log_min_duration", f"{self.min_duration_ms}ms"),
                ("log_analyze", "on"),
                ("log_buffers", "on"),
                ("log_triggers", "on"),
                ("log_nested_statements", "on"),
                ("log_level", "notice"),
            ):
                cursor.execute(f"SET auto_explain.{setting} = '{value}'")
        dbapi_connection.commit()

    def _notice(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        message = diagnostic.message_primary or ""
        if self.recording and "plan:" in message:
            self.plans.append(message)


# --- 1. the database ---------------------------------------------------------------------


def build_schema(app: Flask) -> None:
    with app.app_context():
        flask_migrate.upgrade()
        budgets.sync_academies()
        budgets.ensure_school_year(SCHOOL_YEAR)
        db.session.commit()


# --- 2. teachers -------------------------------------------------------------------------


def load_teachers(url: URL, academy_code: str, teachers: int) -> int:
    """Schools, users and teacher grants of one academy, by COPY; returns the school count."""
    academy = next(a for a in vocabularies.academies() if a.code == academy_code)
    schools = max(1, -(-teachers // TEACHERS_PER_SCHOOL))
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY school (id, uai, name, kind, city, academy_code) FROM STDIN"
        ) as copy:
            for school in range(1, schools + 1):
                uai = make_uai(f"{930_000 + school:07d}")
                copy.write_row(
                    (school, uai, f"Collège n°{school}", "college", "Créteil", academy_code)
                )
        with cursor.copy(
            'COPY "user" (id, email, name, password_hash, active, created_at) FROM STDIN'
        ) as copy:
            for user in range(1, teachers + 1):
                email = f"enseignant.{user:07d}@{academy.email_domain}"
                copy.write_row((user, email, f"Enseignant {user}", None, True, now))
        with cursor.copy(
            "COPY role_grant (id, user_id, role, school_id, created_at) FROM STDIN"
        ) as copy:
            for user in range(1, teachers + 1):
                copy.write_row((user, user, "teacher", (user - 1) % schools + 1, now))
        for table in ("school", "user", "role_grant"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )
        conn.commit()
        conn.autocommit = True
        cursor.execute("ANALYZE")
    return schools


# --- 3-5. funding, allocation, checks ----------------------------------------------------


def fund(app: Flask, academy_code: str, teachers: int) -> None:
    with app.app_context():
        cents = teachers * AMOUNT_CENTS + 1
        budgets.fund_academy(None, academy_code, SCHOOL_YEAR, cents, "fund:bench")
        db.session.commit()


def allocate(app: Flask, academy_code: str) -> tuple[float, str]:
    """Run the real command; returns its wall-clock seconds and its output."""
    args = ["budgets", "allocate", "--academy", academy_code, "--year", SCHOOL_YEAR]
    args += ["--amount", AMOUNT, "--all-teachers"]
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=args)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"allocate failed ({result.exit_code}):\n{result.output}") from (
            result.exception
        )
    return elapsed, result.output


@dataclass(frozen=True)
class Checks:
    accounts: int
    wrong_balances: int
    pool_cents: int
    mails: int
    verify: ledger.VerifyReport
    problems: list[str]


def check(app: Flask, academy_code: str, teachers: int) -> Checks:
    with app.app_context():
        credit = (
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.academy_code == academy_code,
            LedgerAccount.school_year_code == SCHOOL_YEAR,
        )
        accounts = db.session.scalar(select(func.count()).where(*credit)) or 0
        wrong = (
            db.session.scalar(
                select(func.count()).where(*credit, LedgerAccount.balance_cents != AMOUNT_CENTS)
            )
            or 0
        )
        pool = budgets.pool_balance(academy_code, SCHOOL_YEAR)
        mails = db.session.scalar(select(func.count(Job.id)).where(Job.kind == "mail")) or 0
        report = ledger.verify()
        db.session.rollback()
    problems = []
    if accounts != teachers:
        problems.append(f"{accounts} teacher credit accounts, expected {teachers}")
    if wrong:
        problems.append(f"{wrong} teacher credit accounts not at {AMOUNT_CENTS} cents")
    if pool != 1:
        problems.append(f"pool balance {pool} cents, expected 1")
    if not report.ok:
        problems.append(f"ledger verify failed: {report}")
    if mails != teachers:
        problems.append(f"{mails} activation mails queued, expected {teachers}")
    return Checks(accounts, wrong, pool, mails, report, problems)


# --- 6. the COPY baseline ----------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What the allocation wrote into `posting`, to copy as many rows of the same shape."""

    entry_ids: list[int]
    pool_id: int
    account_ids: range | list[int]

    @property
    def rows(self) -> int:
        return len(self.entry_ids) + len(self.account_ids)


def written_by_allocation(conn: psycopg.Connection[Any], academy_code: str) -> Written:
    entry_ids = [
        row[0] for row in conn.execute("SELECT id FROM journal_entry WHERE kind = 'allocate'")
    ]
    pool = conn.execute(
        "SELECT id FROM ledger_account WHERE kind = 'academy_pool' AND academy_code = %s",
        (academy_code,),
    ).fetchone()
    assert pool is not None
    low, high, count = conn.execute(
        "SELECT min(id), max(id), count(*) FROM ledger_account WHERE kind = 'teacher_credit'"
    ).fetchone() or (0, 0, 0)
    accounts: range | list[int] = range(low, high + 1)
    if count != len(accounts):  # not contiguous: take the ids themselves
        accounts = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM ledger_account WHERE kind = 'teacher_credit' ORDER BY id"
            )
        ]
    return Written(entry_ids, pool[0], accounts)


def posting_rows(written: Written) -> Iterator[tuple[int, int, int]]:
    """One entry per chunk: the pool's debit, then a credit line per teacher account."""
    for part, entry_id in enumerate(written.entry_ids):
        chunk = written.account_ids[part * ALLOCATION_CHUNK : (part + 1) * ALLOCATION_CHUNK]
        yield entry_id, written.pool_id, -AMOUNT_CENTS * len(chunk)
        for account_id in chunk:
            yield entry_id, account_id, AMOUNT_CENTS


def create_copy_table(conn: psycopg.Connection[Any], table: str, foreign_keys: bool) -> str:
    """A table like `posting`, with its own id sequence; returns what it got."""
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TABLE {table} (LIKE posting "
        "INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS)"
    )
    # LIKE copies posting.id's default, nextval('posting_id_seq'): the copy would draw
    # from posting's own sequence. Give it its own.
    conn.execute(f"CREATE SEQUENCE {table}_id_seq OWNED BY {table}.id")
    conn.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
    if foreign_keys:
        conn.execute(
            f"ALTER TABLE {table} "
            "ADD FOREIGN KEY (entry_id) REFERENCES journal_entry (id), "
            "ADD FOREIGN KEY (account_id) REFERENCES ledger_account (id)"
        )
    indexes, checks, fks, triggers = conn.execute(
        "SELECT (SELECT count(*) FROM pg_index WHERE indrelid = %(t)s::regclass), "
        "(SELECT count(*) FROM pg_constraint WHERE conrelid = %(t)s::regclass AND contype = 'c'), "
        "(SELECT count(*) FROM pg_constraint WHERE conrelid = %(t)s::regclass AND contype = 'f'), "
        "(SELECT count(*) FROM pg_trigger WHERE tgrelid = %(t)s::regclass AND NOT tgisinternal)",
        {"t": table},
    ).fetchone() or (0, 0, 0, 0)
    conn.commit()
    return f"{indexes} indexes, {checks} check, {fks} FK, {triggers} trigger"


def copy_baseline(url: URL, academy_code: str, foreign_keys: bool) -> tuple[float, int, str]:
    """COPY as many posting rows as the allocation wrote; returns seconds, rows, structure."""
    table = "posting_copy_fk" if foreign_keys else "posting_copy"
    with psycopg.connect(libpq_url(url)) as conn:
        written = written_by_allocation(conn, academy_code)
        structure = create_copy_table(conn, table, foreign_keys)
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY {table} (entry_id, account_id, amount_cents) FROM STDIN") as copy,
        ):
            for row in posting_rows(written):
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        copied = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert copied is not None
    assert copied[0] == written.rows
    return elapsed, written.rows, structure


# --- 7. the fair baseline: every row the allocation wrote --------------------------------


def table_ids(url: URL) -> dict[str, int]:
    """max(id) of every table that has an integer `id`, to find the rows written after."""
    with psycopg.connect(libpq_url(url)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT c.table_name FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
                "AND c.column_name = 'id' AND c.data_type IN ('integer', 'bigint') "
                "AND c.table_name NOT LIKE '%%copy%%' ORDER BY 1"
            )
        ]
        return {
            table: int(conn.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"').fetchone()[0])  # type: ignore[index]
            for table in tables
        }


@dataclass(frozen=True)
class FairBaseline:
    seconds: float
    rows: dict[str, int]  # rows per table
    table_seconds: dict[str, float]  # the COPY of each table (the commit is in `seconds` only)
    structure: dict[str, str]  # what each copy table got


def fair_baseline(url: URL, before: dict[str, int], after: dict[str, int]) -> FairBaseline:
    """COPY every row the allocation inserted (the rows of every table whose id grew),
    into tables `LIKE` the real ones with their constraints, indexes and foreign keys
    (re-created from the catalogue, pointing at the same referenced tables), in one
    transaction: the floor of writing what the allocation wrote.

    The rows are dumped to files first (not timed), then streamed back with COPY FROM,
    timed from the first COPY to the commit. Triggers are not copied (the posting's
    balance trigger is the allocation's own cost); the UPDATEs the allocation makes
    (the new accounts' balances, the pool's, the allocation's state) are not counted."""
    written = {
        table: before.get(table, 0) for table in after if after[table] > before.get(table, 0)
    }
    dumps: dict[str, Any] = {}
    rows: dict[str, int] = {}
    structure: dict[str, str] = {}
    with psycopg.connect(libpq_url(url)) as conn:
        for table, low in written.items():
            copy_table = f"{table}_fair_copy"
            conn.execute(f'DROP TABLE IF EXISTS "{copy_table}"')
            conn.execute(f'CREATE TABLE "{copy_table}" (LIKE "{table}" INCLUDING ALL)')
            foreign_keys = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                (f'"{table}"',),
            ).fetchall()
            for (definition,) in foreign_keys:
                conn.execute(f'ALTER TABLE "{copy_table}" ADD {definition}')
            indexes = conn.execute(
                "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass",
                (f'"{copy_table}"',),
            ).fetchone()
            structure[table] = f"{indexes[0] if indexes else 0} indexes, {len(foreign_keys)} FK"
            dump = tempfile.TemporaryFile()  # noqa: SIM115 (closed after the timed COPY)
            with (
                conn.cursor() as cursor,
                cursor.copy(f'COPY (SELECT * FROM "{table}" WHERE id > {low}) TO STDOUT') as copy,
            ):
                for block in copy:
                    dump.write(block)
            dump.seek(0)
            dumps[table] = dump
        conn.commit()
        table_seconds: dict[str, float] = {}
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for table, dump in dumps.items():
                table_started = time.perf_counter()
                with cursor.copy(f'COPY "{table}_fair_copy" FROM STDIN') as copy:
                    while block := dump.read(1 << 20):
                        copy.write(block)
                table_seconds[table] = time.perf_counter() - table_started
        conn.commit()
        elapsed = time.perf_counter() - started
        for table in dumps:
            dumps[table].close()
            copied = conn.execute(f'SELECT count(*) FROM "{table}_fair_copy"').fetchone()
            assert copied is not None
            rows[table] = int(copied[0])
            conn.execute(f'DROP TABLE "{table}_fair_copy"')
        conn.commit()
    return FairBaseline(elapsed, rows, table_seconds, structure)


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=FRANCE_TEACHERS, help="default 870000")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    parser.add_argument("--academy", default="24", help="academy code (default 24, Créteil)")
    parser.add_argument("--top", type=int, default=8, help="slowest statements to list")
    parser.add_argument(
        "--explain",
        type=int,
        metavar="MS",
        help="print the plan (EXPLAIN ANALYZE, by auto_explain) of every statement of the "
        "allocation slower than MS milliseconds; timings then include its overhead",
    )
    options = parser.parse_args(argv)
    url = make_url(options.database_url).set(drivername="postgresql+psycopg")
    teachers: int = options.teachers
    academy: str = options.academy

    started = time.perf_counter()
    recreate_database(url)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False))
    build_schema(app)
    schools = load_teachers(url, academy, teachers)
    fund(app, academy, teachers)
    log(
        f"setup: {teachers} teachers in {schools} schools of academy {academy}, "
        f"loaded by COPY and funded in {time.perf_counter() - started:.1f} s (not measured)"
    )

    times = StatementTimes()
    plans = Plans(options.explain) if options.explain is not None else None
    with app.app_context():
        times.attach(db.engine)
        if plans is not None:
            plans.attach(db.engine)
    rss_before = peak_rss_mib()
    ids_before = table_ids(url)
    times.recording = True
    if plans is not None:
        plans.recording = True
    allocation_seconds, output = allocate(app, academy)
    times.recording = False
    ids_after = table_ids(url)  # before the checks: `verify` writes its own row
    if plans is not None:
        plans.recording = False
    log("flask budgets allocate said:")
    for line in output.splitlines():
        log(f"  | {line.strip()}")

    checks = check(app, academy, teachers)
    fair = fair_baseline(url, ids_before, ids_after)
    copy_seconds, rows, structure = copy_baseline(url, academy, foreign_keys=False)

    ratio = allocation_seconds / fair.seconds
    log("")
    log(f"teachers                    {teachers}")
    log(
        f"allocation (CLI, to commit) {allocation_seconds:8.2f} s   "
        f"(with {checks.mails} activation mails queued)"
    )
    log(
        f"fair COPY baseline          {fair.seconds:8.2f} s   "
        f"(every row it wrote, {sum(fair.rows.values())} rows, with FKs and indexes)"
    )
    for table, count in fair.rows.items():
        log(
            f"  {table:<16} {fair.table_seconds[table]:6.2f} s  {count:9d} rows  "
            f"({fair.structure[table]})"
        )
    log(f"postings alone, no FK       {copy_seconds:8.2f} s   ({rows} rows, {structure})")
    verdict = "met" if ratio <= AIM_RATIO else "NOT met"
    log(f"ratio allocation / fair COPY {ratio:7.2f}     aim <= {AIM_RATIO:g}: {verdict}")
    log(f"  (allocation / postings alone: {allocation_seconds / copy_seconds:.2f})")
    log(
        f"ledger verify on {checks.verify.postings} postings took {checks.verify.seconds:.2f} s "
        f"({checks.verify.entries} entries, {checks.verify.accounts} accounts): "
        f"{'ok' if checks.verify.ok else 'FAILED'}"
    )
    log(
        f"peak RSS                    {peak_rss_mib():8.0f} MiB (before allocation: "
        f"{rss_before:.0f} MiB)"
    )
    sql = times.total()
    log(
        f"time split: {sql:.2f} s in {sum(times.calls.values())} SQL statements, "
        f"{allocation_seconds - sql:.2f} s elsewhere (Python, commits)"
    )
    for statement, seconds, calls, affected in times.top(options.top):
        shown = statement if len(statement) <= 150 else statement[:147] + "..."
        log(f"  {seconds:7.2f} s  {calls:3d}×  {affected:8d} rows  {shown}")

    if plans is not None:
        log(f"\nplans of the statements slower than {plans.min_duration_ms} ms:")
        for plan in plans.plans:
            log(plan)
            log("")

    if checks.problems:
        for problem in checks.problems:
            log(f"CHECK FAILED: {problem}")
        return 1
    log(
        f"checks: {checks.accounts} teacher credit accounts at {AMOUNT_CENTS} cents, "
        f"pool left {checks.pool_cents} cent, verify ok"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
