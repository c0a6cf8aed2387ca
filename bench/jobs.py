"""Benchmark: how fast do worker processes drain the jobs outbox (`app/core/jobs.py`)?

    .venv/bin/python bench/jobs.py [--jobs N] [--workers W] [--batch-size B] [--database-url URL]

1. drops and recreates its own database (`cr_bench_jobs`), builds the schema with the
   project's migrations;
2. before every measure, empties the `job` table and refills it with N `noop` jobs in ONE
   `INSERT … SELECT … generate_series` (the row `enqueue` writes), then VACUUM ANALYZE
   and CHECKPOINT, so that every measure starts from the same table (setup, not measured);
3. the measure: W worker processes (multiprocessing, spawn) each build the app, open their
   connection, wait at a barrier, then call `app.core.jobs.work(kinds=["noop"],
   once=True)` in an app context; wall-clock time from the barrier to the last worker's
   return (its last job done, then one claim that finds nothing), and the CPU time of the
   workers and of their PostgreSQL backends (read in /proc: a server on this machine);
4. the real command: W processes `flask jobs work --once --kinds noop` started together,
   from their start (imports, app, connection) to their exit; the start-up of one such
   process on an empty queue is timed too;
5. two raw SQL drains by W processes through psycopg, no SQLAlchemy: the SAME round
   trips as the app for B no-op jobs (BEGIN, pool pre-ping `;`, the claim of B jobs in
   one UPDATE, COMMIT; BEGIN, `;`, one UPDATE to done of the B jobs, COMMIT), then the
   baseline: one autocommit
   `UPDATE job SET status = 'done' … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)
   RETURNING id` per job;
6. after every drain, checks that every job is `done` exactly once: attempts = 1 and
   finished_at set for all, none queued, running or dead, and the ids the workers report
   are the N ids, each once;
7. the profile: ONE worker in this process over a few thousand jobs: the time per job in
   each round trip and each commit, by step of `work()` (claim_batch, run_batch,
   reclaim), without a
   profiler; then the same under cProfile, the functions that take the most time;
8. prints a report. With --rounds R, the drains of steps 3-5 (and the one-worker
   latencies of step 7) are repeated R times, interleaved, and the fastest of each is
   kept: on a shared machine, the other load only ever slows a run down. Exit status 0
   whatever the timings (a measurement), 1 when a check of step 6 fails.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import wraps
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import libpq_url, recreate_database  # noqa: E402

from app import create_app  # noqa: E402
from app.core import jobs  # noqa: E402
from app.extensions import db  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cr_bench_jobs"
DEFAULT_JOBS = 20_000
DEFAULT_WORKERS = 2
DEFAULT_PROFILE_JOBS = 2_000
DEFAULT_BATCH = 10  # config.py: JOBS_BATCH_SIZE
KIND = "noop"
BARRIER_SECONDS = 120
DRAIN_SECONDS = 1_800

# The baseline of the brief: one statement per job, autocommit.
BASELINE_SQL = (
    "UPDATE job SET status = 'done', attempts = attempts + 1, finished_at = now() "
    "WHERE id = (SELECT id FROM job WHERE status = 'queued' AND run_after <= now() "
    "ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
)
# The app's statements (app/core/jobs.py: claim_batch, then run_batch's one UPDATE to done
# of the jobs whose handlers left nothing to commit), written by hand; `;` is
# SQLAlchemy's pre-ping (pool_pre_ping) on each pool checkout.
PING_SQL = ";"
CLAIM_SQL = (
    "WITH ready AS MATERIALIZED (SELECT job.id AS id FROM job WHERE job.status = 'queued' "
    "AND job.run_after <= %(now)s AND job.kind IN (%(kind)s) ORDER BY job.run_after "
    "LIMIT %(batch)s FOR UPDATE SKIP LOCKED) "
    "UPDATE job SET status = 'running', attempts = job.attempts + 1, "
    "lease_expires_at = %(lease)s, worker = %(worker)s "
    "WHERE job.id IN (SELECT ready.id FROM ready) AND job.status = 'queued' "
    "RETURNING job.id, job.kind, job.payload, job.request_id"
)
DONE_SQL = (
    "UPDATE job SET status = 'done', finished_at = %(now)s, lease_expires_at = NULL, "
    "last_error = NULL WHERE job.id = ANY(%(ids)s) AND job.status = 'running' "
    "AND job.worker = %(worker)s RETURNING job.id"
)
FILL_SQL = (
    "INSERT INTO job (kind, payload, status, attempts, max_attempts, run_after, created_at) "
    "SELECT %(kind)s, json_build_object('n', n), 'queued', 0, %(max_attempts)s, "
    "now() - interval '1 second', now() FROM generate_series(1, %(jobs)s) AS n"
)


# --- helpers -----------------------------------------------------------------------------


def log(message: str = "") -> None:
    print(message, flush=True)


def make_app(url: str, batch: int = DEFAULT_BATCH) -> Flask:
    return create_app("test", SQLALCHEMY_DATABASE_URI=url, JOBS_BATCH_SIZE=batch)


# --- 1-2. the database and its jobs ------------------------------------------------------


def build_schema(app: Flask) -> None:
    with app.app_context():
        flask_migrate.upgrade()


def refill(url: URL, count: int, max_attempts: int) -> float:
    """Empty `job`, then N ready `noop` jobs in one statement; returns its seconds."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE job RESTART IDENTITY")
        started = time.perf_counter()
        conn.execute(FILL_SQL, {"kind": KIND, "max_attempts": max_attempts, "jobs": count})
        elapsed = time.perf_counter() - started
        conn.execute("VACUUM ANALYZE job")
        conn.execute("CHECKPOINT")
    return elapsed


