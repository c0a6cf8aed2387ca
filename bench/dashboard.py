"""Benchmark: the dashboards of a school year at national scale, and what they would cost
without the spending summary.

    .venv/bin/python bench/dashboard.py [--teachers 870000] [--purchases 2000000]

1. drops and recreates its own database (`cr_bench_dashboard`), builds the schema with
   the project's migrations, syncs the 30 academies, creates the year 2026-2027;
2. generates a year of a national marketplace, set-based in SQL (INSERT … SELECT over
   generate_series, deterministic hashes for the random choices): schools, teachers
   (users, teacher grants, teacher credit accounts), one FUND and one ALLOCATE entry per
   academy, vendors, products with their versions, plans, disciplines and levels, then
   the purchases: orders, order lines, one PURCHASE entry per order, a few % cancelled
   with one REFUND entry each; then the guarded balances from the postings, VACUUM
   ANALYZE and `ledger verify` (setup, printed, not measured);
3. times `reporting.services.refresh(year)` (the rebuild of `spending_summary`) once;
4. times the dashboards' data functions through the app (`dashboard` for a few
   academies and the nation, `academies_side_by_side`, `catalogue_figures`) and the
   full pages through Flask's test client, logged in as an academy manager and an admin;
5. times the baselines, one scan of the big tables (`SELECT sum(amount_cents) FROM
   posting`, `SELECT sum(price_cents) FROM order_line`), and the figures of one
   dashboard computed live by GROUP BY over the orders and the ledger, without the
   summary (one academy, then the nation);
6. prints the report and the plans (EXPLAIN ANALYZE) of the slowest statements. Exit
   status 0 whatever the timings (a measurement), 1 when a check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import re
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import flask_migrate
import psycopg
from flask import Flask, before_render_template, template_rendered
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import libpq_url, recreate_database  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts import services as accounts  # noqa: E402
from app.accounts.models import Role  # noqa: E402
from app.budgets import services as budgets  # noqa: E402
from app.extensions import db  # noqa: E402
from app.ledger import services as ledger  # noqa: E402
from app.reporting import services as reporting  # noqa: E402
from app.reporting.models import NATIONAL, SpendingSummary  # noqa: E402
from catalog import conduct, vocabularies  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cr_bench_dashboard"
SCHOOL_YEAR = "2026-2027"
PARIS = ZoneInfo("Europe/Paris")
# Purchases are spread evenly over the teaching weeks of the year.
FIRST_PURCHASE = datetime(2026, 9, 1, 8, 0, tzinfo=PARIS)
LAST_PURCHASE = datetime(2027, 7, 3, 20, 0, tzinfo=PARIS)
FUNDED_AT = datetime(2026, 8, 25, 10, 0, tzinfo=PARIS)
ALLOCATED_AT = datetime(2026, 8, 31, 10, 0, tzinfo=PARIS)

TEACHERS_PER_SCHOOL = 14.5  # 870,000 teachers in 60,000 schools
VENDORS = 200
PRODUCTS = 5000
BUYERS_SHARE = 0.65  # teachers who buy at least once
CANCELLED_SHARE = 0.03  # order lines cancelled (refunded)
MAX_LINE_CENTS = 5000  # purchases are teacher plans of 4,90 € to 50 €
CREDIT_CENTS = 30_000  # 300 € per teacher, raised when the purchases need more
POSTING_CHUNK = 250_000  # orders per INSERT of purchase postings (progress)
AIM_MS = 500.0
WARM_UP = 2

# Rough relative sizes of the academies (thousands of teachers), so that Versailles and
# Créteil are big and Mayotte or Corse small, as in France.
ACADEMY_WEIGHTS = {
    "01": 30, "02": 40, "03": 15, "04": 40, "06": 16, "07": 20, "08": 42, "09": 55,
    "10": 30, "11": 35, "12": 27, "13": 20, "14": 37, "15": 21, "16": 40, "17": 42,
    "18": 30, "19": 16, "20": 23, "22": 8, "23": 12, "24": 65, "25": 85, "27": 4,
    "28": 18, "31": 5, "32": 6, "33": 6, "43": 7, "70": 38,
}  # fmt: skip
MEASURED_ACADEMIES = ("25", "10", "43")  # the biggest, a middle one, a small one

VENDOR_PREFIXES = ("Éditions", "Atelier", "Studio", "Maison", "Groupe")
VENDOR_NAMES = (
    "Lumière", "Horizon", "Boussole", "Carré", "Cerf-volant", "Sésame", "Plume", "Galaxie",
    "Hirondelle", "Archipel", "Mosaïque", "Tournesol", "Colibri", "Éveil", "Savoir", "Atlas",
    "Pixel", "Récré", "Tangram", "Odyssée", "Alizé", "Boréal", "Calliope", "Dédale", "Escale",
    "Figuier", "Girafe", "Hélice", "Iris", "Jonquille", "Kaléidoscope", "Lanterne", "Méridien",
    "Nautile", "Origami", "Pégase", "Quartz", "Rosace", "Sextant", "Topaze",
)  # fmt: skip
TOPICS = (
    "fiches d'exercices", "exercices interactifs", "vidéos", "quiz", "cahier numérique",
    "parcours guidé", "jeux", "ateliers", "séquences clés en main", "évaluations",
    "cartes mentales", "podcasts", "manuel", "banque d'images", "simulations",
)  # fmt: skip
PERSONS = (
    "Jean Moulin", "Victor Hugo", "Jules Ferry", "Marie Curie", "Jean Jaurès",
    "Louise Michel", "Jacques Prévert", "Paul Éluard", "Simone Veil", "Pierre et Marie Curie",
)  # fmt: skip
# School kinds, by twentieths of the schools (most are primary schools).
SCHOOL_KINDS = (
    ["ecole_elementaire"] * 8
    + ["ecole_maternelle"] * 4
    + ["ecole_primaire"] * 2
    + ["college"] * 3
    + ["lycee_general_technologique", "lycee_professionnel", "lycee_polyvalent"]
)


# --- helpers -----------------------------------------------------------------------------


def log(message: str = "") -> None:
    print(message, flush=True)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 for p95) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def ms(seconds: float) -> float:
    return seconds * 1000


def uniform(expression: str, seed: int) -> str:
    """SQL for a deterministic uniform number in [0, 1) drawn from an integer expression
    (a hash: the same data on every run, and safe in parallel plans)."""
    return (
        f"((hashint8extended(({expression})::bigint, {seed}) & 9007199254740991)::float8"
        " / 9007199254740992.0)"
    )


def sql_text_array(values: Sequence[str]) -> str:
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"ARRAY[{quoted}]::text[]"


def one_line(statement: str, width: int = 150) -> str:
    text = re.sub(r"\s+", " ", statement).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(statement: str, params: Any, width: int = 150) -> str:
    """A statement in one line that tells it from its siblings: its start, its GROUP BY,
    and the text values of its parameters (a dimension, an academy…)."""
    text = re.sub(r"\s+", " ", statement).strip()
    values = (
        [v for v in params.values() if isinstance(v, str) and v != SCHOOL_YEAR]
        if isinstance(params, dict)
        else []
    )
    shown = ", ".join(repr(v) for v in values)
    group = re.search(r"GROUP BY (.*?)(?: ORDER BY| LIMIT|$)", text)
    if group:
        text = f"{text[:60]}… GROUP BY {group.group(1)}"
    text = one_line(text, width - len(shown) - 3)
    return f"{text} [{shown}]" if shown else text


# --- 1. the database ---------------------------------------------------------------------


def build_schema(app: Flask) -> None:
    with app.app_context():
        flask_migrate.upgrade()
        budgets.sync_academies()
        budgets.ensure_school_year(SCHOOL_YEAR)
        db.session.commit()


# --- 2. the synthetic year ---------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Sizes and id blocks of the generated data (ids are given, not drawn from sequences,
    so that every table can be filled by one INSERT … SELECT)."""

    teachers: int
    purchases: int  # order lines
    schools: int
    buyers: int
    orders: int
    stride: int  # order o belongs to buyer ((o - 1) * stride) mod buyers + 1
    credit_cents: int  # allocated to each teacher
    vendors: int = VENDORS
    products: int = PRODUCTS
    vendor_account_base: int = 100  # vendor payable account id = base + vendor id
    teacher_account_base: int = 1000  # teacher credit account id = base + user id
    purchase_entry_base: int = 1000  # purchase entry id = base + order id

    @property
    def refund_entry_base(self) -> int:  # refund entry id = base + order line id
        return self.purchase_entry_base + self.orders

    @classmethod
    def of(cls, teachers: int, purchases: int) -> Layout:
        schools = max(len(ACADEMY_WEIGHTS), round(teachers / TEACHERS_PER_SCHOOL))
        buyers = max(1, round(teachers * BUYERS_SHARE))
        # Lines 6g+1 … 6g+6 are the lines of orders 5g+1 (two lines) … 5g+5.
        orders = 5 * ((purchases - 1) // 6) + max((purchases - 1) % 6, 1)
        stride = next(k for k in itertools.count(7919) if math.gcd(k, buyers) == 1)
        # A buyer has at most ceil(orders / buyers) orders of at most two lines each:
        # the credit covers them, no balance goes below zero.
        most = -(-orders // buyers) * 2 * MAX_LINE_CENTS
        credit = max(CREDIT_CENTS, most)
        vendor_base = 100
        teacher_base = ((vendor_base + VENDORS) // 1000 + 1) * 1000
        return cls(
            teachers,
            purchases,
            schools,
            buyers,
            orders,
            stride,
            credit,
            teacher_account_base=teacher_base,
        )


@dataclass
class Generated:
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def academy_schools(schools: int) -> list[tuple[int, str, str, str, int, int]]:
    """(index, code, name, e-mail domain, schools, first school id) of each academy: the
    schools shared by weight (largest remainders), at least one each."""
    academies = vocabularies.academies()
    total = sum(ACADEMY_WEIGHTS.get(a.code, 10) for a in academies)
    exact = [schools * ACADEMY_WEIGHTS.get(a.code, 10) / total for a in academies]
    counts = [max(1, int(share)) for share in exact]
    order = sorted(range(len(academies)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    for i in itertools.islice(itertools.cycle(order), max(0, schools - sum(counts))):
        counts[i] += 1
    rows, first = [], 1
    for index, (academy, count) in enumerate(zip(academies, counts, strict=True), start=1):
        rows.append((index, academy.code, academy.name, academy.email_domain, count, first))
        first += count
    return rows


class Generator:
    """Fills the database in order, one committed statement per step, with progress."""

    def __init__(self, conn: psycopg.Connection[Any], layout: Layout) -> None:
        self.conn = conn
        self.layout = layout
        self.result = Generated()
        self.today = datetime.now(PARIS).date()

    def step(self, label: str, sql: str, params: dict[str, Any] | None = None) -> int:
        started = time.perf_counter()
        cursor = self.conn.execute(sql, params)
        rows = max(cursor.rowcount, 0)
        self.conn.commit()
        log(f"  {label:<58} {rows:>10,} rows {time.perf_counter() - started:7.1f} s")
        return rows

    def run(self) -> Generated:
        started = time.perf_counter()
        self.reference_tables()
        self.schools_and_teachers()
        self.catalogue()
        self.ledger_accounts()
        self.funding_and_allocations()
        self.purchases()
        self.balances_and_sequences()
        self.result.seconds = time.perf_counter() - started
        return self.result

    # -- the academies and the vocabularies, as small temporary tables -----------------

    def reference_tables(self) -> None:
        lay = self.layout
        self.conn.execute(
            "CREATE TEMP TABLE bench_academy (idx int, code text, name text, domain text, "
            "schools int, first_school int)"
        )
        with self.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO bench_academy VALUES (%s, %s, %s, %s, %s, %s)",
                academy_schools(lay.schools),
            )
        self.conn.execute(
            "CREATE TEMP TABLE bench_vocab (kind text, idx int, code text, label text)"
        )
        rows: list[tuple[str, int, str, str]] = []
        for kind, items in (
            ("discipline", vocabularies.disciplines()),
            ("level", vocabularies.levels()),
            ("resource_type", vocabularies.resource_types()),
        ):
            rows += [(kind, i, item.code, item.label) for i, item in enumerate(items, start=1)]
        with self.conn.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_vocab VALUES (%s, %s, %s, %s)", rows)
        self.conn.commit()

    def vocabulary_size(self, kind: str) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM bench_vocab WHERE kind = %s", (kind,)
        ).fetchone()
        return int(row[0]) if row else 0

    # -- schools, teachers ---------------------------------------------------------------

    def schools_and_teachers(self) -> None:
        lay = self.layout
        now = datetime.now(PARIS)
        log("schools and teachers")
        kinds = sql_text_array(SCHOOL_KINDS)
        labels = sql_text_array(
            [vocabularies.label_of("school_kinds", k) or k for k in SCHOOL_KINDS]
        )
        self.result.counts["schools"] = self.step(
            "school",
            f"""
            INSERT INTO school (id, uai, name, kind, city, academy_code)
            SELECT s, digits || substr('ABCDEFGHJKLMNPRSTUVWXYZ', mod(s + 1000000, 23) + 1, 1),
                   ({labels})[mod(s, 20) + 1] || ' '
                       || ({sql_text_array(PERSONS)})[mod(s / 20, {len(PERSONS)}) + 1],
                   ({kinds})[mod(s, 20) + 1], a.name, a.code
            FROM generate_series(1, {lay.schools}) s
            CROSS JOIN LATERAL (SELECT (s + 1000000)::text AS digits) d
            JOIN bench_academy a ON s BETWEEN a.first_school AND a.first_school + a.schools - 1
            """,
        )
        self.result.counts["teachers"] = self.step(
            "user (teachers, no password)",
            f"""
            INSERT INTO "user" (id, email, name, password_hash, active, created_at)
            SELECT u, 'enseignant.' || lpad(u::text, 7, '0') || '@' || a.domain,
                   'Enseignant ' || u, NULL, true, %(now)s
            FROM generate_series(1, {lay.teachers}) u
            JOIN school s ON s.id = mod(u - 1, {lay.schools}) + 1
            JOIN bench_academy a ON a.code = s.academy_code
            """,
            {"now": now},
        )
        self.step(
            "role_grant (teacher of a school)",
            f"""
            INSERT INTO role_grant (id, user_id, role, school_id, created_at)
            SELECT u, u, 'teacher', mod(u - 1, {lay.schools}) + 1, %(now)s
            FROM generate_series(1, {lay.teachers}) u
            """,
            {"now": now},
        )

    # -- vendors and the catalogue ---------------------------------------------------------

    def catalogue(self) -> None:
        lay = self.layout
        now = datetime.now(PARIS)
        today = self.today
        log("vendors and catalogue")
        prefixes, names = sql_text_array(VENDOR_PREFIXES), sql_text_array(VENDOR_NAMES)
        combos = len(VENDOR_PREFIXES) * len(VENDOR_NAMES)
        self.step(
            "vendor (3 % suspended)",
            f"""
            INSERT INTO vendor (id, legal_name, siret, vat_number, country, parent_company,
                                status, created_at, city, contact_email)
            SELECT v, n.name, n.siren || '00011',
                   'FR' || lpad(mod(v, 97)::text, 2, '0') || n.siren, 'FR', n.name,
                   CASE WHEN mod(v, 33) = 0 THEN 'suspended' ELSE 'active' END,
                   %(now)s - make_interval(days => 400 + mod(v * 37, 1000)), 'Paris',
                   'contact@editeur-' || v || '.example'
            FROM generate_series(1, {lay.vendors}) v
            CROSS JOIN LATERAL (
                SELECT ({prefixes})[mod(v - 1, {len(VENDOR_PREFIXES)}) + 1] || ' '
                       || ({names})[mod((v - 1) / {len(VENDOR_PREFIXES)}, {len(VENDOR_NAMES)}) + 1]
                       || CASE WHEN v > {combos} THEN ' ' || v ELSE '' END AS name,
                       lpad((800000000 + v * 7)::text, 9, '0') AS siren
            ) n
            """,
            {"now": now},
        )
        self.step(
            "product (a few big vendors)",
            f"""
            INSERT INTO product (id, vendor_id, created_at)
            SELECT p, 1 + floor({lay.vendors} * power({uniform("p", 3)}, 1.6))::int,
                   %(now)s - make_interval(days => 30 + floor(900 * {uniform("p", 4)})::int)
            FROM generate_series(1, {lay.products}) p
            """,
            {"now": now},
        )
        disciplines = self.vocabulary_size("discipline")
        resource_types = self.vocabulary_size("resource_type")
        n = lay.products
        # Version 1 of every product; a version 2 for 1 product in 10 (listed, version 1
        # superseded), 1 in 20 (in review) and 1 in 40 (rejected). Disciplines, levels and
        # type follow the product; prices and label the version.
        self.step(
            "bench_version (temporary)",
            f"""
            CREATE TEMP TABLE bench_version AS
            WITH v AS (
                SELECT p AS product_id, p AS id, 1 AS number,
                       CASE WHEN mod(p, 10) = 0 THEN 'superseded' ELSE 'approved' END AS status,
                       mod(p, 10) <> 0 AS listed
                FROM generate_series(1, {n}) p
                UNION ALL
                SELECT p, {n} + p, 2,
                       CASE WHEN mod(p, 10) = 0 THEN 'approved'
                            WHEN mod(p, 20) = 7 THEN 'in_review' ELSE 'rejected' END,
                       mod(p, 10) = 0
                FROM generate_series(1, {n}) p
                WHERE mod(p, 10) = 0 OR mod(p, 20) = 7 OR mod(p, 40) = 3
            )
            SELECT v.*,
                   1 + floor({disciplines} * power({uniform("product_id", 11)}, 1.8))::int AS d1,
                   CASE WHEN {uniform("product_id", 12)} < 0.4 THEN 1 + floor({disciplines}
                        * power({uniform("product_id", 13)}, 1.8))::int END AS d2,
                   CASE WHEN {uniform("product_id", 14)} < 0.15
                        THEN 1 + floor({disciplines} * {uniform("product_id", 15)})::int END AS d3,
                   1 + floor(5 * {uniform("product_id", 16)})::int AS l1,
                   {uniform("product_id", 17)} < 0.4 AS two_levels,
                   1 + floor({resource_types} * {uniform("product_id", 18)})::int AS rtype,
                   CASE WHEN status IN ('in_review', 'rejected') THEN NULL
                        WHEN {uniform("id", 19)} < 0.05
                        THEN %(today)s::date - (1 + floor(300 * {uniform("id", 20)})::int)
                        ELSE %(today)s::date + (30 + floor(970 * {uniform("id", 20)})::int)
                   END AS expires,
                   (5 + floor(46 * {uniform("id", 21)})::int) * 100
                       - CASE WHEN {uniform("id", 22)} < 0.3 THEN 10 ELSE 0 END AS teacher_price,
                   CASE WHEN {uniform("id", 23)} < 0.5 THEN 550 ELSE 2000 END AS vat,
                   {uniform("id", 24)} < 0.6 AS has_class,
                   (20 + floor(281 * {uniform("id", 25)})::int) * 100 AS class_price,
                   CASE WHEN {uniform("id", 26)} < 0.5 THEN 30 ELSE 35 END AS pupils,
                   {uniform("id", 27)} < 0.4 AS has_school,
                   (100 + floor(1901 * {uniform("id", 28)})::int) * 100 AS school_price,
                   %(now)s - make_interval(days => 1 + floor(700 * {uniform("id", 29)})::int)
                       AS created_at
            FROM v
            """,
            {"now": now, "today": today},
        )
        self.step(
            "product_version",
            """
            INSERT INTO product_version (
                id, product_id, number, status, listed, title, summary, description,
                resource_type, access_url, channel, declaration, findings, submitted_at,
                decided_at, label_expires_on, price_from_cents, search_text, created_at)
            SELECT b.id, b.product_id, b.number, b.status, b.listed, t.title, t.summary,
                   t.summary || '. ' || repeat('Des activités progressives, corrigées et '
                       || 'différenciées, utilisables en classe ou à la maison. ', 4),
                   r.code, 'https://ressources.example/' || b.id,
                   (ARRAY['codes', 'webhook', 'gar'])[mod(b.id, 3) + 1],
                   %(declaration)s::json, '[]'::json, b.created_at,
                   CASE WHEN b.status <> 'in_review' THEN b.created_at + interval '12 days' END,
                   b.expires,
                   least(b.teacher_price,
                         CASE WHEN b.has_class THEN b.class_price END,
                         CASE WHEN b.has_school THEN b.school_price END),
                   lower(t.title || ' ' || t.summary), b.created_at
            FROM bench_version b
            JOIN bench_vocab d ON d.kind = 'discipline' AND d.idx = b.d1
            JOIN bench_vocab l ON l.kind = 'level' AND l.idx = b.l1
            JOIN bench_vocab r ON r.kind = 'resource_type' AND r.idx = b.rtype
            CROSS JOIN LATERAL (
                SELECT d.label || ' – ' || (%(topics)s::text[])
                           [mod(b.product_id, %(topic_count)s) + 1]
                           || ' (' || l.label || ') n°' || b.product_id AS title,
                       r.label || ' de ' || lower(d.label) || ' pour le ' || lower(l.label)
                           AS summary
            ) t
            """,
            {
                "declaration": json.dumps(conduct.sample_declaration()),
                "topics": list(TOPICS),
                "topic_count": len(TOPICS),
            },
        )
        self.step(
            "plan (teacher; class 60 %; school 40 %)",
            """
            INSERT INTO plan (version_id, kind, price_cents, vat_rate_bp, max_pupils)
            SELECT id, 'teacher', teacher_price, vat, NULL FROM bench_version
            UNION ALL
            SELECT id, 'class', class_price, vat, pupils FROM bench_version WHERE has_class
            UNION ALL
            SELECT id, 'school', school_price, vat, NULL FROM bench_version WHERE has_school
            """,
        )
        self.step(
            "product_version_discipline (1 to 3)",
            """
            INSERT INTO product_version_discipline (version_id, code)
            SELECT b.id, d.code FROM bench_version b
            JOIN bench_vocab d ON d.kind = 'discipline' AND d.idx IN (b.d1, b.d2, b.d3)
            """,
        )
        self.step(
            "product_version_level (1 or 2)",
            """
            INSERT INTO product_version_level (version_id, code)
            SELECT b.id, l.code FROM bench_version b
            JOIN bench_vocab l ON l.kind = 'level'
                AND (l.idx = b.l1 OR (b.two_levels AND l.idx = b.l1 + 1))
            """,
        )
        # What can be bought: listed, label valid, vendor active; ranked by popularity
        # (a hash, so that popular products are spread over vendors and disciplines).
        self.result.counts["purchasable"] = self.step(
            "bench_sellable (temporary)",
            """
            CREATE TEMP TABLE bench_sellable AS
            SELECT row_number() OVER (ORDER BY hashint4(b.product_id), b.product_id) AS rank,
                   b.product_id, b.id AS version_id, p.vendor_id, pv.title,
                   b.teacher_price AS price_cents, b.vat AS vat_rate_bp
            FROM bench_version b
            JOIN product p ON p.id = b.product_id
            JOIN vendor v ON v.id = p.vendor_id
            JOIN product_version pv ON pv.id = b.id
            WHERE b.listed AND b.expires >= %(today)s AND v.status = 'active'
            """,
            {"today": today},
        )
        self.conn.execute("ANALYZE bench_sellable")
        self.conn.commit()

    # -- ledger accounts, funding, allocations ---------------------------------------------

    def ledger_accounts(self) -> None:
        lay = self.layout
        log("ledger accounts")
        self.step(
            "ledger_account (national funding, pools, vendor payables)",
            f"""
            INSERT INTO ledger_account (id, kind, school_year_code, academy_code, vendor_id,
                                        balance_cents, created_at)
            SELECT 1, 'national_funding', %(year)s::text, NULL::text, NULL::int,
                   NULL::bigint, %(at)s
            UNION ALL
            SELECT 1 + idx, 'academy_pool', %(year)s::text, code, NULL, 0, %(at)s FROM bench_academy
            UNION ALL
            SELECT {lay.vendor_account_base} + v, 'vendor_payable', NULL, NULL, v, NULL, %(at)s
            FROM generate_series(1, {lay.vendors}) v
            """,
            {"year": SCHOOL_YEAR, "at": FUNDED_AT},
        )
        self.step(
            "ledger_account (teacher credits)",
            f"""
            INSERT INTO ledger_account (id, kind, school_year_code, academy_code, user_id,
                                        balance_cents, created_at)
            SELECT {lay.teacher_account_base} + u, 'teacher_credit', %(year)s, s.academy_code,
                   u, 0, %(at)s
            FROM generate_series(1, {lay.teachers}) u
            JOIN school s ON s.id = mod(u - 1, {lay.schools}) + 1
            """,
            {"year": SCHOOL_YEAR, "at": ALLOCATED_AT},
        )

    def funding_and_allocations(self) -> None:
        lay = self.layout
        log("funding and allocations (one entry each per academy)")
        academies = self.conn.execute(
            "SELECT a.idx, a.code, a.name, count(la.id) FROM bench_academy a "
            "LEFT JOIN ledger_account la ON la.academy_code = a.code "
            "AND la.kind = 'teacher_credit' GROUP BY a.idx, a.code, a.name ORDER BY a.idx"
        ).fetchall()
        # The State funds each academy: its teachers' credit and 5 % more.
        funds = [
            (idx, code, name, round(teachers * lay.credit_cents * 1.05 / 100) * 100 + 100)
            for idx, code, name, teachers in academies
        ]
        self.conn.execute(
            """
            INSERT INTO journal_entry (id, kind, idempotency_key, reference, memo, created_at)
            SELECT f.idx, 'fund', 'fund:bench:' || f.code,
                   'academy:' || f.code || ':' || %(year)s::text,
                   'Dotation ' || %(year)s::text || ' de l''académie de ' || f.name, %(at)s
            FROM unnest(%(idx)s::int[], %(code)s::text[], %(name)s::text[]) AS f(idx, code, name)
            """,
            {
                "year": SCHOOL_YEAR,
                "at": FUNDED_AT,
                "idx": [f[0] for f in funds],
                "code": [f[1] for f in funds],
                "name": [f[2] for f in funds],
            },
        )
        self.step(
            "posting (FUND: all 30 entries in one statement)",
            """
            INSERT INTO posting (entry_id, account_id, amount_cents)
            SELECT f.idx, 1, -f.cents FROM unnest(%(idx)s::int[], %(cents)s::bigint[]) f(idx, cents)
            UNION ALL
            SELECT f.idx, 1 + f.idx, f.cents
            FROM unnest(%(idx)s::int[], %(cents)s::bigint[]) f(idx, cents)
            """,
            {"idx": [f[0] for f in funds], "cents": [f[3] for f in funds]},
        )
        rule = budgets.Rule(lay.credit_cents).to_json()
        started = time.perf_counter()
        postings = 0
        for idx, code, _name, teachers in academies:
            if not teachers:
                continue
            self.conn.execute(
                """
                INSERT INTO allocation (id, academy_code, school_year_code, method,
                    idempotency_key, description, source, source_sha256, teacher_count,
                    total_cents, created_at, applied_at)
                VALUES (%(id)s, %(code)s, %(year)s, 'rule', %(key)s, 'Crédit de rentrée',
                        %(rule)s, %(sha)s, %(teachers)s, %(total)s, %(at)s, %(at)s)
                """,
                {
                    "id": idx,
                    "code": code,
                    "year": SCHOOL_YEAR,
                    "key": f"bench:allocation:{code}",
                    "rule": rule,
                    "sha": hashlib.sha256(rule.encode()).hexdigest(),
                    "teachers": teachers,
                    "total": teachers * lay.credit_cents,
                    "at": ALLOCATED_AT,
                },
            )
            entry = len(academies) + idx
            self.conn.execute(
                """
                INSERT INTO journal_entry (id, kind, idempotency_key, reference, memo, created_at)
                VALUES (%(entry)s, 'allocate', %(ref)s::text || ':1', %(ref)s,
                        'Répartition n°' || %(alloc)s::text || ' : Crédit de rentrée', %(at)s)
                """,
                {"entry": entry, "ref": f"allocation:{idx}", "alloc": idx, "at": ALLOCATED_AT},
            )
            # The pool's debit and every teacher's credit: ONE statement (the statement
            # trigger checks that the entry balances).
            cursor = self.conn.execute(
                """
                INSERT INTO posting (entry_id, account_id, amount_cents)
                SELECT %(entry)s, %(pool)s, -%(cents)s::bigint * count(*)
                FROM ledger_account
                WHERE kind = 'teacher_credit' AND academy_code = %(code)s
                    AND school_year_code = %(year)s
                UNION ALL
                SELECT %(entry)s, id, %(cents)s::bigint FROM ledger_account
                WHERE kind = 'teacher_credit' AND academy_code = %(code)s
                    AND school_year_code = %(year)s
                """,
                {
                    "entry": entry,
                    "pool": 1 + idx,
                    "cents": lay.credit_cents,
                    "code": code,
                    "year": SCHOOL_YEAR,
                },
            )
            postings += cursor.rowcount
            self.conn.commit()
        log(
            f"  {'posting (ALLOCATE: one statement per academy)':<58} {postings:>10,} rows "
            f"{time.perf_counter() - started:7.1f} s"
        )

    # -- purchases -----------------------------------------------------------------------

    def purchases(self) -> None:
        lay = self.layout
        log("purchases")
        span = (LAST_PURCHASE - FIRST_PURCHASE).total_seconds()
        purchasable = self.result.counts["purchasable"]
        self.step(
            "bench_line (temporary: popular products bought most)",
            f"""
            CREATE TEMP TABLE bench_line AS
            SELECT l AS id,
                   5 * ((l - 1) / 6) + greatest(mod(l - 1, 6), 1) AS order_id,
                   s.product_id, s.version_id, s.vendor_id, s.title, s.price_cents,
                   s.vat_rate_bp,
                   {uniform("l", 31)} < {CANCELLED_SHARE} AS cancelled,
                   {uniform("l", 32)} AS cancel_after
            FROM generate_series(1::bigint, {lay.purchases}) l
            JOIN bench_sellable s
                ON s.rank = 1 + floor({purchasable} * power({uniform("l", 30)}, 2.2))::int
            """,
        )
        self.step(
            "bench_order (temporary: buyers, dates, credit left)",
            f"""
            CREATE TEMP TABLE bench_order AS
            SELECT o.id, o.teacher_id, sc.id AS school_id, sc.academy_code, o.total,
                   %(first)s::timestamptz + make_interval(secs => {span} * (o.id - 0.5)
                       / {lay.orders}) AS created_at,
                   {lay.credit_cents} - sum(o.total) OVER (PARTITION BY o.teacher_id
                       ORDER BY o.id) AS credit_after
            FROM (
                SELECT order_id AS id, sum(price_cents) AS total,
                       mod((order_id - 1) * {lay.stride}, {lay.buyers}) + 1 AS teacher_id
                FROM bench_line GROUP BY order_id
            ) o
            JOIN school sc ON sc.id = mod(o.teacher_id - 1, {lay.schools}) + 1
            """,
            {"first": FIRST_PURCHASE},
        )
        self.conn.execute("ANALYZE bench_line")
        self.conn.execute("ANALYZE bench_order")
        self.conn.commit()
        pe, re_ = lay.purchase_entry_base, lay.refund_entry_base
        self.result.counts["purchase entries"] = self.step(
            "journal_entry (PURCHASE: one per order)",
            f"""
            INSERT INTO journal_entry (id, kind, idempotency_key, reference, memo, created_at,
                                       created_by)
            SELECT {pe} + id, 'purchase', 'order:' || id, 'order:' || id,
                   'Commande CR-2026-' || lpad(id::text, 6, '0'), created_at, teacher_id
            FROM bench_order ORDER BY id
            """,
        )
        self.result.counts["orders"] = self.step(
            "order",
            f"""
            INSERT INTO "order" (id, teacher_id, school_id, academy_code, school_year_code,
                                 idempotency_key, total_cents, credit_after_cents, entry_id,
                                 created_at)
            SELECT id, teacher_id, school_id, academy_code, %(year)s,
                   'bench:' || id, total, credit_after, {pe} + id, created_at
            FROM bench_order ORDER BY id
            """,
            {"year": SCHOOL_YEAR},
        )
        self.result.counts["refund entries"] = self.step(
            "journal_entry (REFUND: one per cancelled line)",
            f"""
            INSERT INTO journal_entry (id, kind, idempotency_key, reference, memo, created_at,
                                       created_by)
            SELECT {re_} + l.id, 'refund', 'refund:order_line:' || l.id, 'order:' || o.id,
                   'Annulation — commande CR-2026-' || lpad(o.id::text, 6, '0'),
                   o.created_at + make_interval(secs => 3600 + l.cancel_after * 13 * 86400),
                   o.teacher_id
            FROM bench_line l JOIN bench_order o ON o.id = l.order_id
            WHERE l.cancelled ORDER BY l.id
            """,
        )
        self.result.counts["order lines"] = self.step(
            "order_line",
            f"""
            INSERT INTO order_line (id, order_id, product_id, version_id, vendor_id, title,
                                    plan_kind, seats, price_cents, vat_rate_bp, vat_cents,
                                    status, cancelled_at, refund_entry_id)
            SELECT l.id, l.order_id, l.product_id, l.version_id, l.vendor_id, l.title,
                   'teacher', 1, l.price_cents, l.vat_rate_bp,
                   round(l.price_cents * l.vat_rate_bp / (10000.0 + l.vat_rate_bp)),
                   CASE WHEN l.cancelled THEN 'cancelled' ELSE 'paid' END,
                   CASE WHEN l.cancelled THEN o.created_at
                       + make_interval(secs => 3600 + l.cancel_after * 13 * 86400) END,
                   CASE WHEN l.cancelled THEN {re_} + l.id END
            FROM bench_line l JOIN bench_order o ON o.id = l.order_id ORDER BY l.id
            """,
        )
        ta, va = lay.teacher_account_base, lay.vendor_account_base
        started = time.perf_counter()
        postings = 0
        for low in range(1, lay.orders + 1, POSTING_CHUNK):
            high = min(low + POSTING_CHUNK - 1, lay.orders)
            # Every posting of these entries (teacher's debit, each vendor's credit) in
            # ONE statement: the statement trigger checks each entry balances.
            cursor = self.conn.execute(
                f"""
                INSERT INTO posting (entry_id, account_id, amount_cents)
                SELECT {pe} + o.id, {ta} + o.teacher_id, -o.total FROM bench_order o
                WHERE o.id BETWEEN {low} AND {high}
                UNION ALL
                SELECT {pe} + l.order_id, {va} + l.vendor_id, sum(l.price_cents)
                FROM bench_line l WHERE l.order_id BETWEEN {low} AND {high}
                GROUP BY l.order_id, l.vendor_id
                """
            )
            postings += cursor.rowcount
            self.conn.commit()
            log(
                f"    purchase postings of orders {low:,}–{high:,}: {postings:,} rows, "
                f"{time.perf_counter() - started:.1f} s"
            )
        log(
            f"  {'posting (PURCHASE, by chunks of orders)':<58} {postings:>10,} rows "
            f"{time.perf_counter() - started:7.1f} s"
        )
        self.step(
            "posting (REFUND: all in one statement)",
            f"""
            INSERT INTO posting (entry_id, account_id, amount_cents)
            SELECT {re_} + l.id, {va} + l.vendor_id, -l.price_cents FROM bench_line l
            WHERE l.cancelled
            UNION ALL
            SELECT {re_} + l.id, {ta} + o.teacher_id, l.price_cents
            FROM bench_line l JOIN bench_order o ON o.id = l.order_id WHERE l.cancelled
            """,
        )

    def balances_and_sequences(self) -> None:
        log("balances, sequences, VACUUM ANALYZE")
        self.step(
            "ledger_account.balance_cents := sum of postings (guarded)",
            """
            UPDATE ledger_account a SET balance_cents = p.total
            FROM (SELECT account_id, sum(amount_cents) AS total FROM posting
                  GROUP BY account_id) p
            WHERE p.account_id = a.id AND a.balance_cents IS NOT NULL
                AND a.balance_cents <> p.total
            """,
        )
        for table in (
            "school",
            "user",
            "role_grant",
            "vendor",
            "product",
            "product_version",
            "allocation",
            "ledger_account",
            "journal_entry",
            "order",
            "order_line",
        ):
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )
        for table in ("bench_line", "bench_order", "bench_version", "bench_sellable"):
            self.conn.execute(f"DROP TABLE {table}")
        self.conn.commit()
        self.conn.autocommit = True
        started = time.perf_counter()
        self.conn.execute("VACUUM (ANALYZE)")
        log(f"  {'VACUUM (ANALYZE)':<58} {'':>10}      {time.perf_counter() - started:7.1f} s")
        self.conn.autocommit = False
        for table in ("posting", "journal_entry", "order_line", "order", "ledger_account"):
            row = self.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            self.result.counts[table] = int(row[0]) if row else 0
        row = self.conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'cancelled') FROM order_line"
        ).fetchone()
        self.result.counts["cancelled"] = int(row[0]) if row else 0
        self.conn.commit()


