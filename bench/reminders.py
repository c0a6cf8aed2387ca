"""Benchmark: the credit-expiry reminder to every teacher of France, queued and sent.

    .venv/bin/python bench/reminders.py [--teachers N] [--workers W] [--database-url URL]
                                        [--queue-only]

1. drops and recreates its own database (`cr_bench_reminders`), builds the schema with the
   project's migrations, loads N teachers by COPY and credits each of them 300 € through
   the real allocation (`flask budgets allocate --all-teachers`, as bench/allocate.py);
   the activation mails that queued are dropped (setup, not measured);
2. starts an SMTP server on 127.0.0.1 (aiosmtpd, in this process, accepting everything);
3. the time to queue: ONE run of the reminder task for 1 August of the ending school
   year (`budgets.remind_expiring_credit`, the function of the daily task
   `budgets.credit-reminder`): N notification rows and N mail jobs, set-based, to commit;
4. the measure: W worker processes (default 2) started together, each
   `jobs.work(kinds=["mail"], once=True)` in an app context whose MAIL_URL is the SMTP
   server: each job is claimed, its letter built (the person, their choice of reminders,
   the credit left), rendered in French and sent; wall-clock time from the barrier to the
   last worker's return, messages/s;
5. the baseline, measured in the same run: bench/jobs.py's raw SKIP LOCKED drain (one
   autocommit `UPDATE … FOR UPDATE SKIP LOCKED … RETURNING` per job) of N `noop` jobs by
   W processes;
6. prints the figures and checks that every teacher got exactly one message and every
   mail job is done. Exit status 1 when a check fails, 0 otherwise (a measurement).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import allocate as allocate_bench  # noqa: E402
import jobs as jobs_bench  # noqa: E402
from common import libpq_url, recreate_database  # noqa: E402

from app import create_app  # noqa: E402
from app.budgets import services as budgets  # noqa: E402
from app.core import jobs  # noqa: E402
from app.core.jobs import Job, JobStatus  # noqa: E402
from app.extensions import db  # noqa: E402
from app.notifications.models import Notification  # noqa: E402
from tests.smtp import SmtpServer  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cr_bench_reminders"
ACADEMY = "24"
SCHOOL_YEAR = allocate_bench.SCHOOL_YEAR
REMINDER_DAY = date(int(SCHOOL_YEAR[-4:]), 8, 1)  # 30 days before 31 August


def log(message: str = "") -> None:
    print(message, flush=True)


def mail_worker(url: str, mail_url: str, barrier: Any, results: Any) -> None:
    """A worker process: `jobs.work(kinds=["mail"], once=True)`, mail to the bench's server."""
    try:
        app = create_app("test", SQLALCHEMY_DATABASE_URI=url, MAIL_URL=mail_url)
        backend_pid = text("SELECT pg_backend_pid()")
        with app.app_context():
            meter = jobs_bench.Meter(int(db.session.execute(backend_pid).scalar_one()))
            db.session.commit()
            ids: list[int] = []
            statuses: Counter[str] = Counter()

            def on_job(job_id: int, status: jobs.JobStatus) -> None:
                ids.append(job_id)
                statuses[status.value] += 1

            barrier.wait(jobs_bench.BARRIER_SECONDS)
            meter.start()
            jobs.work(kinds=["mail"], once=True, on_job=on_job)
            backend = int(db.session.execute(backend_pid).scalar_one())
            meter.report(results, backend, ids, statuses)
            db.session.commit()
    except BaseException as error:
        jobs_bench._failed(results, error)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=allocate_bench.FRANCE_TEACHERS)
    parser.add_argument("--workers", type=int, default=2, help="default 2")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    parser.add_argument(
        "--queue-only",
        action="store_true",
        help="measure the queuing alone (the national run: sending 870,000 takes hours)",
    )
    options = parser.parse_args(argv)
    url = make_url(options.database_url).set(drivername="postgresql+psycopg")
    sa_url = url.render_as_string(hide_password=False)
    count: int = options.teachers
    workers: int = options.workers

    # 1. the database, N teachers with 300 € each (setup)
    started = time.perf_counter()
    recreate_database(url)
    server = SmtpServer()
    server.start()
    app = create_app("test", SQLALCHEMY_DATABASE_URI=sa_url, MAIL_URL=server.url)
    allocate_bench.build_schema(app)
    allocate_bench.load_teachers(url, ACADEMY, count)
    allocate_bench.fund(app, ACADEMY, count)
    allocate_bench.allocate(app, ACADEMY)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE job RESTART IDENTITY")  # the activation mails
        conn.execute("VACUUM ANALYZE")
    log(
        f"setup: {count} teachers of academy {ACADEMY} with 300 € each, by COPY and the real "
        f"allocation, in {time.perf_counter() - started:.1f} s (not measured); "
        f"SMTP server at {server.url}"
    )
    log(jobs_bench.server_facts(url))

    # 3. the time to queue: one run of the task's function
    with app.app_context():
        started = time.perf_counter()
        queued = budgets.remind_expiring_credit(REMINDER_DAY)
        db.session.commit()
        queue_seconds = time.perf_counter() - started
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE job")
        conn.execute("CHECKPOINT")
    if options.queue_only:
        server.stop()
        return _queued_only(app, count, queued, queue_seconds)

    # 4. the measure: W workers send them
    server.inbox.clear()
    sent = jobs_bench.drain("mail", workers, mail_worker, sa_url, server.url)
    received = len(server.inbox.messages)
    recipients = {str(message["To"]) for message in server.inbox.messages}
    sessions = server.inbox.sessions
    with app.app_context():
        done = db.session.scalar(
            select(func.count(Job.id)).where(Job.kind == "mail", Job.status == JobStatus.DONE)
        )
        lines = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.event == "credit_expiring")
        )
        again = budgets.remind_expiring_credit(REMINDER_DAY)  # the task run twice
        db.session.rollback()
    server.stop()

    # 5. the baseline: the raw SKIP LOCKED drain of N noop jobs
    jobs_bench.refill(url, count, 3)
    baseline = jobs_bench.drain(
        "baseline", workers, jobs_bench.sql_worker, libpq_url(url), "baseline"
    )

    log("")
    log(f"teachers                        {count}")
    log(
        f"queue the reminder (one run)    {queue_seconds:8.2f} s   "
        f"({queued} notifications and mail jobs, set-based, to commit)"
    )
    log(
        f"{workers} workers send them          {sent.seconds:8.2f} s   "
        f"{count / sent.seconds:8.0f} messages/s   ({sessions} SMTP sessions)"
    )
    log(
        f"baseline: raw SKIP LOCKED drain {baseline.seconds:8.2f} s   "
        f"{count / baseline.seconds:8.0f} jobs/s       (bench/jobs.py, {workers} processes)"
    )
    log(f"ratio send / baseline           {sent.seconds / baseline.seconds:8.1f}")
    log(
        f"CPU per message: workers {jobs_bench.cpu_ms(sent.cpu, count)}, "
        f"PostgreSQL {jobs_bench.cpu_ms(sent.server_cpu, count)}"
    )
    problems = []
    if not (queued == sent.jobs == done == received == lines == count):
        problems.append(
            f"queued {queued}, run {sent.jobs}, done {done}, received {received}, "
            f"in the lists {lines}, expected {count} each"
        )
    if len(recipients) != count:
        problems.append(f"{len(recipients)} distinct recipients, expected {count}")
    if again != 0:
        problems.append(f"the task run again queued {again}")
    if baseline.jobs != count:
        problems.append(f"the baseline drained {baseline.jobs} jobs, expected {count}")
    log("checks: " + ("; ".join(problems) if problems else "each teacher told once, ok"))
    return 1 if problems else 0


def _queued_only(app: Any, count: int, queued: int, seconds: float) -> int:
    """--queue-only: the figures of the queuing, and the task run again queues nothing."""
    with app.app_context():
        lines = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.event == "credit_expiring")
        )
        again = budgets.remind_expiring_credit(REMINDER_DAY)
        db.session.rollback()
    log("")
    log(f"teachers                        {count}")
    log(
        f"queue the reminder (one run)    {seconds:8.2f} s   "
        f"({queued} notifications and mail jobs, set-based, to commit)"
    )
    ok = queued == lines == count and again == 0
    log("checks: " + ("each teacher queued once, ok" if ok else f"queued {queued}, again {again}"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
