"""Benchmark: the service under load as production runs it — gunicorn and a jobs worker —
with teachers buying at the start of the school year and vendors polling the API.

    .venv/bin/python bench/load.py [--users 50,200,500] [--duration 60]

1. drops and recreates its own database (`cr_bench_load`), builds the schema with the
   migrations; loads N teachers of one academy by COPY, all with the same password; funds
   the academy and gives every teacher 300 € with one rule allocation; 20 products of 5
   vendors through the real vendor and commission steps, with activation codes; one API
   token per vendor (bench/checkout.py's helpers; setup, not measured);
2. starts gunicorn with gunicorn.conf.py (APP_ENV=production, the variables production
   demands set to local values, the login rate limits raised: every simulated person comes
   from 127.0.0.1) and one `flask jobs work --schedule` beside it;
3. for each number of simulated users: VACUUM ANALYZE and a checkpoint, then locust
   headless (bench/locustfile.py) for the duration: requests/s, p50/p95/p99 and failures
   per step, the database backends' CPU and the machine's; the client (locust) runs on the
   same machine and its CPU is shown;
4. stops gunicorn and the worker (SIGTERM), counts the jobs left;
5. the floor: every teacher topped up, then pgbench with bench/checkout_purchase.sql (the
   minimal SQL of one purchase) with as many clients as gunicorn serves requests at once
   (workers × threads): its transactions/s against the app's checkouts/s;
6. checks: `flask ledger verify` (the real command, exit status 0), and by SQL that every
   order is paid once — its own purchase entry debiting its total, no entry for two orders,
   no purchase entry without its order — and that the app's orders are the ones the
   simulated teachers were shown. Exit status 0 whatever the timings, 1 when a check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import resource
import runpy
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import patch

import psycopg
from sqlalchemy import delete, update
from sqlalchemy.engine import URL, make_url

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import checkout  # noqa: E402 - bench/checkout.py: the same data, the same pgbench floor
from common import libpq_url, recreate_database  # noqa: E402

from app.accounts import services as accounts  # noqa: E402
from app.accounts.models import Role, RoleGrant, User  # noqa: E402
from app.accounts.tokens import create_token  # noqa: E402
from app.budgets import services as budgets  # noqa: E402
from app.core.jobs import Job  # noqa: E402
from app.extensions import db  # noqa: E402
from app.licences import services as licences  # noqa: E402
from app.products.models import PlanKind, Product  # noqa: E402
from app.vendors.models import Vendor  # noqa: E402
from catalog import vocabularies  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cr_bench_load"
PASSWORD = "rentree-des-classes-2026"  # noqa: S105 - the bench's teachers only
SEARCHES = ["fractions", "exercices", "bandes+disques", "cycle+3", "comprendre+les+fractions"]
# Every simulated person comes from 127.0.0.1: the per-address limits would count them
# together. Raised for the bench only, through the app's configuration (create_app's
# overrides on gunicorn's command line); the per-account ones are left as they are.
RAISED_LIMITS = {
    "LOGIN_FAILURES_PER_ADDRESS": "1000000 per 15 minutes",
    "MAIL_REQUESTS_PER_ADDRESS": "1000000 per hour",
}
WARM_UP_SECONDS = 15  # every gunicorn worker has loaded the app and answered
STEPS = [
    "sign in: form",
    "sign in",
    "search",
    "product",
    "add to cart",
    "cart",
    "summary",
    "checkout",
    "checkout (sent twice)",
    "order page",
    "sign out",
    "api: pending",
    "api: changed since",
]


def log(message: str = "") -> None:
    print(message, flush=True)


# --- 1. the data -------------------------------------------------------------------------


def build(url: URL, options: argparse.Namespace) -> tuple[list[checkout.Offer], dict]:  # type: ignore[type-arg]
    """The bench's database; the offers and what the simulated people need."""
    recreate_database(url)
    app = checkout.make_app(url)
    checkout.build_schema(app)
    checkout.load_teachers(url, options.teachers, options.schools)
    with app.app_context():
        password_hash = accounts.hash_password(PASSWORD)
        db.session.execute(update(User).values(password_hash=password_hash))
        offers = checkout.build_catalogue()
        for offer in offers:
            product = db.session.get(Product, offer.product_id)
            assert product is not None
            codes = [f"BENCH-{offer.product_id}-{n:06d}" for n in range(options.codes)]
            licences.upload_codes(None, product, PlanKind.TEACHER, codes)
        tokens = []
        for vendor in db.session.query(Vendor).order_by(Vendor.id):
            staff = User(email=f"logiciel.{vendor.id}@bench.example", name="Logiciel")
            staff.grants.append(RoleGrant(role=Role.VENDOR, vendor_id=vendor.id))
            db.session.add(staff)
            db.session.flush()
            tokens.append(create_token(staff, vendor, "Synchronisation")[1])
        cents = options.teachers * (options.credit * 100 + checkout.TOPUP_CENTS) + 1
        budgets.fund_academy(None, checkout.ACADEMY, checkout.school_year(), cents, "fund:bench")
        db.session.commit()
        assert checkout.allocate_rule(options.credit * 100) == options.teachers
        # The setup's own jobs (the credit-received mails) are not part of the measure.
        db.session.execute(delete(Job))
        db.session.commit()
        db.engine.dispose()
    academy = next(a for a in vocabularies.academies() if a.code == checkout.ACADEMY)
    data = {
        "first_teacher": 1,
        "last_teacher": options.teachers,
        "email_pattern": "enseignant.{:07d}@" + academy.email_domain,
        "password": PASSWORD,
        "products": [offer.product_id for offer in offers],
        "searches": SEARCHES,
        "tokens": tokens,
        "think_seconds": options.think,
        "poll_seconds": options.poll,
    }
    return offers, data