# --- SQL statements and templates, timed ---------------------------------------------------


@dataclass
class Recorder:
    """Every SQL statement the app sends (time, text, parameters) and template rendering,
    while recording."""

    recording: bool = False
    statements: list[tuple[str, float, Any]] = field(default_factory=list)
    render_seconds: float = 0.0
    _render_started: float = 0.0

    def attach(self, app: Flask, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        before_render_template.connect(self._render_start, app)
        template_rendered.connect(self._render_end, app)

    def start(self) -> None:
        self.statements = []
        self.render_seconds = 0.0
        self.recording = True

    def stop(self) -> None:
        self.recording = False

    @property
    def sql_seconds(self) -> float:
        return sum(seconds for _, seconds, _ in self.statements)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        if self.recording:
            self.statements.append((statement, elapsed, parameters))

    def _render_start(self, sender: Any, **extra: Any) -> None:
        self._render_started = time.perf_counter()

    def _render_end(self, sender: Any, **extra: Any) -> None:
        if self.recording:
            self.render_seconds += time.perf_counter() - self._render_started


@dataclass
class Measure:
    """The rounds of one measured thing: wall-clock, SQL and template time, statements."""

    label: str
    seconds: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    render: list[float] = field(default_factory=list)
    statements: int = 0
    # statement (described with its parameters) → (durations, parameters); its SQL text
    by_statement: dict[str, tuple[list[float], Any]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 0.5)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 0.95)

    def slowest(self, count: int = 1) -> list[tuple[str, float, Any]]:
        """The statements with the largest median times: text, median, parameters."""
        ranked = sorted(
            (
                (statement, percentile(durations, 0.5), params)
                for statement, (durations, params) in self.by_statement.items()
            ),
            key=lambda item: item[1],
            reverse=True,
        )
        return ranked[:count]


