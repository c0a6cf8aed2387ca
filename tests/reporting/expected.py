"""The dashboard's figures computed again, independently, with hand-written SQL over the
ledger (`posting`, `journal_entry`, `ledger_account`) and the orders (`order`,
`order_line`): what the summary shows must be what these say.

`academy=None` means the whole country.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from app.extensions import db
from catalog import vocabularies
from tests.reporting.helpers import PARIS_TIME, stored_moment

Figures = dict[str, tuple[int, int]]  # label → (net cents, order lines)


def _scalar(sql: str, **params: Any) -> int:
    return int(db.session.execute(text(sql), params).scalar() or 0)


def _academy(column: str, academy: str | None) -> str:
    return f"AND {column} = :academy" if academy else ""


def postings(year: str, account_kind: str, entry_kind: str | None, academy: str | None) -> int:
    """The sum of the postings on the academies' accounts of a kind (for entries of a kind)."""
    entry = "AND je.kind = :entry_kind" if entry_kind else ""
    return _scalar(
        f"""
        SELECT SUM(p.amount_cents)
        FROM posting p
        JOIN ledger_account la ON la.id = p.account_id
        JOIN journal_entry je ON je.id = p.entry_id
        WHERE la.kind = :account_kind AND la.school_year_code = :year
          {entry} {_academy("la.academy_code", academy)}
        """,
        year=year,
        account_kind=account_kind,
        entry_kind=entry_kind,
        academy=academy,
    )


def ledger(year: str, academy: str | None = None) -> dict[str, int]:
    pool, teacher = "academy_pool", "teacher_credit"
    return {
        "received": postings(year, pool, "fund", academy),
        "allocated": -postings(year, pool, "allocate", academy),
        "spent": -postings(year, teacher, "purchase", academy),
        "refunded": postings(year, teacher, "refund", academy),
        "expired": -postings(year, teacher, "expire", academy),
        "pool": postings(year, pool, None, academy),
        "teachers": postings(year, teacher, None, academy),
    }


def teachers(academy: str | None = None) -> int:
    """People holding the teacher role in a school (of the academy)."""
    return _scalar(
        f"""
        SELECT COUNT(DISTINCT rg.user_id)
        FROM role_grant rg JOIN school s ON s.id = rg.school_id
        WHERE rg.role = 'teacher' {_academy("s.academy_code", academy)}
        """,
        academy=academy,
    )


def buyers(year: str, academy: str | None = None) -> int:
    """Teachers with at least one line bought and not cancelled in the year."""
    return _scalar(
        f"""
        SELECT COUNT(DISTINCT o.teacher_id)
        FROM "order" o JOIN order_line ol ON ol.order_id = o.id
        WHERE ol.status = 'paid' AND o.school_year_code = :year
          {_academy("o.academy_code", academy)}
        """,
        year=year,
        academy=academy,
    )


# How each breakdown names its bars, and what it joins to find them.
BREAKDOWNS = {
    "vendor": ("v.legal_name", "JOIN vendor v ON v.id = ol.vendor_id"),
    "school": ("s.name || ' (' || s.uai || ')'", "JOIN school s ON s.id = o.school_id"),
    "product": ("ol.title", ""),
    "resource_type": ("pv.resource_type", "JOIN product_version pv ON pv.id = ol.version_id"),
    "discipline": (
        "d.code",
        "JOIN product_version_discipline d ON d.version_id = ol.version_id",
    ),
    "level": ("lv.code", "JOIN product_version_level lv ON lv.version_id = ol.version_id"),
}
VOCABULARIES: dict[str, vocabularies.VocabularyName] = {
    "discipline": "disciplines",
    "level": "levels",
    "resource_type": "resource_types",
}


def breakdown(year: str, dimension: str, academy: str | None = None) -> Figures:
    """Net spending (cancelled lines left out) and number of lines, per bar label."""
    label, join = BREAKDOWNS[dimension]
    rows = db.session.execute(
        text(
            f"""
            SELECT {label},
                   SUM(CASE WHEN ol.status = 'paid' THEN ol.price_cents ELSE 0 END),
                   SUM(CASE WHEN ol.status = 'paid' THEN 1 ELSE 0 END)
            FROM order_line ol JOIN "order" o ON o.id = ol.order_id {join}
            WHERE o.school_year_code = :year {_academy("o.academy_code", academy)}
            GROUP BY {label}
            """
        ),
        {"year": year, "academy": academy},
    )
    figures = {}
    for key, cents, lines in rows:
        if dimension in VOCABULARIES:
            key = vocabularies.label_of(VOCABULARIES[dimension], key)
        figures[str(key)] = (int(cents), int(lines))
    return figures


def weeks(year: str, academy: str | None = None) -> Figures:
    """Net spending and lines per week, named by its Monday (Paris time)."""
    rows = db.session.execute(
        text(
            f"""
            SELECT o.created_at, ol.status, ol.price_cents
            FROM order_line ol JOIN "order" o ON o.id = ol.order_id
            WHERE o.school_year_code = :year {_academy("o.academy_code", academy)}
            """
        ),
        {"year": year, "academy": academy},
    )
    figures: dict[str, tuple[int, int]] = {}
    for created_at, status, cents in rows:
        day = stored_moment(created_at).astimezone(PARIS_TIME).date()
        monday = str(day - timedelta(days=day.weekday()))
        net, lines = figures.get(monday, (0, 0))
        paid = status == "paid"
        figures[monday] = (net + (cents if paid else 0), lines + (1 if paid else 0))
    return figures


def month(academy: str, yyyy_mm: str) -> tuple[int, int, int]:
    """(orders placed, cents bought, cents refunded) in a month ("2026-10"), Paris days."""
    rows = db.session.execute(
        text(
            """
            SELECT o.id, o.created_at, ol.price_cents, ol.cancelled_at
            FROM order_line ol JOIN "order" o ON o.id = ol.order_id
            WHERE o.academy_code = :academy
            """
        ),
        {"academy": academy},
    )
    orders, bought, refunded = set(), 0, 0
    for order_id, created_at, cents, cancelled_at in rows:
        if _month_of(created_at) == yyyy_mm:
            orders.add(order_id)
            bought += cents
        if cancelled_at is not None and _month_of(cancelled_at) == yyyy_mm:
            refunded += cents
    return len(orders), bought, refunded


def _month_of(stored: datetime | str) -> str:
    return stored_moment(stored).astimezone(PARIS_TIME).strftime("%Y-%m")