# --- 2. the server -----------------------------------------------------------------------


@dataclass
class Server:
    """gunicorn and a jobs worker, as production runs them."""

    gunicorn: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    address: str
    log: Path
    environment: dict[str, str]

    def pids(self) -> list[int]:
        children = subprocess.run(
            ["pgrep", "-P", str(self.gunicorn.pid)], capture_output=True, text=True, check=False
        )
        return [self.gunicorn.pid, self.worker.pid, *map(int, children.stdout.split())]

    def cpu(self) -> float:
        return sum(process_cpu(pid) for pid in self.pids())

    def stop(self) -> None:
        for process in (self.gunicorn, self.worker):
            process.send_signal(signal.SIGTERM)
        for process in (self.gunicorn, self.worker):
            process.wait(timeout=60)


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environment(url: URL, directory: Path, options: argparse.Namespace) -> dict[str, str]:
    """What production demands, with local values."""
    settings = {
        "APP_ENV": "production",
        "FLASK_APP": "app",
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PUBLIC_URL": "http://127.0.0.1",
        "MAIL_URL": f"file://{directory / 'mail'}",
        "STORAGE_URL": (directory / "storage").as_uri(),
        "WEB_BIND": "127.0.0.1:0",
    }
    if options.web_concurrency:
        settings["WEB_CONCURRENCY"] = str(options.web_concurrency)
    if options.ratelimit_storage_uri:
        settings["RATELIMIT_STORAGE_URI"] = options.ratelimit_storage_uri
    return {**os.environ, **settings}


def start(url: URL, directory: Path, options: argparse.Namespace) -> Server:
    settings = environment(url, directory, options)
    overrides = ", ".join(f"{key}={value!r}" for key, value in RAISED_LIMITS.items())
    log_path = directory / "server.log"
    with log_path.open("w") as output:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
            + [f"app:create_app({overrides})"],
            cwd=ROOT,
            env=settings,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "jobs", "work", "--schedule"],
            cwd=ROOT,
            env=settings,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if found := re.search(r"Listening at: (http://[\d.:]+)", log_path.read_text()):
            return Server(gunicorn, worker, found.group(1), log_path, settings)
        if gunicorn.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit("gunicorn did not start:\n" + log_path.read_text())