def measure(
    label: str, call: Callable[[], Any], rounds: int, recorder: Recorder | None = None
) -> Measure:
    result = Measure(label)
    for number in range(WARM_UP + rounds):
        if recorder is not None:
            recorder.start()
        started = time.perf_counter()
        call()
        elapsed = time.perf_counter() - started
        if recorder is not None:
            recorder.stop()
        if number < WARM_UP:
            continue
        result.seconds.append(elapsed)
        if recorder is not None:
            result.sql.append(recorder.sql_seconds)
            result.render.append(recorder.render_seconds)
            result.statements = len(recorder.statements)
            for statement, seconds, params in recorder.statements:
                key = describe(statement, params, 400)
                durations, _ = result.by_statement.setdefault(key, ([], params))
                durations.append(seconds)
                result.by_statement[key] = (durations, params)
                result.texts[key] = statement
    return result


# --- 3. the refresh --------------------------------------------------------------------------


@dataclass
class Refresh:
    seconds: float
    rows: dict[str, int]
    statements: list[tuple[str, float, Any]]
    problems: list[str]


def time_refresh(app: Flask, recorder: Recorder) -> Refresh:
    with app.app_context():
        recorder.start()
        started = time.perf_counter()
        reporting.refresh(SCHOOL_YEAR)
        db.session.commit()
        seconds = time.perf_counter() - started
        recorder.stop()
        rows = {
            str(dimension): int(count)
            for dimension, count in db.session.execute(
                select(SpendingSummary.dimension, func.count())
                .where(SpendingSummary.school_year_code == SCHOOL_YEAR)
                .group_by(SpendingSummary.dimension)
                .order_by(SpendingSummary.dimension)
            )
        }
        national = reporting.dashboard(SCHOOL_YEAR)
        bought = db.session.execute(
            select(
                func.sum(SpendingSummary.amount_cents), func.sum(SpendingSummary.refunded_cents)
            ).where(
                SpendingSummary.school_year_code == SCHOOL_YEAR,
                SpendingSummary.academy_code == NATIONAL,
                SpendingSummary.dimension == "product",
            )
        ).one()
        db.session.remove()
    problems = []
    lines = app_scalar(
        app,
        "SELECT sum(price_cents), sum(price_cents) FILTER (WHERE status = 'cancelled') "
        "FROM order_line",
    )
    if (int(bought[0] or 0), int(bought[1] or 0)) != lines:
        problems.append(f"summary products (bought, refunded) {tuple(bought)} ≠ lines {lines}")
    if national.ledger.get("spent") != lines[0]:
        problems.append(f"summary spent {national.ledger.get('spent')} ≠ {lines[0]} bought")
    return Refresh(seconds, rows, list(recorder.statements), problems)