def server_facts(url: URL) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('synchronous_commit', 'fsync', 'shared_buffers', 'wal_sync_method') ORDER BY name"
        ).fetchall()
    shown = ", ".join(f"{name}={value}" for name, value in settings)
    return f"PostgreSQL {version[0] if version else '?'} ({shown})"


# --- 3-5. the drains ---------------------------------------------------------------------


def sql_loop(conn: psycopg.Connection[Any], protocol: str, worker: str, batch: int) -> list[int]:
    """Drain the queue with raw SQL; returns the ids done, in order.

    `baseline`: one autocommit UPDATE … RETURNING per job (the connection must be in
    autocommit). `app`: the app's round trips, two transactions per batch (it must not).
    """
    done: list[int] = []
    if protocol == "baseline":
        while (row := conn.execute(BASELINE_SQL).fetchone()) is not None:
            done.append(row[0])
        return done
    while True:
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=300)
        conn.execute(PING_SQL)
        params = {"lease": lease, "worker": worker, "now": now, "kind": KIND, "batch": batch}
        claimed = conn.execute(CLAIM_SQL, params).fetchall()
        conn.commit()
        if not claimed:
            return done
        ids = sorted(row[0] for row in claimed)
        conn.execute(PING_SQL)
        params = {"now": datetime.now(UTC), "ids": ids, "worker": worker}
        marked = conn.execute(DONE_SQL, params).fetchall()
        conn.commit()
        done.extend(sorted(row[0] for row in marked))


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a PostgreSQL backend of this machine;
    None when there is no such process here (a server on another machine)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if "(postgres)" not in stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Meter:
    """A worker's clocks: wall time from the barrier, its own CPU and its backend's."""

    backend: int
    started: float = 0.0
    cpu: float = 0.0
    server: float | None = None

    def start(self) -> None:
        self.server = backend_cpu(self.backend)
        self.cpu = time.process_time()
        self.started = time.perf_counter()

    def report(self, results: Any, backend: int, ids: list[int], statuses: Counter[str]) -> None:
        """Sends the figures; `backend` is the backend's pid now (None: it changed)."""
        finished = time.perf_counter()
        cpu = time.process_time() - self.cpu
        server = backend_cpu(self.backend) if backend == self.backend else None
        if server is not None and self.server is not None:
            server -= self.server
        else:
            server = None
        results.put(
            {
                "started": self.started,
                "finished": finished,
                "cpu": cpu,
                "server_cpu": server,
                "ids": ids,
                "statuses": dict(statuses),
                "error": None,
            }
        )


