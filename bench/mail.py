"""Benchmark: how many messages per second does one worker send to a local SMTP server?

    .venv/bin/python bench/mail.py [--messages N] [--database-url URL]

1. drops and recreates its own database (`cr_bench_mail`), builds the schema with the
   project's migrations, creates N users without a password (COPY, setup);
2. starts an SMTP server on 127.0.0.1 (aiosmtpd, in this process, accepting everything)
   and points `MAIL_URL` at it;
3. queues N activation mails with `mail.send_many` (one INSERT … SELECT; timed);
4. the measure: ONE worker, `jobs.work(kinds=["mail"], once=True)`, drains them: each job
   is claimed, its letter built (the user read, a signed link made), rendered (subject,
   plain text and HTML from the template) and sent over the one SMTP connection the
   worker keeps open; wall-clock time to the last commit, and the SMTP sessions opened;
5. the baseline, measured in the same run: the same N messages, already rendered, sent
   by bare `smtplib` over one connection (what the SMTP exchange alone costs);
6. prints messages/s of both and their ratio. Exit status 1 when a message is missing.
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import libpq_url, recreate_database  # noqa: E402

from app import create_app, mail  # noqa: E402
from app.accounts.models import User  # noqa: E402
from app.core import jobs  # noqa: E402
from app.core.jobs import Job, JobStatus  # noqa: E402
from app.extensions import db  # noqa: E402
from app.mail.messages import render  # noqa: E402
from tests.smtp import SmtpServer  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cr_bench_mail"


def log(message: str) -> None:
    print(message, flush=True)


def load_users(url: str, count: int) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy('COPY "user" (id, email, name, active, created_at) FROM STDIN') as copy:
            for n in range(1, count + 1):
                copy.write_row((n, f"enseignant{n}@ac-creteil.fr", f"Enseignant {n}", True, now))
        cursor.execute("SELECT setval('user_id_seq', %s)", (count,))
        conn.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000, help="default 5000")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    options = parser.parse_args(argv)
    url = make_url(options.database_url).set(drivername="postgresql+psycopg")
    count: int = options.messages

    recreate_database(url)
    server = SmtpServer()
    server.start()
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False),
        MAIL_URL=server.url,
    )
    with app.app_context():
        flask_migrate.upgrade()
    load_users(libpq_url(url), count)
    log(f"setup: {count} users without a password, SMTP server at {server.url}")

    with app.app_context():
        started = time.perf_counter()
        waiting = select(User.id.label("user"), User.email.label("to"))
        queued = mail.send_many("account_activation", waiting, key="user")
        db.session.commit()
        queue_seconds = time.perf_counter() - started

        started = time.perf_counter()
        sent = jobs.work(kinds=["mail"], once=True)
        worker_seconds = time.perf_counter() - started
        done = db.session.scalar(
            select(func.count(Job.id)).where(Job.kind == "mail", Job.status == JobStatus.DONE)
        )
        sessions = server.inbox.sessions
        received = len(server.inbox.messages)

        # The baseline: the same messages, rendered beforehand, over one bare connection.
        from app.accounts.mails import account_activation

        users = db.session.scalars(select(User.id).order_by(User.id))
        letters = []
        for user_id in users:
            letter = account_activation({"user": user_id})
            assert letter is not None
            letters.append(render("account_activation", letter))
        db.session.rollback()
    server.inbox.clear()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", server.controller.port) as smtp:
        for message in letters:
            smtp.send_message(message)
    baseline_seconds = time.perf_counter() - started
    baseline_received = len(server.inbox.messages)
    server.stop()

    log("")
    log(f"messages                       {count}")
    log(f"queued by send_many            {queue_seconds:8.2f} s   ({queued} jobs, one statement)")
    log(
        f"one worker (build, render, send) {worker_seconds:6.2f} s   "
        f"{count / worker_seconds:8.0f} messages/s   ({sessions} SMTP session(s))"
    )
    log(
        f"baseline: bare smtplib        {baseline_seconds:8.2f} s   "
        f"{count / baseline_seconds:8.0f} messages/s   (pre-rendered, one connection)"
    )
    log(f"ratio worker / baseline        {worker_seconds / baseline_seconds:8.2f}")
    problems = []
    if not (queued == sent == done == received == baseline_received == count):
        problems.append(
            f"queued {queued}, run {sent}, done {done}, received {received} and "
            f"{baseline_received} (baseline), expected {count} each"
        )
    log("checks: " + ("; ".join(problems) if problems else "every message sent once, ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