def app_scalar(app: Flask, sql: str) -> tuple[int, ...]:
    with app.app_context():
        row = db.session.connection().exec_driver_sql(sql).one()
        db.session.remove()
    return tuple(int(value or 0) for value in row)


# --- 4. the dashboards, through the app ------------------------------------------------------


def in_app(app: Flask, function: Callable[[], Any]) -> Callable[[], Any]:
    """`function` called in a fresh app context, its session removed after (as a request)."""

    def call() -> Any:
        with app.app_context():
            result = function()
            db.session.remove()
        return result

    return call


def measure_functions(app: Flask, recorder: Recorder, rounds: int, today: date) -> list[Measure]:
    names = {a.code: a.name for a in vocabularies.academies()}
    calls: list[tuple[str, Callable[[], Any]]] = [
        (
            f"dashboard({SCHOOL_YEAR!r}, {code!r})  {names[code]}",
            lambda code=code: reporting.dashboard(SCHOOL_YEAR, code),
        )
        for code in MEASURED_ACADEMIES
    ]
    calls += [
        (f"dashboard({SCHOOL_YEAR!r})  national", lambda: reporting.dashboard(SCHOOL_YEAR)),
        (
            f"academies_side_by_side({SCHOOL_YEAR!r})",
            lambda: reporting.academies_side_by_side(SCHOOL_YEAR),
        ),
        (f"catalogue_figures({today.isoformat()})", lambda: reporting.catalogue_figures(today)),
    ]
    return [measure(label, in_app(app, call), rounds, recorder) for label, call in calls]


