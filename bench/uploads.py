"""Benchmark: what the biggest accepted uploads cost a web process, through the real pages.

    .venv/bin/python bench/uploads.py allocation [--lines N] [--database-url URL]
    .venv/bin/python bench/uploads.py codes [--megabytes M] [--database-url URL]

`allocation`: an academy manager uploads an allocation file of N lines (default 200,000,
the limit of one upload: half of the lines known teachers, half newcomers whose accounts
the allocation creates), then confirms it. Times both requests and, above
ALLOCATION_INLINE_MAX lines, the worker's job that applies it; checks the ledger after
(every teacher credited, `ledger verify` clean).

`codes`: a vendor uploads an activation codes file of M megabytes (default 10, the limit
of a request body). Times the request and checks every code is stored.

Both run the application in this process through Flask's test client (the same code as
behind gunicorn, without the network) on their own PostgreSQL database, dropped and
recreated each run (its name must contain "bench"). Both print the peak resident memory
of the process during the request (Linux's VmHWM, reset just before it through
/proc/self/clear_refs), next to the memory resident before it.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from allocate import build_schema  # noqa: E402
from common import libpq_url, recreate_database  # noqa: E402

from app import create_app  # noqa: E402
from app.budgets import services as budgets  # noqa: E402
from app.budgets.models import Allocation  # noqa: E402
from app.core import dates, jobs  # noqa: E402
from app.extensions import db  # noqa: E402
from app.ledger import services as ledger  # noqa: E402
from app.ledger.models import AccountKind, LedgerAccount  # noqa: E402
from app.licences.models import ActivationCode  # noqa: E402
from catalog.identifiers import make_uai  # noqa: E402
from tests import factories  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/compte_ressources_bench_uploads"
TEACHERS_PER_SCHOOL = 15
AMOUNT_CENTS = 30_000


def log(message: str) -> None:
    print(message, flush=True)


def memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def measured(label: str, request: Callable[[], Any]) -> Any:
    """Run `request`; print its wall-clock time and the process's peak memory during it."""
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = memory_kib("VmRSS")
    started = time.perf_counter()
    response = request()
    elapsed = time.perf_counter() - started
    peak = memory_kib("VmHWM")
    status = f"HTTP {response.status_code}" if hasattr(response, "status_code") else response
    log(
        f"{label}: {status} in {elapsed:.2f} s; resident memory "
        f"{before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB "
        f"(+{(peak - before) / 1024:.0f} MiB)"
    )
    return response


def new_app(url: str) -> Flask:
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url)
    build_schema(app)
    return app