def concurrency(server: Server) -> tuple[int, int]:
    """gunicorn's workers and threads, as gunicorn.conf.py gives them in the server's
    environment, once every worker has booted."""
    with patch.dict(os.environ, server.environment, clear=True):
        settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    workers, threads = int(settings["workers"]), int(settings["threads"])
    deadline = time.monotonic() + 120
    while len(re.findall(r"Booting worker", server.log.read_text())) < workers:
        if time.monotonic() > deadline:
            raise SystemExit("gunicorn's workers did not boot:\n" + server.log.read_text())
        time.sleep(0.2)
    return workers, threads


# --- 3. the measure ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    requests: int
    failures: int
    per_second: float
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class Level:
    users: int
    steps: dict[str, Step]
    total: Step
    failures: list[tuple[str, str, int]]  # step, message, occurrences
    locust_cpu: float
    server_cpu: float
    activity: checkout.Activity
    seconds: float
    orders_seen: list[int]

    @property
    def checkouts_per_second(self) -> float:
        done = self.steps.get("checkout")
        return (done.requests - done.failures) / self.seconds if done else 0.0


def run_locust(
    server: Server,
    url: URL,
    users: int,
    duration: int,
    data: dict,  # type: ignore[type-arg]
    work: Path,
) -> Level:
    """Locust with `users` simulated people for `duration` seconds (a quarter of it, 10 s
    at most, to start them all); the teachers that sign in are taken after the last run's."""
    prefix = work / f"locust-{users}-{data['first_teacher']}"
    data_path = work / "data.json"
    data_path.write_text(json.dumps(data))
    orders_path = Path(f"{prefix}-orders.json")
    spawn_rate = max(1.0, users / max(1.0, min(10.0, duration / 4)))
    command = [sys.executable, "-m", "locust", "-f", str(BENCH / "locustfile.py"), "--headless"]
    command += ["-u", str(users), "-r", f"{spawn_rate:g}", "-t", f"{duration}s"]
    command += ["--host", server.address, "--csv", str(prefix), "--only-summary", "-s", "5"]
    settings = {**os.environ, "BENCH_LOAD_DATA": str(data_path)}
    settings["BENCH_LOAD_ORDERS"] = str(orders_path)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = server.cpu()
    with checkout.Sampler(url) as sampler, Path(f"{prefix}.log").open("w") as output:
        subprocess.run(command, cwd=ROOT, env=settings, stdout=output, stderr=output, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    rows = list(csv.DictReader(Path(f"{prefix}_stats.csv").read_text().splitlines()))
    if not rows:
        raise SystemExit(
            "locust wrote no statistics:\n" + (work / f"locust-{users}.log").read_text()
        )

    def step(row: dict[str, str]) -> Step:
        def number(column: str) -> float:
            value = row.get(column) or "0"
            return 0.0 if value == "N/A" else float(value)

        return Step(
            row["Name"],
            int(number("Request Count")),
            int(number("Failure Count")),
            number("Requests/s"),
            number("50%"),
            number("95%"),
            number("99%"),
        )

    steps = {row["Name"]: step(row) for row in rows if row["Name"] != "Aggregated"}
    total = step(next(row for row in rows if row["Name"] == "Aggregated"))
    seconds = total.requests / total.per_second if total.per_second else float(duration)
    data["first_teacher"] += steps["sign in"].requests if "sign in" in steps else 0
    failures = [
        (row["Name"], row["Error"], int(row["Occurrences"]))
        for row in csv.DictReader(Path(f"{prefix}_failures.csv").read_text().splitlines())
    ]
    orders_seen = json.loads(orders_path.read_text()) if orders_path.exists() else []
    return Level(
        users,
        steps,
        total,
        failures,
        locust_cpu,
        server.cpu() - server_cpu,
        sampler.activity,
        seconds,
        orders_seen,
    )


# --- 6. checks ---------------------------------------------------------------------------


def check(url: URL, server: Server, seen: set[int]) -> list[str]:
    problems = []
    verify = subprocess.run(
        [sys.executable, "-m", "flask", "ledger", "verify"],
        cwd=ROOT,
        env=server.environment,
        capture_output=True,
        text=True,
        check=False,
    )
    log(f"flask ledger verify (exit status {verify.returncode}):")
    for line in (verify.stdout + verify.stderr).strip().splitlines()[-6:]:
        log(f"  {line}")
    if verify.returncode != 0:
        problems.append("flask ledger verify failed")
    queries = {
        "orders not paid by their own entry's debit of their total": (
            'SELECT count(*) FROM "order" o LEFT JOIN posting p '
            "ON p.entry_id = o.entry_id AND p.amount_cents < 0 "
            "WHERE p.id IS NULL OR p.amount_cents <> -o.total_cents"
        ),
        "purchase entries paying two orders": (
            'SELECT count(*) FROM (SELECT entry_id FROM "order" '
            "GROUP BY entry_id HAVING count(*) > 1) AS twice"
        ),
        "purchase entries without their order (money moved twice for one checkout)": (
            "SELECT count(*) FROM journal_entry e WHERE e.kind = 'purchase' "
            'AND NOT EXISTS (SELECT 1 FROM "order" o WHERE o.entry_id = e.id)'
        ),
    }
    with psycopg.connect(libpq_url(url)) as conn:
        for label, query in queries.items():
            found = conn.execute(query).fetchone()
            count = found[0] if found else 0
            log(f"  {label}: {count}")
            if count:
                problems.append(f"{count} {label}")
        app_orders = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM \"order\" WHERE idempotency_key NOT LIKE 'pgbench:%'"
            )
        }
    log(
        f"  app orders {len(app_orders)}, shown to the simulated teachers {len(seen)}, "
        f"in the database but never shown {len(app_orders - seen)}, shown but not in the "
        f"database {len(seen - app_orders)}"
    )
    if seen - app_orders:
        problems.append("orders shown to teachers are missing from the database")
    return problems