def create_viewers(app: Flask) -> tuple[str, str, str]:
    """An admin and a manager of the measured academies; returns their e-mails and the
    password (random, for this run)."""
    password = secrets.token_urlsafe(16)
    with app.app_context():
        password_hash = accounts.hash_password(password)
        admin = accounts.create_user(
            "admin.bench@education.gouv.fr", "Admin Bench", password_hash=password_hash
        )
        accounts.grant_role(None, admin, Role.ADMIN)
        manager = accounts.create_user(
            "gestionnaire.bench@ac-versailles.fr", "Gestionnaire Bench", password_hash=password_hash
        )
        for code in MEASURED_ACADEMIES:
            accounts.grant_role(
                None, manager, Role.ACADEMY_MANAGER, academy=budgets.get_academy(code)
            )
        db.session.commit()
        return admin.email, manager.email, password


def measure_pages(
    app: Flask, recorder: Recorder, rounds: int, viewers: tuple[str, str, str]
) -> tuple[list[Measure], list[str]]:
    admin, manager, password = viewers
    problems: list[str] = []
    measures: list[Measure] = []
    for email, paths in (
        (manager, [f"/academies/{code}/tableau-de-bord" for code in MEASURED_ACADEMIES]),
        (admin, ["/admin/tableau-de-bord"]),
    ):
        client = app.test_client()
        response = client.post("/connexion", data={"email": email, "password": password})
        if response.status_code != 302:
            problems.append(f"login of {email} answered {response.status_code}")
            continue
        for path in paths:
            url = f"{path}?annee={SCHOOL_YEAR}"
            sizes: list[int] = []

            def get(url: str = url, sizes: list[int] = sizes, client: Any = client) -> None:
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url} answered {response.status_code}")
                sizes.append(len(response.data))

            who = "manager" if email == manager else "admin"
            page = measure(f"GET {path} ({who})", get, rounds, recorder)
            page.label += f"  {sizes[-1] // 1024} KiB"
            measures.append(page)
    return measures, problems