def _failed(results: Any, error: BaseException) -> None:
    results.put({"error": f"{type(error).__name__}: {error}"})


def app_worker(url: str, batch: int, barrier: Barrier, results: Any) -> None:
    """A worker process: `jobs.work(kinds=["noop"], once=True)` in an app context."""
    try:
        app = make_app(url, batch)
        backend_pid = text("SELECT pg_backend_pid()")
        with app.app_context():
            # The pool's connection, opened now; one thread: every checkout gets it back.
            meter = Meter(int(db.session.execute(backend_pid).scalar_one()))
            db.session.commit()
            ids: list[int] = []
            statuses: Counter[str] = Counter()

            def on_job(job_id: int, status: jobs.JobStatus) -> None:
                ids.append(job_id)
                statuses[status.value] += 1

            barrier.wait(BARRIER_SECONDS)
            meter.start()
            jobs.work(kinds=[KIND], once=True, on_job=on_job)
            backend = int(db.session.execute(backend_pid).scalar_one())
            meter.report(results, backend, ids, statuses)
            db.session.commit()
    except BaseException as error:
        _failed(results, error)
        raise


def sql_worker(url: str, protocol: str, batch: int, barrier: Barrier, results: Any) -> None:
    """A worker process draining with raw SQL (see `sql_loop`)."""
    try:
        with psycopg.connect(url, autocommit=protocol == "baseline") as conn:
            meter = Meter(conn.info.backend_pid)
            barrier.wait(BARRIER_SECONDS)
            meter.start()
            ids = sql_loop(conn, protocol, jobs.worker_name(), batch)
            meter.report(results, conn.info.backend_pid, ids, Counter({"done": len(ids)}))
    except BaseException as error:
        _failed(results, error)
        raise


@dataclass
class Drain:
    """One drain: its wall-clock seconds, the ids each worker reported done, and the CPU
    seconds of the workers and of their PostgreSQL backends (None: not known)."""

    label: str
    seconds: float
    ids: list[list[int]]
    statuses: Counter[str] = field(default_factory=Counter)
    cpu: float | None = None
    server_cpu: float | None = None
    note: str = ""

    @property
    def jobs(self) -> int:
        return sum(len(ids) for ids in self.ids)


