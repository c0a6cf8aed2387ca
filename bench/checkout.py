"""Benchmark: checkouts per second with concurrent teachers, against the SQL floor.

    .venv/bin/python bench/checkout.py [--teachers 5000] [--clients 8] [--seconds 20]

1. drops and recreates its own database (`cr_bench_checkout`), builds the schema with the
   project's migrations; loads N teachers of one academy (schools, users, teacher grants)
   with COPY; funds the academy and gives every teacher 300 € with ONE rule allocation
   (the real services: `fund_academy`, `preview_rule`, `apply_allocation`); builds 20
   products of 5 vendors, 20 € to 39 € per teacher plan, through the real vendor and
   commission steps (`create_product`, `vetting.submit`, `vetting.decide`) (setup, not
   measured);
2. records ONE steady-state checkout: the SQL statements SQLAlchemy sends, and what goes
   over the wire (libpq trace: the pool's pre-ping, BEGIN and COMMIT included);
3. the measure: C client processes (multiprocessing, spawn), each with its own app and
   database session, loop for S seconds: a random teacher (mostly of the client's own
   share, sometimes anyone's: some contention), loaded as flask-login does, then
   `orders.place_order(teacher, [Item(product, teacher plan, 1, price)], uuid key)` for a
   product the teacher does not hold yet, and commit. Refusals (credit too low, already
   held…) are counted apart. Checkouts per second, latency p50/p95, the clients' CPU; a
   sampler thread reads the database backends' CPU (/proc) and states (pg_stat_activity);
4. the baseline: a second rule allocation tops every teacher up (so that the faster
   baseline is not refused for lack of credit), then pgbench (`-c C -j 2 -T S -n -f
   bench/checkout_purchase.sql`): the minimal SQL of the same purchase in one
   transaction; tps and latency parsed from its output, the backends sampled the same way;
   with --rounds R, steps 3 and 4 take turns R times;
5. one client alone in this process: time and CPU per checkout, the statements that take
   the time, then a cProfile (CPU time) of the same loop;
6. checks: `app.ledger.services.verify()` clean, every order paid by its journal entry,
   as many app orders as the clients counted. Exit status 0 whatever the timings (a
   measurement), 1 when a check fails.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import multiprocessing
import os
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from flask import Flask
from psycopg import pq
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import libpq_url, recreate_database  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts.models import Role, RoleGrant, User  # noqa: E402
from app.accounts.routes import load_user  # noqa: E402
from app.budgets import services as budgets  # noqa: E402
from app.core.db import utcnow  # noqa: E402
from app.core.errors import DomainError  # noqa: E402
from app.extensions import db  # noqa: E402
from app.ledger import services as ledger  # noqa: E402
from app.orders import services as orders  # noqa: E402
from app.products import services as products  # noqa: E402
from app.products.models import Channel, PlanKind  # noqa: E402
from app.products.services import PlanDraft, ProductDraft  # noqa: E402
from app.vendors.models import Vendor  # noqa: E402
from app.vetting import services as vetting  # noqa: E402
from app.vetting.models import Decision  # noqa: E402
from catalog import conduct, vocabularies  # noqa: E402
from catalog.identifiers import make_uai  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cr_bench_checkout"
ACADEMY = "24"
VENDORS = 5
PRODUCTS_PER_VENDOR = 4
FIRST_PRICE = 20_00  # product p costs FIRST_PRICE + p * PRICE_STEP: 20 € to 39 €
PRICE_STEP = 1_00
VAT_RATE_BP = 2000
TOPUP_CENTS = 3_000_00  # before pgbench: ~10× the app's purchases must not be refused
WARMUP_CHECKOUTS = 5  # per client, before the clock starts
PGBENCH_SCRIPT = Path(__file__).resolve().parent / "checkout_purchase.sql"
BENCH_KEY = "bench:"  # the app's orders' idempotency keys start with it


# --- helpers -----------------------------------------------------------------------------


def log(message: str = "") -> None:
    print(message, flush=True)


def one_line(statement: str, width: int = 170) -> str:
    statement = re.sub(r"\s+", " ", statement).strip()
    return statement if len(statement) <= width else statement[: width - 1] + "…"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[min(max(1, math.ceil(fraction * len(ordered))), len(ordered)) - 1]


def school_year() -> str:
    return budgets.school_year_code(orders.today())


def make_app(url: URL) -> Flask:
    return create_app("test", SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False))


@dataclass
class StatementTimes:
    """Wall-clock time of every SQL statement an engine sends, summed by statement."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    recording: bool = False

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def detach(self, engine: Engine) -> None:
        event.remove(engine, "before_cursor_execute", self._before)
        event.remove(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_started")
        if not self.recording:
            return
        key = re.sub(r"%\(\w+\)s", "?", one_line(statement, 10_000))
        self.seconds[key] = self.seconds.get(key, 0.0) + elapsed
        self.calls[key] = self.calls.get(key, 0) + 1

    def total(self) -> float:
        return sum(self.seconds.values())

    def count(self) -> int:
        return sum(self.calls.values())

    def top(self, count: int) -> list[tuple[str, float, int]]:
        keys = sorted(self.seconds, key=self.seconds.__getitem__, reverse=True)[:count]
        return [(key, self.seconds[key], self.calls[key]) for key in keys]


@dataclass(frozen=True)
class Activity:
    """What the database's backends did during a measure."""

    seconds: float
    backend_cpu: float  # CPU seconds of the database's client backends (/proc)
    states: Counter[str]  # samples of pg_stat_activity: state and wait event
    machine_busy: float  # share of all cores busy, every process of the machine included


class Sampler:
    """Every 0.05 s, the state and wait event of each client backend of the database
    (pg_stat_activity) and its CPU time (/proc/<pid>/stat); the machine's busy CPU
    (/proc/stat) from start to stop. PostgreSQL runs on this machine.

    A backend already there at the start counts from its CPU time then; one that starts
    later (pgbench's) counts all of its CPU time. Its CPU after the last sample is lost
    (at most 0.05 s each)."""

    QUERY = (
        "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )

    def __init__(self, url: URL, interval: float = 0.05) -> None:
        self.interval = interval
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.states: Counter[str] = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.conn = psycopg.connect(libpq_url(url), autocommit=True)  # before the start

    @staticmethod
    def _machine() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        return sum(values) - idle, sum(values)

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        with self.conn:
            while not self.stop.wait(self.interval):
                for pid, state, wait_type, wait in self.conn.execute(self.QUERY).fetchall():
                    cpu = self._cpu(pid)
                    if cpu is not None:
                        self.first.setdefault(pid, 0.0)  # started after the start
                        self.last[pid] = cpu
                    if state == "active":
                        key = f"active, waiting: {wait_type} {wait}" if wait_type else "active"
                    else:
                        key = f"{state} (waiting for its client)"
                    self.states[key] += 1

    def __enter__(self) -> Sampler:
        self.started = time.perf_counter()
        self.machine = self._machine()
        for row in self.conn.execute(self.QUERY).fetchall():
            cpu = self._cpu(row[0])
            if cpu is not None:
                self.first[row[0]] = self.last[row[0]] = cpu
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        busy, total = self._machine()
        self.activity = Activity(
            time.perf_counter() - self.started,
            sum(self.last[pid] - self.first[pid] for pid in self.last),
            self.states,
            (busy - self.machine[0]) / max(total - self.machine[1], 1),
        )


# --- 1. the database ---------------------------------------------------------------------


def build_schema(app: Flask) -> None:
    with app.app_context():
        flask_migrate.upgrade()
        budgets.sync_academies()
        budgets.ensure_school_year(school_year())
        db.session.commit()


def load_teachers(url: URL, teachers: int, schools: int) -> None:
    """Schools, users 1..N and their teacher grants, by COPY: user u teaches in school
    (u - 1) % schools + 1 (the pgbench script relies on it)."""
    academy = next(a for a in vocabularies.academies() if a.code == ACADEMY)
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY school (id, uai, name, kind, city, academy_code) FROM STDIN"
        ) as copy:
            for school in range(1, schools + 1):
                uai = make_uai(f"{940_000 + school:07d}")
                copy.write_row((school, uai, f"Collège n°{school}", "college", "Créteil", ACADEMY))
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


def allocate_rule(cents: int) -> int:
    """The same amount to every teacher of the academy, one rule allocation; how many."""
    year = school_year()
    preview = budgets.preview_rule(
        None, ACADEMY, year, budgets.Rule(cents), f"bench:{uuid.uuid4()}"
    )
    for _ in budgets.apply_allocation(None, preview.allocation):
        db.session.commit()
    db.session.commit()
    return preview.teacher_count


@dataclass(frozen=True)
class Offer:
    """A product on sale, as a client buys it (plain values: sent to the client processes)."""

    index: int  # 0-based: its price is FIRST_PRICE + index * PRICE_STEP
    product_id: int
    version_id: int
    vendor_id: int
    payable_id: int  # the vendor's payable account
    price_cents: int


def draft(index: int) -> ProductDraft:
    return ProductDraft(
        title=f"Ressource {index}",
        summary="Des exercices pour comprendre les fractions au cycle 3.",
        description="Les élèves manipulent des fractions avec des bandes et des disques.",
        disciplines=["mathematiques"],
        levels=["cycle_3"],
        resource_type="banque_exercices",
        access_url=f"https://ressource.example/{index}",
        channel=Channel.CODES,
        plans=[PlanDraft(PlanKind.TEACHER, FIRST_PRICE + index * PRICE_STEP, VAT_RATE_BP)],
        declaration=conduct.sample_declaration(),
    )


def build_catalogue() -> list[Offer]:
    """Vendors and their products, submitted and approved by the real services."""
    reviewer = User(email="commission@bench.example", name="Commission", password_hash=None)
    reviewer.grants.append(RoleGrant(role=Role.REVIEWER))
    db.session.add(reviewer)
    vendors = []
    for number in range(VENDORS):
        vendor = Vendor(
            legal_name=f"Éditeur {number} SAS",
            siret=f"{number + 1:014d}",
            vat_number="FR00000000000",
            country="FR",
            parent_company=f"Éditeur {number} SAS",
            billing_mandate_accepted_at=utcnow(),  # its invoices are issued at checkout
        )
        db.session.add(vendor)
        vendors.append(vendor)
    db.session.flush()
    all_met = {criterion.code: True for criterion in conduct.label_criteria()}
    offers = []
    for index in range(VENDORS * PRODUCTS_PER_VENDOR):
        vendor = vendors[index // PRODUCTS_PER_VENDOR]
        product = products.create_product(None, vendor, draft(index))
        submission = vetting.submit(None, product.latest)
        assert submission.accepted, submission.findings
        vetting.decide(reviewer, product.latest, Decision.APPROVE, criteria=all_met)
        plan = product.latest.plan(PlanKind.TEACHER)
        assert plan is not None
        payable = ledger.vendor_payable(vendor.id)  # created now, in vendor order
        offers.append(
            Offer(index, product.id, product.latest.id, vendor.id, payable.id, plan.price_cents)
        )
    db.session.commit()
    return offers


@dataclass(frozen=True)
class Layout:
    """The ids the pgbench script computes from a random teacher and product."""

    first_account: int
    first_product: int
    first_version: int
    first_vendor: int
    first_payable: int


def check_layout(url: URL, offers: list[Offer], teachers: int) -> Layout:
    with psycopg.connect(libpq_url(url)) as conn:
        low, high, count = conn.execute(
            "SELECT min(id), max(id), count(*) FROM ledger_account WHERE kind = 'teacher_credit'"
        ).fetchone() or (0, 0, 0)
    if count != teachers or high - low + 1 != teachers:
        raise SystemExit(f"teacher credit accounts not consecutive: {low}..{high}, {count}")
    first = offers[0]
    layout = Layout(low, first.product_id, first.version_id, first.vendor_id, first.payable_id)
    for offer in offers:
        vendor = offer.index // PRODUCTS_PER_VENDOR
        expected = (
            layout.first_product + offer.index,
            layout.first_version + offer.index,
            layout.first_vendor + vendor,
            layout.first_payable + vendor,
            FIRST_PRICE + offer.index * PRICE_STEP,
        )
        found = (
            offer.product_id,
            offer.version_id,
            offer.vendor_id,
            offer.payable_id,
            offer.price_cents,
        )
        if found != expected:
            raise SystemExit(f"catalogue layout not as pgbench expects: {offer}")
    return layout


def settle(url: URL) -> None:
    """Same starting line for each measure: VACUUM ANALYZE, then a checkpoint."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


# --- the client: what a teacher does ---------------------------------------------------


@dataclass
class Shopper:
    """One client's teachers and what they already hold (as far as this client knows).

    Most checkouts are for a teacher of the client's own share (every `share`-th
    teacher), `contention` of them for any teacher: then two clients may serve the same
    teacher at once (the same guarded account, maybe the same product)."""

    teachers: int
    offers: list[Offer]
    part: int
    share: int
    contention: float
    rng: random.Random
    owned: dict[int, set[int]] = field(default_factory=dict)
    committed: int = 0  # every checkout it committed, warm-ups included
    outcomes: Counter[str] = field(default_factory=Counter)  # all of its checkouts

    def pick(self) -> tuple[int, Offer]:
        while True:
            if self.rng.random() < self.contention:
                teacher = self.rng.randint(1, self.teachers)
            else:
                teacher = self.rng.choice(range(self.part + 1, self.teachers + 1, self.share))
            held = self.owned.get(teacher, set())
            choices = [offer for offer in self.offers if offer.index not in held]
            if choices:
                return teacher, self.rng.choice(choices)

    def checkout(self) -> tuple[str, float]:
        """One checkout, committed or refused: (outcome, seconds)."""
        teacher_id, offer = self.pick()
        item = orders.Item(offer.product_id, PlanKind.TEACHER, 1, offer.price_cents)
        started = time.perf_counter()
        try:
            teacher = load_user(f"{teacher_id}.1")  # flask-login's loader, as every request
            assert teacher is not None
            orders.place_order(teacher, [item], f"{BENCH_KEY}{uuid.uuid4()}")
            db.session.commit()
            outcome = "ok"
        except DomainError as error:
            db.session.rollback()
            outcome = error.code
        except DBAPIError as error:
            db.session.rollback()
            outcome = f"error: {type(error.orig).__name__}"
        elapsed = time.perf_counter() - started
        self.committed += outcome == "ok"
        self.outcomes[outcome] += 1
        if outcome in ("ok", "conflict"):  # bought, or found already held
            self.owned.setdefault(teacher_id, set()).add(offer.index)
        return outcome, elapsed


@dataclass
class ClientResult:
    latencies: list[float]  # seconds, of the committed checkouts
    outcomes: Counter[str]
    seconds: float  # from the barrier to the end of its last checkout
    cpu_seconds: float  # the process's CPU time over the same span
    committed: int  # warm-ups included


def client(
    part: int,
    options: dict[str, Any],
    offers: list[Offer],
    barrier: Barrier,
    results: multiprocessing.Queue[ClientResult],
) -> None:
    """A client process: its own app, session and connection; warm up, wait, measure."""
    app = make_app(make_url(options["url"]))
    rng = random.Random(f"{options['seed']}:{options['round']}:{part}")  # noqa: S311
    shopper = Shopper(
        options["teachers"], offers, part, options["clients"], options["contention"], rng
    )
    shopper.owned = {teacher: set(held) for teacher, held in options["held"].items()}
    with app.app_context():
        for _ in range(WARMUP_CHECKOUTS):
            shopper.checkout()
        barrier.wait()
        started, cpu = time.perf_counter(), time.process_time()
        deadline = started + options["seconds"]
        latencies: list[float] = []
        outcomes: Counter[str] = Counter()
        while time.perf_counter() < deadline:
            outcome, elapsed = shopper.checkout()
            outcomes[outcome] += 1
            if outcome == "ok":
                latencies.append(elapsed)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        results.put(ClientResult(latencies, outcomes, elapsed, cpu, shopper.committed))


@dataclass(frozen=True)
class AppRun:
    clients: int
    seconds: float
    latencies: list[float]
    outcomes: Counter[str]
    orders: int  # every order the clients committed, warm-ups included
    cpu_seconds: float  # the client processes' CPU time, all together
    activity: Activity

    @property
    def committed(self) -> int:
        return self.outcomes["ok"]

    @property
    def per_second(self) -> float:
        return self.committed / self.seconds

    def refusals(self) -> str:
        refused = {k: v for k, v in self.outcomes.items() if k != "ok"}
        return ", ".join(f"{k} {v}" for k, v in sorted(refused.items())) or "none"


def held_licences(url: URL, offers: list[Offer]) -> dict[int, list[int]]:
    """The products (offer indexes) each teacher holds already: they are not bought again."""
    index = {offer.product_id: offer.index for offer in offers}
    held: dict[int, list[int]] = {}
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT teacher_id, product_id FROM licence "
            "WHERE plan_kind = 'teacher' AND status IN ('pending', 'active')"
        ).fetchall()
    for teacher, product in rows:
        held.setdefault(teacher, []).append(index[product])
    return held


def run_clients(url: URL, options: argparse.Namespace, offers: list[Offer], number: int) -> AppRun:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(options.clients + 1)
    results: multiprocessing.Queue[ClientResult] = context.Queue()
    settings = {
        "url": url.render_as_string(hide_password=False),
        "teachers": options.teachers,
        "clients": options.clients,
        "contention": options.contention,
        "seconds": options.seconds,
        "seed": options.seed,
        "round": number,
        "held": held_licences(url, offers),
    }
    processes = [
        context.Process(target=client, args=(part, settings, offers, barrier, results))
        for part in range(options.clients)
    ]
    for process in processes:
        process.start()
    sampler = Sampler(url)
    barrier.wait(timeout=300)
    with sampler:
        collected = [results.get(timeout=options.seconds + 300) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a client process failed (exit status {process.exitcode})")
    latencies = [latency for result in collected for latency in result.latencies]
    outcomes: Counter[str] = Counter()
    for result in collected:
        outcomes.update(result.outcomes)
    seconds = max(result.seconds for result in collected)
    orders = sum(result.committed for result in collected)
    cpu = sum(result.cpu_seconds for result in collected)
    return AppRun(options.clients, seconds, latencies, outcomes, orders, cpu, sampler.activity)


# --- 2. one checkout, statement by statement -------------------------------------------


@dataclass
class Trace:
    """libpq's trace of the messages of one connection, from one check-in to the next:
    every round trip, including what SQLAlchemy's events do not see (BEGIN, the pool's
    pre-ping, COMMIT)."""

    path: str
    armed: bool = False
    tracing: bool = False
    done: bool = False

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "checkin", self._checkin)

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        pgconn = dbapi_connection.pgconn
        if self.tracing:
            pgconn.untrace()
            self.tracing, self.done = False, True
        elif self.armed and not self.done:
            self.file = open(self.path, "w")  # noqa: SIM115 - closed by the next check-in
            pgconn.trace(self.file.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            self.tracing, self.armed = True, False

    def messages(self) -> tuple[list[str], int]:
        """What the client sent, one line per request, and the number of round trips."""
        self.file.close()
        content = Path(self.path).read_text()
        sent: list[str] = []
        for message in re.split(r"\n(?=[FB]\t\d+\t)", content):
            query = re.match(r'F\t\d+\tQuery\t "(.*)"$', message, re.S)
            parse = re.match(r'F\t\d+\tParse\t "[^"]*" "(.*)" \d+', message, re.S)
            if match := query or parse:
                sent.append(match.group(1))
            elif match := re.match(r'F\t\d+\tBind\t "" "(_pg3_\d+)"', message):
                sent.append(f"(prepared statement {match.group(1)})")
        round_trips = len(re.findall(r"^B\t\d+\tReadyForQuery", content, re.M))
        return sent, round_trips


@dataclass(frozen=True)
class OneCheckout:
    load_teacher: list[str]
    place_order: list[str]
    commit: list[str]
    wire: list[str]
    round_trips: int


def record_one_checkout(app: Flask, shopper: Shopper) -> OneCheckout:
    """The statements of one steady-state checkout (vendor accounts exist, caches warm)."""
    phases: dict[str, list[str]] = {"load": [], "place": [], "commit": []}
    phase = [""]

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if phase[0]:
            phases[phase[0]].append(sql)

    with tempfile.TemporaryDirectory() as directory, app.app_context():
        trace = Trace(str(Path(directory) / "libpq.trace"))
        engine = db.engine
        engine.dispose()  # a new connection: nothing prepared yet, every text is sent
        trace.attach(engine)
        event.listen(engine, "before_cursor_execute", statement)
        with engine.connect() as conn:  # not fresh any more: the next checkout pings it
            conn.exec_driver_sql("SELECT 1")
        trace.armed = True
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")  # its check-in starts the trace
        teacher_id, offer = shopper.pick()
        phase[0] = "load"
        teacher = load_user(f"{teacher_id}.1")  # session version 1: the column's default
        assert teacher is not None
        phase[0] = "place"
        item = orders.Item(offer.product_id, PlanKind.TEACHER, 1, offer.price_cents)
        orders.place_order(teacher, [item], f"{BENCH_KEY}{uuid.uuid4()}")
        phase[0] = "commit"
        db.session.commit()
        phase[0] = ""
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "checkin", trace._checkin)
        assert trace.done, "the checkout's connection was not traced"
        shopper.owned.setdefault(teacher_id, set()).add(offer.index)
        shopper.committed += 1
        wire, round_trips = trace.messages()
    return OneCheckout(phases["load"], phases["place"], phases["commit"], wire, round_trips)


# --- 4. one client alone: time split and profile ---------------------------------------


@dataclass(frozen=True)
class Alone:
    checkouts: int
    seconds: float  # plain loop, no listener
    cpu_seconds: float  # this process's CPU time in that loop
    sql_seconds: float  # the same loop again, statements timed
    sql_loop_seconds: float
    statements: int
    times: StatementTimes
    profile: pstats.Stats
    profile_seconds: float
    refused: Counter[str]  # over its 4 loops (warm-up included)


def alone(app: Flask, shopper: Shopper, checkouts: int) -> Alone:
    def loop() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(checkouts):
            shopper.checkout()
        return time.perf_counter() - started, time.process_time() - cpu

    before = Counter(shopper.outcomes)
    with app.app_context():
        loop()  # warm up
        plain, cpu = loop()
        times = StatementTimes()
        times.attach(db.engine)
        times.recording = True
        timed, _ = loop()
        times.recording = False
        times.detach(db.engine)
        profiler = cProfile.Profile(time.process_time)  # CPU time, not waits
        profiler.enable()
        profiled, _ = loop()
        profiler.disable()
    stats = pstats.Stats(profiler)
    refused = Counter(shopper.outcomes)
    refused.subtract(before)
    del refused["ok"]
    return Alone(
        checkouts,
        plain,
        cpu,
        times.total(),
        timed,
        times.count(),
        times,
        stats,
        profiled,
        +refused,
    )


def profile_groups(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own CPU time (tottime) by package. Time in compiled code (libpq, psycopg's C
    parts) counts for the Python function that called it."""
    groups: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, name), (_, _, tottime, _, _) in raw.items():
        if "/sqlalchemy/" in filename:
            group = "SQLAlchemy"
        elif "/psycopg" in filename or "psycopg" in name:
            group = "psycopg (other)"
        elif filename.startswith(f"{ROOT}/app/"):
            group = "the app's own code"
        elif "/flask" in filename or "/werkzeug/" in filename:
            group = "Flask"
        else:
            group = "other (stdlib, builtins…)"
        groups[group] += tottime
    return groups.most_common()