# --- 5. the baselines and the dashboard without the summary ----------------------------------

BASELINES = (
    "SELECT sum(amount_cents) FROM posting",
    "SELECT sum(price_cents) FROM order_line",
)

WEEK = "to_char(date_trunc('week', timezone('Europe/Paris', o.created_at)), 'YYYY-MM-DD')"
# The refresh's GROUP BYs (app/reporting/services.py), for one academy or the nation.
LIVE_DIMENSIONS = {
    "week": (WEEK, ""),
    "vendor": ("l.vendor_id", ""),
    "product": ("l.product_id", ""),
    "school": ("o.school_id", ""),
    "resource_type": ("v.resource_type", "JOIN product_version v ON v.id = l.version_id"),
    "discipline": (
        "d.code",
        "JOIN product_version_discipline d ON d.version_id = l.version_id",
    ),
    "level": ("lv.code", "JOIN product_version_level lv ON lv.version_id = l.version_id"),
}


def live_queries(academy: str | None) -> list[tuple[str, str]]:
    """The statements that give one dashboard's figures straight from the orders and the
    ledger: one GROUP BY per dimension, the ledger's flows and balances, the people."""
    where_order = "AND o.academy_code = %(academy)s" if academy else ""
    where_account = "AND a.academy_code = %(academy)s" if academy else ""
    where_school = "AND s.academy_code = %(academy)s" if academy else ""
    queries = [
        (
            dimension,
            f"SELECT {key}, sum(l.price_cents), "
            "sum(CASE WHEN l.status = 'cancelled' THEN l.price_cents ELSE 0 END), count(*) "
            f'FROM order_line l JOIN "order" o ON o.id = l.order_id {join} '
            f"WHERE o.school_year_code = %(year)s {where_order} GROUP BY {key}",
        )
        for dimension, (key, join) in LIVE_DIMENSIONS.items()
    ]
    queries += [
        (
            "ledger flows",
            "SELECT a.kind, e.kind, sum(p.amount_cents) FROM ledger_account a "
            "JOIN posting p ON p.account_id = a.id JOIN journal_entry e ON e.id = p.entry_id "
            "WHERE a.school_year_code = %(year)s AND a.academy_code IS NOT NULL "
            f"{where_account} GROUP BY a.kind, e.kind",
        ),
        (
            "ledger balances",
            "SELECT a.kind, sum(a.balance_cents) FROM ledger_account a "
            "WHERE a.school_year_code = %(year)s AND a.academy_code IS NOT NULL "
            f"{where_account} GROUP BY a.kind",
        ),
        (
            "teachers",
            "SELECT count(DISTINCT g.user_id) FROM role_grant g "
            f"JOIN school s ON s.id = g.school_id WHERE g.role = 'teacher' {where_school}",
        ),
        (
            "buyers",
            'SELECT count(DISTINCT o.teacher_id) FROM "order" o '
            "JOIN order_line l ON l.order_id = o.id AND l.status = 'paid' "
            f"WHERE o.school_year_code = %(year)s {where_order}",
        ),
    ]
    return queries