def drain(label: str, workers: int, target: Callable[..., None], *args: Any) -> Drain:
    """Start `workers` processes running target(*args, barrier, results); time them from
    the barrier (all ready) to the last one's end."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*args, barrier, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(BARRIER_SECONDS)
    except Exception:
        barrier.abort()
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
        raise SystemExit(f"{label}: a worker did not start") from None
    started = time.perf_counter()
    reports = [results.get(timeout=DRAIN_SECONDS) for _ in processes]
    for process in processes:
        process.join()
    errors = [report["error"] for report in reports if report["error"]]
    if errors:
        raise SystemExit(f"{label}: a worker failed: {errors}")
    finished = max(report["finished"] for report in reports)
    statuses: Counter[str] = Counter()
    for report in reports:
        statuses.update(report["statuses"])
    servers = [report["server_cpu"] for report in reports]
    return Drain(
        label,
        finished - started,
        [report["ids"] for report in reports],
        statuses,
        cpu=sum(report["cpu"] for report in reports),
        server_cpu=None if None in servers else sum(servers),
    )


CLI_LINE = re.compile(r"^job (\d+): (\w+)$")


def cli_run(url: URL, workers: int, batch: int) -> tuple[float, float, list[str]]:
    """`flask jobs work --once --kinds noop` in `workers` processes started together;
    returns the seconds from their start to the last one's exit, their CPU seconds, and
    their outputs."""
    env = {
        **os.environ,
        "APP_ENV": "test",
        "TEST_DATABASE_URL": url.render_as_string(hide_password=False),
        "FLASK_APP": "app",
        "JOBS_BATCH_SIZE": str(batch),
    }
    command = [sys.executable, "-m", "flask", "jobs", "work", "--once", "--kinds", KIND]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as directory:
        outputs = [Path(directory, f"worker-{n}.out") for n in range(workers)]
        started = time.perf_counter()
        processes = []
        for output in outputs:
            with output.open("w") as stdout:
                processes.append(
                    subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.STDOUT
                    )
                )
        codes = [process.wait(DRAIN_SECONDS) for process in processes]
        elapsed = time.perf_counter() - started
        texts = [output.read_text() for output in outputs]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if any(codes):
        raise SystemExit(f"flask jobs work failed ({codes}):\n" + "\n".join(texts)[-3000:])
    return elapsed, cpu, texts


def cli_drain(url: URL, workers: int, batch: int, startup: tuple[float, float]) -> Drain:
    """The real command; `startup`: the seconds and CPU seconds of one on an empty queue,
    taken out of the CPU figure (not of the wall time)."""
    elapsed, cpu, texts = cli_run(url, workers, batch)
    ids: list[list[int]] = []
    statuses: Counter[str] = Counter()
    for output in texts:
        matches = [CLI_LINE.match(line) for line in output.splitlines()]
        ids.append([int(match[1]) for match in matches if match])
        statuses.update(match[2] for match in matches if match)
    note = (
        f"wall incl. start-up ({startup[0]:.2f} s each, in parallel), "
        f"CPU excl. ({startup[1]:.2f} s each)"
    )
    cpu -= workers * startup[1]
    return Drain("app: flask jobs work --once", elapsed, ids, statuses, cpu=cpu, note=note)


# --- 6. checks ---------------------------------------------------------------------------


def check(url: URL, count: int, result: Drain) -> list[str]:
    """Every job done exactly once; returns the problems found."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT count(*), "
            "count(*) FILTER (WHERE status = 'done' AND attempts = 1 AND finished_at IS NOT NULL),"
            " count(*) FILTER (WHERE status IN ('queued', 'running')), "
            "count(*) FILTER (WHERE status = 'dead'), count(*) FILTER (WHERE attempts <> 1) "
            "FROM job"
        ).fetchone()
    assert row is not None
    total, done_once, pending, dead, not_once = row
    problems = []
    if total != count or done_once != count:
        problems.append(f"{done_once} of {total} jobs done with attempts = 1, expected {count}")
    if pending or dead or not_once:
        problems.append(f"{pending} queued/running, {dead} dead, {not_once} with attempts <> 1")
    reported = [job_id for ids in result.ids for job_id in ids]
    if len(reported) != count or set(reported) != set(range(1, count + 1)):
        problems.append(
            f"workers reported {len(reported)} jobs ({len(set(reported))} distinct), "
            f"expected ids 1..{count} once each"
        )
    if set(result.statuses) != {"done"}:
        problems.append(f"statuses reported: {dict(result.statuses)}")
    return [f"{result.label}: {problem}" for problem in problems]


# --- 7. the profile ----------------------------------------------------------------------


@dataclass
class Split:
    """Time per step of `work()` (claim_batch, run_batch, reclaim) and, inside, per round trip
    (psycopg `Cursor.execute` by statement, `Connection.commit`)."""

    steps: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    step: str = "loop"

    def add(self, key: str, seconds: float) -> None:
        self.steps[key] += seconds
        self.calls[key] += 1