# --- report --------------------------------------------------------------------------------


def report(levels: list[Level], floor: checkout.Pgbench, workers: int, threads: int) -> None:
    log("")
    for level in levels:
        total = level.total
        error_rate = total.failures / max(total.requests, 1)
        log(
            f"{level.users} simulated users, {level.seconds:.0f} s: {total.per_second:.1f} "
            f"requests/s, {total.requests} requests, error rate {error_rate:.2%}, "
            f"checkouts {level.checkouts_per_second:.1f}/s"
        )
        log(
            f"  {'step':<24}{'requests':>9}{'req/s':>8}{'failed':>8}{'p50 ms':>8}"
            f"{'p95 ms':>8}{'p99 ms':>8}"
        )
        for name in STEPS:
            if step := level.steps.get(name):
                log(
                    f"  {name:<24}{step.requests:>9}{step.per_second:>8.1f}{step.failures:>8}"
                    f"{step.p50:>8.0f}{step.p95:>8.0f}{step.p99:>8.0f}"
                )
        cores = os.cpu_count() or 1
        log(
            f"  CPU: gunicorn + worker {level.server_cpu:.1f} s, PostgreSQL backends "
            f"{level.activity.backend_cpu:.1f} s, locust {level.locust_cpu:.1f} s, of the "
            f"{cores} × {level.seconds:.0f} s the machine has ({level.activity.machine_busy:.0%}"
            " busy, other processes included)"
        )
        per_request = level.server_cpu / max(total.requests, 1) * 1000
        log(
            f"  gunicorn + worker CPU per request {per_request:.1f} ms: at most "
            f"{cores / per_request * 1000:.0f} requests/s on {cores} cores with nothing else"
        )
        for name, message, count in level.failures[:6]:
            log(f"  failure: {name}: {message} ({count}×)")
    log("")
    log(
        f"floor: pgbench, bench/checkout_purchase.sql, {workers * threads} clients "
        f"(gunicorn's {workers} workers × {threads} threads): {floor.tps:.1f} purchases/s, "
        f"latency average {floor.latency_ms:.1f} ms"
    )
    for level in levels:
        ratio = floor.tps / level.checkouts_per_second if level.checkouts_per_second else math.inf
        log(
            f"  {level.users} users: app {level.checkouts_per_second:.1f} checkouts/s "
            f"(each with its search, product, cart and summary pages), pgbench ÷ app "
            f"{ratio:.1f}"
        )