@dataclass
class Live:
    label: str
    totals: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)


def measure_live(url: URL, academy: str | None, rounds: int) -> Live:
    live = Live(f"academy {academy}" if academy else "nation")
    params = {"year": SCHOOL_YEAR, "academy": academy}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for number in range(1 + rounds):
            total = 0.0
            for name, sql in live_queries(academy):
                started = time.perf_counter()
                conn.execute(sql, params).fetchall()
                elapsed = time.perf_counter() - started
                total += elapsed
                if number:
                    live.parts.setdefault(name, []).append(elapsed)
            if number:
                live.totals.append(total)
    return live


def measure_baselines(url: URL, rounds: int) -> list[Measure]:
    measures = []
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for sql in BASELINES:
            measures.append(measure(sql, lambda sql=sql: conn.execute(sql).fetchall(), rounds))
    return measures


# --- 6. plans --------------------------------------------------------------------------------


def explain_app(app: Flask, statement: str, params: Any) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement the app sent, with its parameters; an
    INSERT … SELECT of the refresh is explained as its SELECT (nothing is written)."""
    select_part = re.sub(r"^\s*INSERT INTO \w+ \([^)]*\)\s*", "", statement)
    with app.app_context():
        rows = (
            db.session.connection()
            .exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {select_part}", params)
            .all()
        )
        db.session.rollback()
        db.session.remove()
    return [f"    {row[0]}" for row in rows]


def explain_raw(url: URL, sql: str, params: dict[str, Any]) -> list[str]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
    return [f"    {row[0]}" for row in rows]


# --- the report --------------------------------------------------------------------------------


def machine() -> str:
    cores = len(Path("/proc/cpuinfo").read_text().split("processor\t:")) - 1
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    load = Path("/proc/loadavg").read_text().split()[:3]
    gib = int(memory.group(1)) / 1024 / 1024 if memory else 0
    return (
        f"{cores} cores {model.group(1).strip() if model else '?'}, {gib:.0f} GiB, "
        f"load average {' '.join(load)}"
    )


def report_table(measures: Sequence[Measure], baseline: float) -> None:
    log(
        f"  {'':<52} {'p50':>7} {'p95':>7}  {'SQL p50':>7} {'tmpl p50':>8}  {'stmts':>5}"
        f"  {'÷ scan':>6}  aim"
    )
    for m in measures:
        verdict = "yes" if ms(m.p95) < AIM_MS else "NO"
        sql = f"{ms(percentile(m.sql, 0.5)):7.1f}" if m.sql else f"{'':>7}"
        render = f"{ms(percentile(m.render, 0.5)):8.1f}" if any(m.render) else f"{'':>8}"
        log(
            f"  {m.label:<52} {ms(m.p50):7.1f} {ms(m.p95):7.1f}  {sql} {render}  "
            f"{m.statements:>5}  {m.p50 / baseline:6.3f}  {verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=870_000, help="default 870000")
    parser.add_argument(
        "--purchases", type=int, default=2_000_000, help="order lines (default 2000000)"
    )
    parser.add_argument("--rounds", type=int, default=20, help="timed calls of each (default 20)")
    parser.add_argument(
        "--live-rounds", type=int, default=3, help="rounds of the live GROUP BYs (default 3)"
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    options = parser.parse_args(argv)
    url = make_url(options.database_url).set(drivername="postgresql+psycopg")
    layout = Layout.of(options.teachers, options.purchases)
    rounds: int = options.rounds
    log(f"machine: {machine()}")

    recreate_database(url)
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False),
        # The pages would queue a refresh when the figures are older than this: the
        # benchmark refreshes once, explicitly, and measures the pages alone.
        REPORTING_MAX_AGE_SECONDS=7 * 24 * 3600,
    )
    build_schema(app)
    log(
        f"generating: {layout.teachers:,} teachers, {layout.schools:,} schools, "
        f"{layout.vendors} vendors, {layout.products:,} products, {layout.purchases:,} "
        f"order lines in {layout.orders:,} orders of {layout.buyers:,} buyers "
        f"({layout.credit_cents / 100:.0f} € each)"
    )
    with psycopg.connect(libpq_url(url)) as conn:
        generated = Generator(conn, layout).run()
    counts = generated.counts
    with app.app_context():
        verify = ledger.verify()
        db.session.remove()
    log(
        f"setup: {counts['teachers']:,} teachers in {counts['schools']:,} schools, "
        f"{counts['purchasable']:,} purchasable products, {counts['order lines']:,} order "
        f"lines ({counts['cancelled']:,} cancelled) in {counts['orders']:,} orders, "
        f"{counts['posting']:,} postings in {counts['journal_entry']:,} entries, "
        f"{counts['ledger_account']:,} accounts: generated in {generated.seconds:.1f} s "
        "(not measured)"
    )
    log(
        f"ledger verify: {'ok' if verify.ok else 'FAILED'} in {verify.seconds:.1f} s"
        + ("" if verify.ok else f" {verify}")
    )
    problems = [] if verify.ok else [f"ledger verify failed: {verify}"]

    recorder = Recorder()
    with app.app_context():
        recorder.attach(app, db.engine)
    viewers = create_viewers(app)

    log("\nrefresh: rebuilding the summary …")
    refresh = time_refresh(app, recorder)
    problems += refresh.problems
    summary_rows = sum(refresh.rows.values())
    log(
        f"refresh({SCHOOL_YEAR!r}): {refresh.seconds:.1f} s, {summary_rows:,} summary rows "
        f"({', '.join(f'{k} {v:,}' for k, v in refresh.rows.items())})"
    )
    slow_refresh = sorted(refresh.statements, key=lambda s: s[1], reverse=True)
    for statement, seconds, params in slow_refresh[:8]:
        log(f"  {seconds:7.2f} s  {describe(statement, params, 140)}")
    log(
        f"  {sum(s[1] for s in refresh.statements):7.2f} s in {len(refresh.statements)} "
        "statements in all"
    )

    # Right after the refresh, the summary's statistics are those of the last ANALYZE
    # (here: an empty table); autovacuum analyzes it later, if it is on.
    stale = measure(
        f"dashboard({SCHOOL_YEAR!r})  national",
        in_app(app, lambda: reporting.dashboard(SCHOOL_YEAR)),
        rounds,
        recorder,
    )
    stale_plan = [
        (described, median, explain_app(app, stale.texts[described], params))
        for described, median, params in stale.slowest()
    ]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("ANALYZE spending_summary")
        analyzed = time.perf_counter() - started
        autovacuum = conn.execute("SHOW autovacuum").fetchone()
    log(
        f"national dashboard right after the refresh: p50 {ms(stale.p50):.1f} ms, p95 "
        f"{ms(stale.p95):.1f} ms; then ANALYZE spending_summary ({analyzed:.2f} s; autovacuum "
        f"is {autovacuum[0] if autovacuum else '?'} on this server)"
    )

    today = datetime.now(PARIS).date()
    log(f"\nmeasuring ({WARM_UP} warm-up calls, then {rounds} timed) …")
    baselines = measure_baselines(url, rounds)
    functions = measure_functions(app, recorder, rounds, today)
    pages, page_problems = measure_pages(app, recorder, rounds, viewers)
    problems += page_problems
    log("measuring the dashboard without the summary (live GROUP BYs) …")
    lives = [measure_live(url, MEASURED_ACADEMIES[0], options.live_rounds)]
    lives.append(measure_live(url, None, options.live_rounds))

    scan = baselines[0].p50
    log("\nbaseline: one scan of the big tables (psycopg), ms")
    for m in baselines:
        log(f"  {m.label:<52} {ms(m.p50):7.1f} {ms(m.p95):7.1f}")
    log("\ndashboards' data functions (app services, in an app context), ms")
    report_table(functions, scan)
    log("\npages (Flask test client, logged in), ms")
    report_table(pages, scan)
    log(
        "  (÷ scan: p50 ÷ the p50 of the posting scan; SQL and template: time inside the "
        "statements and render_template; stmts: SQL statements per call)"
    )

    log(
        "\nwithout the summary: the same figures by live GROUP BY, ms "
        f"(p50 of {options.live_rounds})"
    )
    log(f"  {'':<20}" + "".join(f"{live.label:>14}" for live in lives))
    for name in lives[0].parts:
        log(
            f"  {name:<20}"
            + "".join(f"{ms(percentile(live.parts[name], 0.5)):14.1f}" for live in lives)
        )
    log(f"  {'total':<20}" + "".join(f"{ms(percentile(live.totals, 0.5)):14.1f}" for live in lives))
    national_fn = functions[len(MEASURED_ACADEMIES)]
    academy_fn = functions[0]
    log(
        f"  live ÷ summary (p50): academy {MEASURED_ACADEMIES[0]} "
        f"{percentile(lives[0].totals, 0.5) / academy_fn.p50:.0f}×, "
        f"nation {percentile(lives[1].totals, 0.5) / national_fn.p50:.0f}×"
    )

    missed = [m.label.split("  ")[0] for m in (*functions, *pages) if ms(m.p95) >= AIM_MS]
    log(
        f"\naim: every dashboard function and page p95 < {AIM_MS:.0f} ms: "
        + ("met" if not missed else "NOT met (" + "; ".join(missed) + ")")
    )

    log("\nplans (EXPLAIN ANALYZE, BUFFERS)")
    for described, median, plan in stale_plan:
        log(
            f"  -- slowest statement of the national dashboard BEFORE ANALYZE (p50 "
            f"{ms(median):.1f} ms): {described}"
        )
        for line in plan:
            log(line)
    for m, count in ((academy_fn, 2), (national_fn, 3), (functions[-2], 1)):
        for described, median, params in m.slowest(count):
            log(f"  -- {m.label.split('  ')[0]}, p50 {ms(median):.1f} ms: {described}")
            for line in explain_app(app, m.texts[described], params):
                log(line)
    for statement, seconds, params in slow_refresh[:2]:
        log(f"  -- refresh, {seconds:.2f} s: {describe(statement, params, 200)}")
        for line in explain_app(app, statement, params):
            log(line)
    product_sql = dict(live_queries(MEASURED_ACADEMIES[0]))["product"]
    log(f"  -- live GROUP BY of one academy, no summary: {one_line(product_sql, 200)}")
    for line in explain_raw(
        url, product_sql, {"year": SCHOOL_YEAR, "academy": MEASURED_ACADEMIES[0]}
    ):
        log(line)
    log(f"\nmachine at the end: {machine()}")

    if problems:
        for problem in problems:
            log(f"CHECK FAILED: {problem}")
        return 1
    log("checks: ledger verify ok; summary totals = order lines; pages answered 200")
    return 0


if __name__ == "__main__":
    sys.exit(main())