def log_in(app: Flask, email: str) -> Any:
    client = app.test_client()
    response = client.post("/connexion", data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


# --- allocation ------------------------------------------------------------------------------


def load_schools_and_teachers(url: str, lines: int) -> tuple[list[str], list[str]]:
    """Schools of Paris and, for half of the lines, their registered teachers, by COPY.
    Returns each line's email and UAI."""
    schools = max(1, -(-lines // TEACHERS_PER_SCHOOL))
    uais = [make_uai(f"{750_000 + school:07d}") for school in range(1, schools + 1)]
    emails = [f"enseignant.{n:07d}@ac-paris.fr" for n in range(1, lines + 1)]
    school_of = [n % schools for n in range(lines)]
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(make_url(url))) as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY school (id, uai, name, kind, city, academy_code) FROM STDIN"
        ) as copy:
            for number, uai in enumerate(uais, start=1):
                copy.write_row((number, uai, f"Collège n°{number}", "college", "Paris", "01"))
        known = lines // 2
        with cursor.copy(
            'COPY "user" (id, email, name, password_hash, active, created_at) FROM STDIN'
        ) as copy:
            for user in range(1, known + 1):
                copy.write_row((user, emails[user - 1], f"Enseignant {user}", "x", True, now))
        with cursor.copy(
            "COPY role_grant (id, user_id, role, school_id, created_at) FROM STDIN"
        ) as copy:
            for user in range(1, known + 1):
                copy.write_row((user, user, "teacher", school_of[user - 1] + 1, now))
        for table in ("school", "user", "role_grant"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )
        conn.commit()
        conn.autocommit = True
        cursor.execute("ANALYZE")
    return emails, [uais[school] for school in school_of]


def allocation(url: str, lines: int) -> int:
    app = new_app(url)
    year = budgets.school_year_code(dates.today())
    emails, uais = load_schools_and_teachers(url, lines)
    with app.app_context():
        budgets.ensure_school_year(year)
        budgets.fund_academy(None, "01", year, lines * AMOUNT_CENTS, "fund:bench")
        manager = factories.academy_manager("01", email="gestion@ac-paris.fr")
        db.session.commit()
        email = manager.email
    content = "courriel;montant;uai\n" + "".join(
        f"{address};300,00;{uai}\n" for address, uai in zip(emails, uais, strict=True)
    )
    data = content.encode()
    del content
    log(f"{lines} lines ({len(data) / 1024 / 1024:.1f} MiB), half of them new teachers")
    client = log_in(app, email)
    upload = measured(
        "upload (preview)",
        lambda: client.post(
            "/academies/01/repartitions/fichier",
            data={"fichier": (io.BytesIO(data), "repartition.csv")},
            content_type="multipart/form-data",
        ),
    )
    if upload.status_code != 200:
        log(upload.get_data(as_text=True)[-3000:])
        return 1
    with app.app_context():
        allocation_id = db.session.scalar(select(func.max(Allocation.id)))
    confirm = measured(
        "confirm",
        lambda: client.post(f"/academies/01/repartitions/{allocation_id}/confirmer"),
    )
    if confirm.status_code != 302:
        log(confirm.get_data(as_text=True)[-3000:])
        return 1
    if confirm.headers["Location"].endswith(f"/repartitions/{allocation_id}"):
        with app.app_context():  # a large one: applied by a worker, as `flask jobs work`
            measured(
                "apply (worker job)",
                lambda: f"{jobs.work(once=True, kinds=[budgets.APPLY_JOB])} job run",
            )
        page = client.get(confirm.headers["Location"]).get_data(as_text=True)
        log("page: " + ("applied" if "Répartition appliquée" in page else "NOT applied"))
    with app.app_context():
        credited = db.session.scalar(
            select(func.count()).where(
                LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
                LedgerAccount.balance_cents == AMOUNT_CENTS,
            )
        )
        report = ledger.verify()
        pool = budgets.pool_balance("01", year)
    log(
        f"checks: {credited} teachers credited 300 €, pool left {pool} cents, verify ok={report.ok}"
    )
    return 0 if credited == lines and pool == 0 and report.ok else 1


# --- codes -----------------------------------------------------------------------------------


def codes(url: str, megabytes: int) -> int:
    app = new_app(url)
    with app.app_context():
        vendor = factories.VendorFactory()
        member = factories.vendor_member(vendor, email="editeur@example.fr")
        product = factories.product(vendor)
        db.session.commit()
        vendor_id, product_id, email = vendor.id, product.id, member.email
    width = 100  # characters a code: M MB / 101 bytes a line codes
    count = megabytes * 1_000_000 // (width + 1)
    data = "".join(f"{n:0{width}d}\n" for n in range(count)).encode()
    log(f"{count} codes of {width} characters ({len(data) / 1024 / 1024:.1f} MiB)")
    client = log_in(app, email)
    upload = measured(
        "upload",
        lambda: client.post(
            f"/editeur/{vendor_id}/codes",
            data={"offer": f"{product_id}:teacher", "file": (io.BytesIO(data), "codes.csv")},
            content_type="multipart/form-data",
        ),
    )
    with app.app_context():
        stored = db.session.scalar(select(func.count(ActivationCode.id)))
    log(f"checks: {stored} codes stored")
    return 0 if upload.status_code == 302 and stored == count else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["allocation", "codes"])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--megabytes", type=int, default=10)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args(argv)
    recreate_database(make_url(args.database_url))
    if args.what == "allocation":
        return allocation(args.database_url, args.lines)
    return codes(args.database_url, args.megabytes)


if __name__ == "__main__":
    sys.exit(main())