PROFILE_STEPS = (
    ("sqlalchemy/engine/base.py", "execute", "Connection.execute: every statement, Core"),
    ("psycopg/cursor.py", "execute", "  of which psycopg's Cursor.execute"),
    ("sqlalchemy/orm/session.py", "execute", "Session.execute / scalar(s): the services' queries"),
    ("sqlalchemy/orm/session.py", "flush", "Session.flush: the unit of work's INSERT / UPDATE"),
    ("sqlalchemy/orm/session.py", "get", "Session.get: the teacher, the order, the entry"),
    ("sqlalchemy/orm/strategies.py", "_load_for_state", "lazy loads (product, plans, grants)"),
    ("sqlalchemy/orm/loading.py", "instances", "rows made into ORM objects"),
)


def profile_steps(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Cumulative CPU time of a few SQLAlchemy entry points (they overlap)."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    steps = []
    for suffix, function, label in PROFILE_STEPS:
        found = [
            cumtime
            for (filename, _, name), (_, _, _, cumtime, _) in raw.items()
            if filename.endswith(suffix) and name == function
        ]
        steps.append((label, max(found, default=0.0)))
    return steps


def profile_lines(stats: pstats.Stats, key: str, count: int, app_only: bool) -> list[str]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in raw.items():
        if app_only and not filename.startswith(f"{ROOT}/app/"):
            continue
        short = filename.split("/site-packages/")[-1].replace(f"{ROOT}/", "")
        rows.append(
            (tottime if key == "tottime" else cumtime, calls, tottime, cumtime, short, line, name)
        )
    rows.sort(reverse=True)
    return [
        f"  {tot:6.2f} s own  {cum:6.2f} s cum  {calls:7d}×  {name} ({short}:{line})"
        for _, calls, tot, cum, short, line, name in rows[:count]
    ]


# --- 5. the pgbench baseline -------------------------------------------------------------


@dataclass(frozen=True)
class Pgbench:
    command: list[str]
    tps: float
    latency_ms: float
    transactions: int
    failed: int
    output: str
    client_cpu: float  # pgbench's own CPU time
    activity: Activity


def find_pgbench(given: str | None) -> str:
    for candidate in (given, shutil.which("pgbench"), "/usr/lib/postgresql/15/bin/pgbench"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("pgbench not found: install postgresql-client or give --pgbench PATH")


def run_pgbench(
    url: URL, options: argparse.Namespace, layout: Layout, offers: list[Offer], schools: int
) -> Pgbench:
    variables = {
        "teachers": options.teachers,
        "schools": schools,
        "products": len(offers),
        "products_per_vendor": PRODUCTS_PER_VENDOR,
        "first_account": layout.first_account,
        "first_product": layout.first_product,
        "first_version": layout.first_version,
        "first_vendor": layout.first_vendor,
        "first_payable": layout.first_payable,
        "first_price": FIRST_PRICE,
        "price_step": PRICE_STEP,
        "vat_rate_bp": VAT_RATE_BP,
        "academy": int(ACADEMY),
        "year": int(school_year()[:4]),
        "max_attempts": 8,
    }
    command = [find_pgbench(options.pgbench)]
    command += ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    command += ["-U", url.username or "postgres"]
    command += ["-c", str(options.clients), "-j", "2", "-T", str(options.seconds), "-n"]
    command += ["-M", options.pgbench_protocol, "-f", str(PGBENCH_SCRIPT)]
    if options.statement_latencies:
        command.append("-r")
    for name, value in variables.items():
        command += ["-D", f"{name}={value}"]
    command.append(url.database or "")
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Sampler(url) as sampler:
        done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def number(pattern: str) -> float:
        match = re.search(pattern, done.stdout)
        if match is None:
            raise SystemExit(f"no {pattern!r} in pgbench's output:\n{done.stdout}")
        return float(match.group(1))

    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return Pgbench(
        command,
        tps=number(r"tps = ([\d.]+) \(without initial connection time\)"),
        latency_ms=number(r"latency average = ([\d.]+) ms"),
        transactions=int(number(r"number of transactions actually processed: (\d+)")),
        failed=int(failed.group(1)) if failed else 0,
        output=done.stdout,
        client_cpu=client_cpu,
        activity=sampler.activity,
    )


# --- 6. checks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Checks:
    verify: ledger.VerifyReport
    app_orders: int
    pgbench_orders: int
    pgbench_without_licence: int
    problems: list[str]


def check(app: Flask, app_orders_expected: int) -> Checks:
    with app.app_context():
        report = ledger.verify()
        counts = db.session.execute(
            text(
                "SELECT count(*) FILTER (WHERE idempotency_key LIKE :app), "
                "count(*) FILTER (WHERE idempotency_key LIKE 'pgbench:%') FROM \"order\""
            ),
            {"app": BENCH_KEY + "%"},
        ).one()
        unpaid = db.session.scalar(
            text(
                'SELECT count(*) FROM "order" o LEFT JOIN posting p '
                "ON p.entry_id = o.entry_id AND p.amount_cents < 0 "
                "WHERE p.id IS NULL OR p.amount_cents <> -o.total_cents"
            )
        )
        without_licence = db.session.scalar(
            text(
                'SELECT count(*) FROM "order" o JOIN order_line l ON l.order_id = o.id '
                "LEFT JOIN licence c ON c.order_line_id = l.id "
                "WHERE o.idempotency_key LIKE 'pgbench:%' AND c.id IS NULL"
            )
        )
        app_without_licence = db.session.scalar(
            text(
                'SELECT count(*) FROM "order" o JOIN order_line l ON l.order_id = o.id '
                "LEFT JOIN licence c ON c.order_line_id = l.id "
                "WHERE o.idempotency_key LIKE :app AND c.id IS NULL"
            ),
            {"app": BENCH_KEY + "%"},
        )
        db.session.rollback()
    problems = []
    if not report.ok:
        problems.append(f"ledger verify failed: {report}")
    if counts[0] != app_orders_expected:
        problems.append(
            f"{counts[0]} app orders in the database, the clients counted {app_orders_expected}"
        )
    if unpaid:
        problems.append(f"{unpaid} orders without their teacher's debit of the total")
    if app_without_licence:
        problems.append(f"{app_without_licence} app order lines without a licence")
    return Checks(report, counts[0], counts[1], without_licence or 0, problems)


# --- main --------------------------------------------------------------------------------


@contextmanager
def step(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log(f"  {label}: {time.perf_counter() - started:.1f} s")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=5000, help="default 5000")
    parser.add_argument("--schools", type=int, default=20, help="default 20")
    parser.add_argument("--clients", type=int, default=8, help="client processes (default 8)")
    parser.add_argument("--seconds", type=int, default=20, help="of each measure (default 20)")
    parser.add_argument("--credit", type=int, default=300, help="euros per teacher (300)")
    parser.add_argument(
        "--contention",
        type=float,
        default=0.1,
        help="share of checkouts for any teacher rather than the client's own (0.1)",
    )
    parser.add_argument(
        "--alone", type=int, default=300, help="checkouts per single-client loop (300)"
    )
    parser.add_argument("--top", type=int, default=12, help="statements / functions listed")
    parser.add_argument("--seed", type=int, default=1, help="of the teachers' choices")
    parser.add_argument(
        "--rounds", type=int, default=1, help="app then pgbench, this many times (default 1)"
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    parser.add_argument("--pgbench", help="path of pgbench (default: on PATH)")
    parser.add_argument(
        "--pgbench-protocol",
        choices=["simple", "extended", "prepared"],
        default="simple",
        help="pgbench -M (default simple, pgbench's own default)",
    )
    parser.add_argument(
        "--statement-latencies", action="store_true", help="pgbench -r: per statement"
    )
    parser.add_argument("--profile-out", help="save the single client's cProfile stats there")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    url = make_url(options.database_url).set(drivername="postgresql+psycopg")
    teachers: int = options.teachers
    find_pgbench(options.pgbench)

    started = time.perf_counter()
    log(
        f"setup ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}):"
    )
    recreate_database(url)
    app = make_app(url)
    with step("database and schema (migrations)"):
        build_schema(app)
    with step(f"{teachers} teachers in {options.schools} schools, by COPY"):
        load_teachers(url, teachers, options.schools)
    with app.app_context():
        with step(f"{VENDORS * PRODUCTS_PER_VENDOR} products of {VENDORS} vendors approved"):
            offers = build_catalogue()
        with step("academy funded"):
            cents = teachers * (options.credit * 100 + TOPUP_CENTS) + 1
            budgets.fund_academy(None, ACADEMY, school_year(), cents, "fund:bench")
            db.session.commit()
        with step(f"one rule allocation of {options.credit} € to every teacher"):
            credited = allocate_rule(options.credit * 100)
    assert credited == teachers, credited
    layout = check_layout(url, offers, teachers)
    log(f"setup done in {time.perf_counter() - started:.1f} s (not measured)")

    # 2. one checkout, statement by statement, once the caches are warm
    shopper = Shopper(teachers, offers, 0, 1, 0.0, random.Random(options.seed))  # noqa: S311
    with app.app_context():
        for _ in range(10):
            shopper.checkout()
    one = record_one_checkout(app, shopper)

    # 3. and 5. the measure and the baseline, in turn
    runs: list[AppRun] = []
    benches: list[Pgbench] = []
    for number in range(1, options.rounds + 1):
        with app.app_context():
            db.engine.dispose()  # no idle connection of this process among the sampled ones
        settle(url)
        log(
            f"round {number}: app, {options.clients} client processes, {options.seconds} s, "
            f"load average {os.getloadavg()[0]:.2f}…"
        )
        runs.append(run_clients(url, options, offers, number))
        if number == 1:  # every teacher topped up, so that pgbench's debits all pass
            with app.app_context():
                topped = allocate_rule(TOPUP_CENTS)
                db.engine.dispose()
            assert topped == teachers, topped
        settle(url)
        log(
            f"round {number}: pgbench, {options.clients} clients, {options.seconds} s, "
            f"load average {os.getloadavg()[0]:.2f}…"
        )
        benches.append(run_pgbench(url, options, layout, offers, options.schools))

    # 4. one client alone
    log(f"one client alone: 4 loops (the first to warm up) of {options.alone} checkouts…")
    shopper.owned = {teacher: set(held) for teacher, held in held_licences(url, offers).items()}
    single = alone(app, shopper, options.alone)
    if options.profile_out:
        single.profile.dump_stats(options.profile_out)

    checks = check(app, shopper.committed + sum(run.orders for run in runs))
    report(options, runs, benches, one, single, checks)
    if checks.problems:
        for problem in checks.problems:
            log(f"CHECK FAILED: {problem}")
        return 1
    log(
        f"checks: verify ok, every order paid by its entry, {checks.app_orders} app orders "
        "as counted by the clients"
    )
    return 0


def activity_lines(activity: Activity, count: int, what: str) -> None:
    log(
        f"  PostgreSQL backends' CPU   {activity.backend_cpu:8.1f} s "
        f"({activity.backend_cpu / max(count, 1) * 1000:.2f} ms per {what}); the machine's "
        f"cores {activity.machine_busy:.0%} busy (all processes, other benchmarks too)"
    )
    samples = max(sum(activity.states.values()), 1)
    shown = [(state, n) for state, n in activity.states.most_common() if n / samples >= 0.005]
    rest = samples - sum(n for _, n in shown)
    shares = ", ".join(f"{state} {n / samples:.0%}" for state, n in shown)
    log(f"  backends sampled: {shares}" + (f", others {rest / samples:.1%}" if rest else ""))


def merge_activities(activities: list[Activity]) -> Activity:
    states: Counter[str] = Counter()
    for activity in activities:
        states.update(activity.states)
    seconds = sum(activity.seconds for activity in activities)
    return Activity(
        seconds,
        sum(activity.backend_cpu for activity in activities),
        states,
        sum(activity.machine_busy * activity.seconds for activity in activities) / seconds,
    )


def merge_runs(runs: list[AppRun]) -> AppRun:
    """The rounds as one: their time, checkouts, latencies and CPU added up."""
    outcomes: Counter[str] = Counter()
    for run in runs:
        outcomes.update(run.outcomes)
    return AppRun(
        runs[0].clients,
        sum(run.seconds for run in runs),
        [latency for run in runs for latency in run.latencies],
        outcomes,
        sum(run.orders for run in runs),
        sum(run.cpu_seconds for run in runs),
        merge_activities([run.activity for run in runs]),
    )


def merge_benches(benches: list[Pgbench]) -> Pgbench:
    """The rounds as one: mean tps and latency (the rounds last as long), counts added."""
    return Pgbench(
        benches[0].command,
        sum(bench.tps for bench in benches) / len(benches),
        sum(bench.latency_ms for bench in benches) / len(benches),
        sum(bench.transactions for bench in benches),
        sum(bench.failed for bench in benches),
        benches[-1].output,
        sum(bench.client_cpu for bench in benches),
        merge_activities([bench.activity for bench in benches]),
    )


def report(
    options: argparse.Namespace,
    runs: list[AppRun],
    benches: list[Pgbench],
    one: OneCheckout,
    single: Alone,
    checks: Checks,
) -> None:
    top = options.top
    run, bench = merge_runs(runs), merge_benches(benches)
    log("")
    log("one checkout (steady state), the statements SQLAlchemy sends:")
    number = 0
    for label, statements in (
        ("loading the teacher (flask-login's loader)", one.load_teacher),
        ("place_order()", one.place_order),
        ("commit (flush)", one.commit),
    ):
        log(f"  {label}: {len(statements)}")
        for statement in statements:
            number += 1
            log(f"  {number:3d}  {one_line(statement)}")
    log(
        f"on the wire: {len(one.wire)} requests, {one.round_trips} round trips "
        "(with BEGIN, the pool's pre-ping and COMMIT, that SQLAlchemy's events do not see):"
    )
    for index, sent in enumerate(one.wire, 1):
        log(f"  {index:3d}  {one_line(sent, 120)}")

    log("")
    if len(runs) > 1:
        log("round  app checkouts/s  p50 ms  p95 ms  machine busy   pgbench tps  busy   ratio")
        for number, (one_run, one_bench) in enumerate(zip(runs, benches, strict=True), 1):
            log(
                f"{number:5d}  {one_run.per_second:15.1f}  "
                f"{percentile(one_run.latencies, 0.5) * 1000:6.0f}  "
                f"{percentile(one_run.latencies, 0.95) * 1000:6.0f}  "
                f"{one_run.activity.machine_busy:12.0%}   {one_bench.tps:11.1f}  "
                f"{one_bench.activity.machine_busy:4.0%}  {one_bench.tps / one_run.per_second:6.1f}"
            )
        log(f"all {len(runs)} rounds together:")
    log(f"app: {run.clients} client processes, {run.seconds:.1f} s")
    log(f"  checkouts committed        {run.committed:8d}   refused: {run.refusals()}")
    log(f"  checkouts/s                {run.per_second:8.1f}")
    p50 = percentile(run.latencies, 0.50) * 1000
    p95 = percentile(run.latencies, 0.95) * 1000
    log(f"  latency p50 / p95          {p50:8.1f} / {p95:.1f} ms")
    cores = os.cpu_count() or 1
    log(
        f"  client processes' CPU      {run.cpu_seconds:8.1f} s of the {cores} × "
        f"{run.seconds:.0f} s the machine has ({run.cpu_seconds / run.committed * 1000:.1f} ms "
        "per checkout)"
    )
    activity_lines(run.activity, run.committed, "checkout")
    shown = [a for a in bench.command[:-1] if "=" not in a and a != "-D"]
    shown = [Path(a).name if "/" in a else a for a in shown]
    log(f"baseline: {' '.join(shown)} (-D: ids, see the script)")
    log(
        f"  transactions               {bench.transactions:8d}   "
        f"(orders {checks.pgbench_orders}, refused debits "
        f"{bench.transactions - checks.pgbench_orders}, licences skipped as already held "
        f"{checks.pgbench_without_licence}, failed {bench.failed})"
    )
    log(f"  tps                        {bench.tps:8.1f}")
    log(f"  latency average            {bench.latency_ms:8.2f} ms")
    log(
        f"  pgbench's CPU              {bench.client_cpu:8.1f} s "
        f"({bench.client_cpu / bench.transactions * 1000:.2f} ms per transaction)"
    )
    activity_lines(bench.activity, bench.transactions, "transaction")
    log(f"ratio pgbench tps / app checkouts/s  {bench.tps / run.per_second:.1f}")
    if options.statement_latencies:
        log("pgbench per statement:")
        tail = bench.output.split("statement latencies in milliseconds")[-1]
        for line in tail.splitlines()[1:]:
            log(f"  {one_line(line, 150)}")

    log("")
    per = single.checkouts
    log(
        f"one client alone: {single.seconds / per * 1000:.2f} ms per checkout "
        f"({per / single.seconds:.0f}/s), of which {single.cpu_seconds / per * 1000:.2f} ms "
        "of its own CPU (Python); the rest waits for PostgreSQL (or for a core)"
    )
    refused = ", ".join(f"{code} {n}" for code, n in sorted(single.refused.items()))
    log(f"  refused over its loops: {refused or 'none'}")
    log(
        f"  the same loop with statement timing "
        f"{single.sql_loop_seconds / per * 1000:.2f} ms, of which SQL statements "
        f"{single.sql_seconds / per * 1000:.2f} ms ({single.statements / per:.1f} statements "
        "per checkout, time from execute to its result)"
    )
    log(f"  the {top} statements that take longest (per checkout: ms, calls):")
    for statement, seconds, calls in single.times.top(top):
        log(f"  {seconds / per * 1000:6.3f} ms  {calls / per:4.1f}×  {one_line(statement, 130)}")
    groups = profile_groups(single.profile)
    total = sum(seconds for _, seconds in groups)
    log(
        f"CPU profile of one client (cProfile timed by process_time, {per} checkouts: "
        f"{total / per * 1000:.1f} ms of CPU per checkout under the profiler, "
        f"{single.cpu_seconds / per * 1000:.1f} ms without), its CPU by package:"
    )
    for group, seconds in groups:
        share = f"{seconds / total:4.0%}"
        log(f"  {seconds:6.2f} s  {share}  {seconds / per * 1000:6.2f} ms/checkout  {group}")
    log("  cumulative CPU of some SQLAlchemy entry points (they overlap):")
    for label, seconds in profile_steps(single.profile):
        share = f"{seconds / total:4.0%}"
        log(f"  {seconds:6.2f} s  {share}  {seconds / per * 1000:6.2f} ms/checkout  {label}")
    log(f"  the {top} functions with the most own CPU time:")
    for line in profile_lines(single.profile, "tottime", top, app_only=False):
        log(line)
    log(f"  the app's {top} functions with the most cumulative CPU time:")
    for line in profile_lines(single.profile, "cumtime", top, app_only=True):
        log(line)

    verify = checks.verify
    log("")
    log(
        f"ledger verify: {'ok' if verify.ok else 'FAILED'} ({verify.entries} entries, "
        f"{verify.postings} postings, {verify.accounts} accounts, {verify.seconds:.2f} s)"
    )


if __name__ == "__main__":
    sys.exit(main())