# --- main --------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="50,200,500", help="simulated users, one run each")
    parser.add_argument("--duration", type=int, default=60, help="seconds of each run (60)")
    parser.add_argument("--teachers", type=int, default=20000, help="default 20000")
    parser.add_argument("--schools", type=int, default=200, help="default 200")
    parser.add_argument("--credit", type=int, default=300, help="euros per teacher (300)")
    parser.add_argument("--codes", type=int, default=2000, help="activation codes per product")
    parser.add_argument(
        "--think",
        type=lambda value: [float(part) for part in value.split(",")],
        default=[1.0, 3.0],
        help="a teacher's pause between two pages, min,max seconds (1,3)",
    )
    parser.add_argument("--poll", type=float, default=10.0, help="vendors poll every (10) s")
    parser.add_argument("--web-concurrency", type=int, help="gunicorn workers (its default)")
    parser.add_argument("--ratelimit-storage-uri", help="e.g. redis://127.0.0.1:6379/9")
    parser.add_argument("--floor-seconds", type=int, default=20, help="pgbench's run (20)")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    parser.add_argument("--pgbench", help="path of pgbench (default: on PATH)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    url = make_url(options.database_url).set(drivername="postgresql+psycopg")
    counts = [int(users) for users in options.users.split(",")]
    checkout.find_pgbench(options.pgbench)
    log(
        f"setup ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}): {options.teachers} teachers, "
        f"{checkout.VENDORS * checkout.PRODUCTS_PER_VENDOR} products with "
        f"{options.codes} codes each, {checkout.VENDORS} vendor tokens…"
    )
    started = time.perf_counter()
    offers, data = build(url, options)
    log(f"setup done in {time.perf_counter() - started:.1f} s (not measured)")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as directory:
        work = Path(directory)
        server = start(url, work, options)
        levels: list[Level] = []
        try:
            workers, threads = concurrency(server)
            limits = ", ".join(f"{key}={value}" for key, value in RAISED_LIMITS.items())
            log(
                f"gunicorn at {server.address}: {workers} workers × {threads} threads, "
                f"APP_ENV=production, one jobs worker; rate limits raised for the bench "
                f"(everyone comes from 127.0.0.1): {limits}; rate-limit storage "
                f"{options.ratelimit_storage_uri or 'memory:// (one per process)'}"
            )
            log(
                f"teachers think {options.think[0]:g}–{options.think[1]:g} s between pages; "
                f"{len(data['tokens'])} vendors poll every {options.poll:g} s"
            )
            warm = min(counts[0], 10)
            log(f"warm-up: {warm} users for {WARM_UP_SECONDS} s (not measured)…")
            warm_up = run_locust(server, url, warm, WARM_UP_SECONDS, data, work)
            for users in counts:
                checkout.settle(url)
                log(
                    f"{users} users for {options.duration} s, load average "
                    f"{os.getloadavg()[0]:.2f}…"
                )
                levels.append(run_locust(server, url, users, options.duration, data, work))
        finally:
            server.stop()
        with psycopg.connect(libpq_url(url)) as conn:
            jobs = dict(conn.execute("SELECT status, count(*) FROM job GROUP BY status").fetchall())
        log(f"jobs at the end: {jobs}")

        with checkout.make_app(url).app_context():
            assert checkout.allocate_rule(checkout.TOPUP_CENTS) == options.teachers
            db.engine.dispose()
        layout = checkout.check_layout(url, offers, options.teachers)
        checkout.settle(url)
        floor_options = argparse.Namespace(
            teachers=options.teachers,
            clients=workers * threads,
            seconds=options.floor_seconds,
            pgbench=options.pgbench,
            pgbench_protocol="simple",
            statement_latencies=False,
        )
        floor = checkout.run_pgbench(url, floor_options, layout, offers, options.schools)
        report(levels, floor, workers, threads)
        log("")
        seen = {order for level in [warm_up, *levels] for order in level.orders_seen}
        problems = check(url, server, seen)
    for problem in problems:
        log(f"CHECK FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