def statement_name(query: Any) -> str:
    sql = str(query).strip()
    if sql == ";":
        return "BEGIN + pre-ping ';'"
    if sql.startswith("WITH ready"):
        return "WITH … UPDATE … RETURNING (claim)"
    if sql.startswith("UPDATE"):
        return "UPDATE (done)" if "'done'" in sql or "status=%(status)s" in sql else "UPDATE"
    if sql.startswith("SELECT job.id, job.kind"):
        return "SELECT job (session.get)" if "FOR UPDATE" not in sql else "SELECT (reclaim)"
    return sql.split()[0]


@contextmanager
def split_timing(split: Split) -> Iterator[None]:
    """Wrap jobs.claim_batch/run_batch/reclaim_expired and psycopg's execute and commit,
    for a while."""
    patched: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        patched.append((owner, name, original))
        setattr(owner, name, make(original))

    def step(name: str) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            @wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                outer, split.step = split.step, name
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    split.add(f"{name}()", time.perf_counter() - started)
                    split.step = outer

            return timed

        return make

    def execute(original: Any) -> Any:
        def timed(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, query, *args, **kwargs)
            finally:
                key = f"{split.step}()  {statement_name(query)}"
                split.add(key, time.perf_counter() - started)

        return timed

    def commit(original: Any) -> Any:
        def timed(self: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self)
            finally:
                split.add(f"{split.step}()  COMMIT", time.perf_counter() - started)

        return timed

    patch(jobs, "claim_batch", step("claim_batch"))
    patch(jobs, "run_batch", step("run_batch"))
    patch(jobs, "reclaim_expired", step("reclaim_expired"))
    patch(psycopg.Cursor, "execute", execute)
    patch(psycopg.Connection, "commit", commit)
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def one_app_worker(app: Flask) -> tuple[float, int]:
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        started = time.perf_counter()
        count = jobs.work(kinds=[KIND], once=True)
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed, count


def one_sql_worker(url: URL, protocol: str, batch: int) -> tuple[float, int]:
    with psycopg.connect(libpq_url(url), autocommit=protocol == "baseline") as conn:
        started = time.perf_counter()
        ids = sql_loop(conn, protocol, jobs.worker_name(), batch)
        return time.perf_counter() - started, len(ids)


def short_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    parts = Path(filename).parts
    for marker in ("site-packages", "main"):
        if marker in parts:
            parts = parts[parts.index(marker) + 1 :]
            break
    return f"{'/'.join(parts)}:{line} {name}"


CUMULATIVE = (  # (file ends with, function): where the Python time of one job goes
    ("app/core/jobs.py", "claim_batch"),
    ("app/core/jobs.py", "run_batch"),
    ("app/core/jobs.py", "_run"),
    ("app/core/jobs.py", "reclaim_expired"),
    ("orm/scoping.py", "commit"),
    ("orm/session.py", "get"),
    ("orm/session.py", "flush"),
    ("orm/session.py", "execute"),
    ("engine/base.py", "execute"),
    ("sql/elements.py", "_compile_w_cache"),
    ("sql/selectable.py", "with_for_update"),
    ("pool/base.py", "_checkout"),
    ("engine/default.py", "do_ping"),
    ("psycopg/cursor.py", "execute"),
    ("psycopg/connection.py", "commit"),
)


def profile(
    app: Flask, url: URL, count: int, max_attempts: int, rounds: int, top: int, batch: int
) -> None:
    """One worker in this process: per-job latency of the baseline, of the app's round
    trips in raw SQL and of the app; the app's time by step and round trip; cProfile."""
    log(f"\nprofile: ONE worker, in this process, {count} jobs each time")
    ladder: dict[str, tuple[float, int]] = {}
    runs: list[tuple[str, Callable[[], tuple[float, int]]]] = [
        ("baseline (1 statement)", lambda: one_sql_worker(url, "baseline", batch)),
        ("app's SQL, raw", lambda: one_sql_worker(url, "app", batch)),
        ("app, jobs.work()", lambda: one_app_worker(app)),
    ]
    for _round in range(rounds):
        for label, run_one in runs:
            refill(url, count, max_attempts)
            seconds, done = run_one()
            if label not in ladder or seconds < ladder[label][0]:
                ladder[label] = (seconds, done)
    for label, (seconds, done) in ladder.items():
        log(
            f"  {label:<24} {seconds:6.2f} s  {done / seconds:7.0f} jobs/s  "
            f"{seconds / done * 1e6:7.0f} µs/job"
        )

    refill(url, count, max_attempts)
    split = Split()
    with split_timing(split):
        seconds, done = one_app_worker(app)
    log(
        f"\n  app, time per job by step of work() and round trip (timed, no profiler: "
        f"{done / seconds:.0f} jobs/s):"
    )
    log("  step / what                           µs/job  calls/job")
    for step in ("claim_batch", "run_batch", "reclaim_expired"):
        total = split.steps[f"{step}()"]
        log(
            f"  {step + '()':<36} {total / done * 1e6:8.0f}  {split.calls[f'{step}()'] / done:6.2f}"
        )
        inner = sorted(k for k in split.steps if k.startswith(f"{step}()  "))
        for key in inner:
            log(
                f"    {key.split('  ', 1)[1]:<34} {split.steps[key] / done * 1e6:8.0f}  "
                f"{split.calls[key] / done:6.2f}"
            )
        python = total - sum(split.steps[key] for key in inner)
        log(f"    {'Python (SQLAlchemy, ORM, Flask)':<34} {python / done * 1e6:8.0f}")
    steps = sum(
        split.steps[f"{step}()"] for step in ("claim_batch", "run_batch", "reclaim_expired")
    )
    log(f"  {'rest of the loop of work()':<36} {(seconds - steps) / done * 1e6:8.0f}")
    log(f"  {'total':<36} {seconds / done * 1e6:8.0f}")

    refill(url, count, max_attempts)
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, done = one_app_worker(app)
    profiler.disable()
    stats: dict[tuple[str, int, str], Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    log(f"\n  cProfile ({done / seconds:.0f} jobs/s under the profiler), cumulative µs/job:")
    for suffix, name in CUMULATIVE:
        for key, (_cc, calls, _tt, cumulative, _callers) in stats.items():
            if key[0].endswith(suffix) and key[2] == name:
                log(f"    {cumulative / done * 1e6:7.0f}  {calls / done:6.2f}×  {short_name(key)}")
    log(f"  the {top} functions with the most own time (µs/job own, cumulative, calls/job):")
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for key, (_cc, calls, own, cumulative, _callers) in ranked:
        log(
            f"    {own / done * 1e6:7.0f}  {cumulative / done * 1e6:7.0f}  "
            f"{calls / done:6.2f}×  {short_name(key)}"
        )


# --- main --------------------------------------------------------------------------------


def cpu_ms(seconds: float | None, count: int) -> str:
    return "–" if seconds is None else f"{seconds / count * 1000:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="default 20000")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="default 2")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat every drain, interleaved, and keep the fastest of each (default 1)",
    )
    parser.add_argument(
        "--profile-jobs",
        type=int,
        default=DEFAULT_PROFILE_JOBS,
        help="jobs of the one-worker profile (default 2000; 0: no profile)",
    )
    parser.add_argument("--top", type=int, default=15, help="functions listed by the profile")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help=f"the app's JOBS_BATCH_SIZE, jobs per claim of raw SQL (default {DEFAULT_BATCH})",
    )
    parser.add_argument("--no-cli", action="store_true", help="skip `flask jobs work` (step 4)")
    options = parser.parse_args(argv)
    url = make_url(options.database_url).set(drivername="postgresql+psycopg")
    count: int = options.jobs
    workers: int = options.workers
    batch: int = options.batch_size
    app_url = url.render_as_string(hide_password=False)
    raw_url = libpq_url(url)

    recreate_database(url)
    app = make_app(app_url, batch)
    build_schema(app)
    max_attempts = int(app.config["JOBS_MAX_ATTEMPTS"])
    log(f"{server_facts(url)}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")

    startup = (0.0, 0.0)
    if not options.no_cli:
        with psycopg.connect(raw_url, autocommit=True) as conn:
            conn.execute("TRUNCATE job RESTART IDENTITY")
        startup = cli_run(url, 1, batch)[:2]

    variants: list[tuple[str, Callable[[], Drain]]] = [
        (
            "app",
            lambda: drain("app: jobs.work(once=True)", workers, app_worker, app_url, batch),
        ),
        ("cli", lambda: cli_drain(url, workers, batch, startup)),
        (
            "raw",
            lambda: drain(
                "raw SQL, the app's round trips", workers, sql_worker, raw_url, "app", batch
            ),
        ),
        (
            "baseline",
            lambda: drain(
                "baseline: 1 UPDATE, autocommit", workers, sql_worker, raw_url, "baseline", batch
            ),
        ),
    ]
    if options.no_cli:
        variants = [variant for variant in variants if variant[0] != "cli"]
    best: dict[str, Drain] = {}
    problems: list[str] = []
    log(
        f"draining {count} noop jobs with {workers} worker processes, batches of {batch}, "
        f"{options.rounds} round(s):"
    )
    for _round in range(options.rounds):
        for name, run_drain in variants:
            fill = refill(url, count, max_attempts)
            result = run_drain()
            problems.extend(check(url, count, result))
            if name not in best or result.seconds < best[name].seconds:
                best[name] = result
            log(
                f"  {result.label:<32} {result.seconds:7.2f} s  {count / result.seconds:6.0f} "
                f"jobs/s  (queue refilled in {fill:.2f} s by one INSERT … SELECT, not measured; "
                f"load average {os.getloadavg()[0]:.2f})"
            )

    app_drain, baseline = best["app"], best["baseline"]
    kept = "the fastest of each" if options.rounds > 1 else "one run each"
    log("")
    log(f"jobs {count}, worker processes {workers}, {kept}")
    log(
        f"{'':32} {'seconds':>8} {'jobs/s':>7} {'wall ms/job':>12} "
        f"{'CPU ms/job':>11} {'PG CPU ms/job':>14}"
    )
    log(f"{'':32} {'':>8} {'':>7} {'per worker':>12} {'workers':>11} {'backends':>14}")
    for name, _ in variants:
        result = best[name]
        log(
            f"{result.label:<32} {result.seconds:8.2f} {count / result.seconds:7.0f} "
            f"{result.seconds / count * workers * 1000:12.3f} {cpu_ms(result.cpu, count):>11} "
            f"{cpu_ms(result.server_cpu, count):>14}  {result.note}"
        )
        log(f"{'':34}jobs per worker: {' + '.join(str(len(ids)) for ids in result.ids)}")
    ratio = app_drain.seconds / baseline.seconds
    overhead = (app_drain.seconds - baseline.seconds) / count
    log(f"ratio baseline / app (jobs/s)    {ratio:8.2f}")
    if "cli" in best:
        log(f"ratio baseline / flask jobs work {best['cli'].seconds / baseline.seconds:8.2f}")
    log(
        f"per-job overhead of the app      {overhead * workers * 1000:8.3f} ms of each worker's "
        f"time per job ({overhead * 1000:.3f} ms of wall time per job with {workers} workers)"
    )

    if options.profile_jobs > 0:
        profile(app, url, options.profile_jobs, max_attempts, options.rounds, options.top, batch)

    log("")
    if problems:
        for problem in problems:
            log(f"CHECK FAILED: {problem}")
        return 1
    log(
        f"checks: after each of the {options.rounds * len(variants)} drains, {count} jobs done, "
        "each exactly once (attempts = 1, ids reported once), none queued, running or dead"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
