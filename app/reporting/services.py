"""Dashboards: the figures of a school year, for an academy or the whole country.

The dashboards read :class:`SpendingSummary`, a small table rebuilt by :func:`refresh`
from the ledger's postings and the orders with a handful of ``INSERT … SELECT …
GROUP BY`` statements. Reading it costs a few index lookups whatever the size of the
country; the figures are as of the last refresh (shown on the page), which a job
repeats when a dashboard is opened and the figures are older than
``REPORTING_MAX_AGE_SECONDS``. A year never summed yet is summed at once, in the request
(see app/reporting/routes.py): a page never shows zeros that are not true.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    delete,
    distinct,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from app.accounts.models import Role, RoleGrant, User
from app.budgets.models import Academy, Allocation, School, SchoolYear
from app.budgets.services import remaining_cents, school_year_code
from app.core import dates, exports, jobs, replica, schedule
from app.core.dates import PARIS
from app.core.db import is_postgres, utcnow
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.ledger.models import (
    TEACHER_SIDE_KINDS,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Posting,
)
from app.orders.models import Order, OrderLine, OrderLineStatus
from app.pooled_purchases.models import PooledPurchase, PooledShare
from app.products.models import (
    Product,
    ProductVersion,
    VersionDiscipline,
    VersionLevel,
    VersionStatus,
)
from app.reporting.models import NATIONAL, SpendingSummary
from app.vendors.models import Vendor
from catalog import vocabularies

REFRESH = "reporting.refresh"
TOP = 10
LEDGER_KEYS = ("received", "allocated", "spent", "refunded", "expired", "pool", "teachers")


# --- rebuilding the summary ---------------------------------------------------------------


def _week(created_at: Any) -> Any:
    """The Monday of an order's week, as 'YYYY-MM-DD' (Paris time on PostgreSQL)."""
    if is_postgres(db.session):
        local = func.timezone("Europe/Paris", created_at)
        return func.to_char(func.date_trunc("week", local), "YYYY-MM-DD")
    return func.date(created_at, "-6 days", "weekday 1")


def _insert(rows: Any) -> None:
    columns = [
        "school_year_code",
        "academy_code",
        "dimension",
        "key",
        "amount_cents",
        "refunded_cents",
        "count",
        "refreshed_at",
    ]
    db.session.execute(insert(SpendingSummary).from_select(columns, rows))


def _spending(year: str, dimension: str, key: Any, *joins: tuple[Any, Any]) -> Any:
    refunded = case((OrderLine.status == OrderLineStatus.CANCELLED, OrderLine.price_cents), else_=0)
    query = (
        select(
            literal(year),
            Order.academy_code,
            literal(dimension),
            cast(key, String),
            func.sum(OrderLine.price_cents),
            func.sum(refunded),
            func.sum(case((OrderLine.status == OrderLineStatus.PAID, 1), else_=0)),
            literal(utcnow()),
        )
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
    )
    for table, on in joins:
        query = query.join(table, on)
    return query.where(Order.school_year_code == year).group_by(Order.academy_code, key)


def refresh(school_year: str) -> None:
    """Rebuild the summary of a school year (one transaction: readers see the old figures
    until it commits)."""
    now = utcnow()
    db.session.execute(
        delete(SpendingSummary).where(SpendingSummary.school_year_code == school_year)
    )
    version = (ProductVersion, ProductVersion.id == OrderLine.version_id)
    for dimension, key, joins in (
        ("week", _week(Order.created_at), ()),
        ("vendor", OrderLine.vendor_id, ()),
        ("product", OrderLine.product_id, ()),
        ("school", Order.school_id, ()),
        ("resource_type", ProductVersion.resource_type, (version,)),
        (
            "discipline",
            VersionDiscipline.code,
            ((VersionDiscipline, VersionDiscipline.version_id == OrderLine.version_id),),
        ),
        (
            "level",
            VersionLevel.code,
            ((VersionLevel, VersionLevel.version_id == OrderLine.version_id),),
        ),
    ):
        _insert(_spending(school_year, dimension, key, *joins))
    _insert_ledger(school_year, now)
    national = (
        select(
            SpendingSummary.school_year_code,
            literal(NATIONAL),
            SpendingSummary.dimension,
            SpendingSummary.key,
            func.sum(SpendingSummary.amount_cents),
            func.sum(SpendingSummary.refunded_cents),
            func.sum(SpendingSummary.count),
            literal(now),
        )
        .where(SpendingSummary.school_year_code == school_year)
        .group_by(SpendingSummary.school_year_code, SpendingSummary.dimension, SpendingSummary.key)
    )
    _insert(national)
    _insert_people(school_year, now)
    if is_postgres(db.session):  # fresh statistics, or the planner thinks the table empty
        db.session.execute(text("ANALYZE spending_summary"))
    # Dates the refresh even when nothing has happened yet in the year.
    db.session.add(
        SpendingSummary(
            school_year_code=school_year,
            academy_code=NATIONAL,
            dimension="refresh",
            key="",
            amount_cents=0,
            refunded_cents=0,
            count=0,
            refreshed_at=now,
        )
    )
    db.session.flush()


def _insert_ledger(year: str, now: datetime) -> None:
    """Received, allocated, spent, refunded, expired: from the postings of the academies'
    accounts; what is left: from the guarded balances."""
    incoming = Posting.amount_cents > literal_column("0")  # one text in SELECT and GROUP BY
    flows = db.session.execute(
        select(
            LedgerAccount.academy_code,
            LedgerAccount.kind,
            JournalEntry.kind,
            incoming,
            func.sum(Posting.amount_cents),
        )
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(LedgerAccount.school_year_code == year, LedgerAccount.academy_code.is_not(None))
        .group_by(
            LedgerAccount.academy_code,
            LedgerAccount.kind,
            JournalEntry.kind,
            incoming,
        )
    ).all()
    balances = db.session.execute(
        select(
            LedgerAccount.academy_code, LedgerAccount.kind, func.sum(LedgerAccount.balance_cents)
        )
        .where(LedgerAccount.school_year_code == year, LedgerAccount.academy_code.is_not(None))
        .group_by(LedgerAccount.academy_code, LedgerAccount.kind)
    ).all()
    figures: dict[str, dict[str, int]] = {}
    pool = AccountKind.ACADEMY_POOL
    for academy, account_kind, entry_kind, credit, total in flows:
        teachers_side = account_kind in TEACHER_SIDE_KINDS
        row = figures.setdefault(str(academy), dict.fromkeys(LEDGER_KEYS, 0))
        cents = int(total)
        # A reversal taking money out of a pool cancels a funding; one putting money
        # back cancels an allocation.
        if account_kind == pool and (
            entry_kind == EntryKind.FUND or (entry_kind == EntryKind.REVERSAL and not credit)
        ):
            row["received"] += cents
        elif account_kind == pool and (
            entry_kind == EntryKind.ALLOCATE or (entry_kind == EntryKind.REVERSAL and credit)
        ):
            row["allocated"] -= cents
        elif teachers_side and entry_kind == EntryKind.PURCHASE:
            row["spent"] -= cents
        elif teachers_side and entry_kind == EntryKind.REFUND:
            row["refunded"] += cents
        elif teachers_side and entry_kind == EntryKind.EXPIRE:
            row["expired"] -= cents
    for academy, account_kind, balance in balances:
        row = figures.setdefault(str(academy), dict.fromkeys(LEDGER_KEYS, 0))
        if account_kind == pool:
            row["pool"] += int(balance or 0)
        elif account_kind in TEACHER_SIDE_KINDS:
            row["teachers"] += int(balance or 0)
    db.session.add_all(
        SpendingSummary(
            school_year_code=year,
            academy_code=academy,
            dimension="ledger",
            key=key,
            amount_cents=cents,
            refunded_cents=0,
            count=0,
            refreshed_at=now,
        )
        for academy, row in figures.items()
        for key, cents in row.items()
    )
    db.session.flush()


def _insert_people(year: str, now: datetime) -> None:
    """Teachers and buyers per academy, and for the country counted once each (a teacher
    of two academies is one person)."""
    teachers = (
        select(func.count(distinct(RoleGrant.user_id)))
        .join(School, School.id == RoleGrant.school_id)
        .where(RoleGrant.role == Role.TEACHER)
    )
    # A buyer paid for a line still paid: the teacher the order names, or one who paid a
    # share of a completed pooled purchase (its order names only one of them).
    paid = and_(OrderLine.order_id == Order.id, OrderLine.status == OrderLineStatus.PAID)
    payers = union_all(
        select(Order.teacher_id, Order.academy_code)
        .join(OrderLine, paid)
        .where(Order.school_year_code == year),
        select(PooledShare.teacher_id, Order.academy_code)
        .join(PooledPurchase, PooledPurchase.id == PooledShare.pooled_purchase_id)
        .join(Order, Order.id == PooledPurchase.order_id)
        .join(OrderLine, paid)
        .where(Order.school_year_code == year, PooledShare.withdrawn_at.is_(None)),
    ).subquery()
    buyers = select(func.count(distinct(payers.c.teacher_id)))
    queries: list[tuple[str, Any]] = []
    for key, query, academy in (
        ("teachers", teachers, School.academy_code),
        ("buyers", buyers, payers.c.academy_code),
    ):
        queries.append((key, query.add_columns(academy).group_by(academy)))
        queries.append((key, query.add_columns(literal(NATIONAL))))
    for key, query in queries:
        db.session.add_all(
            SpendingSummary(
                school_year_code=year,
                academy_code=academy,
                dimension="people",
                key=key,
                amount_cents=0,
                refunded_cents=0,
                count=int(count),
                refreshed_at=now,
            )
            for count, academy in db.session.execute(query)
        )
    db.session.flush()


@jobs.handler(
    REFRESH,
    describe=lambda payload: gettext(
        "Mise à jour des tableaux de bord %(year)s", year=payload["school_year"]
    ),
)
def _refresh_job(payload: dict[str, Any]) -> None:
    refresh(str(payload["school_year"]))


def refreshing(school_year: str) -> bool:
    """Whether a refresh of the year's figures is queued or running."""
    found = db.session.scalar(
        select(Job.id)
        .where(
            Job.kind == REFRESH,
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            Job.key.like(f"reporting:{school_year}:%"),
        )
        .limit(1)
    )
    return found is not None


def refresh_soon(school_year: str) -> None:
    """Queue a refresh (at most one per period: the key is the period's number)."""
    period = int(current_app.config["REPORTING_MAX_AGE_SECONDS"])
    bucket = int(clock.time() // period)
    jobs.enqueue(REFRESH, {"school_year": school_year}, key=f"reporting:{school_year}:{bucket}")


@schedule.task("reporting.refresh", "0 * * * *", _l("Mise à jour des tableaux de bord"))
def refresh_current_year() -> None:
    """The figures of the current school year, rebuilt every hour even when nobody opens
    a dashboard (opening one also queues a refresh when they are older than
    ``REPORTING_MAX_AGE_SECONDS``)."""
    refresh(school_year_code(dates.today()))


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    cents: int
    count: int = 0


@dataclass(frozen=True)
class Ranking:
    """The first bars of a dimension, then the rest grouped."""

    bars: list[Bar]
    rest_cents: int
    rest_count: int

    @property
    def total_cents(self) -> int:
        return sum(bar.cents for bar in self.bars) + self.rest_cents

    @property
    def with_rest(self) -> list[Bar]:
        if not self.rest_cents:
            return self.bars
        return [*self.bars, Bar("Autres", self.rest_cents, self.rest_count)]


@dataclass(frozen=True)
class Dashboard:
    school_year: str
    academy_code: str
    refreshed_at: datetime | None
    ledger: dict[str, int]
    teachers: int
    buyers: int
    rankings: dict[str, Ranking] = field(default_factory=dict)
    weeks: list[Bar] = field(default_factory=list)
    refreshing: bool = False  # a refresh of these (existing) figures is queued or running

    @property
    def remaining_cents(self) -> int:
        """« Restant », as defined once by :func:`app.budgets.services.remaining_cents`."""
        return remaining_cents(self.ledger.get("pool", 0), self.ledger.get("teachers", 0))

    @property
    def buyers_share(self) -> float:
        return self.buyers / self.teachers if self.teachers else 0.0

    @property
    def net_spent_cents(self) -> int:
        return self.ledger.get("spent", 0) - self.ledger.get("refunded", 0)


DIMENSIONS = ("discipline", "level", "resource_type", "vendor", "school", "product")
# The dimensions whose keys are codes of a catalogue vocabulary.
VOCABULARIES: dict[str, vocabularies.VocabularyName] = {
    "discipline": "disciplines",
    "level": "levels",
    "resource_type": "resource_types",
}


def _rows(year: str, academy: str, dimension: str) -> Any:
    return select(SpendingSummary).where(
        SpendingSummary.school_year_code == year,
        SpendingSummary.academy_code == academy,
        SpendingSummary.dimension == dimension,
    )


def _ranking(session: Session, year: str, academy: str, dimension: str) -> Ranking:
    net = SpendingSummary.amount_cents - SpendingSummary.refunded_cents
    top = list(
        session.scalars(
            _rows(year, academy, dimension).order_by(net.desc(), SpendingSummary.key).limit(TOP)
        )
    )
    totals = session.execute(
        select(
            func.coalesce(func.sum(net), 0), func.coalesce(func.sum(SpendingSummary.count), 0)
        ).where(
            SpendingSummary.school_year_code == year,
            SpendingSummary.academy_code == academy,
            SpendingSummary.dimension == dimension,
        )
    ).one()
    labels = _labels(session, dimension, [row.key for row in top])
    bars = [
        Bar(labels.get(row.key, row.key), row.amount_cents - row.refunded_cents, row.count)
        for row in top
    ]
    rest_cents = int(totals[0]) - sum(bar.cents for bar in bars)
    rest_count = int(totals[1]) - sum(bar.count for bar in bars)
    return Ranking(bars, rest_cents, rest_count)


def _labels(session: Session, dimension: str, keys: list[str]) -> dict[str, str]:
    if dimension in VOCABULARIES:
        vocabulary = VOCABULARIES[dimension]
        return {key: vocabularies.label_of(vocabulary, key) or key for key in keys}
    ids = [int(key) for key in keys if key.isdigit()]
    if dimension == "vendor":
        rows = session.execute(select(Vendor.id, Vendor.legal_name).where(Vendor.id.in_(ids)))
    elif dimension == "school":
        rows = session.execute(
            select(School.id, School.name + " (" + School.uai + ")").where(School.id.in_(ids))
        )
    elif dimension == "product":
        latest = (
            select(ProductVersion.product_id, func.max(ProductVersion.number).label("number"))
            .where(ProductVersion.product_id.in_(ids))
            .group_by(ProductVersion.product_id)
            .subquery()
        )
        rows = session.execute(
            select(ProductVersion.product_id, ProductVersion.title).join(
                latest,
                and_(
                    latest.c.product_id == ProductVersion.product_id,
                    latest.c.number == ProductVersion.number,
                ),
            )
        )
    else:
        return {}
    return {str(key): str(label) for key, label in rows}


def dashboard(
    school_year: str, academy_code: str = NATIONAL, *, primary: bool = False
) -> Dashboard:
    """The figures of an academy (or of the country, ``*``) for a school year; read on the
    replica, or with `primary` on the primary (just after a refresh the replica may not
    have caught up)."""
    if primary:
        return _dashboard(db.session(), school_year, academy_code)
    with replica.reads() as session:
        return _dashboard(session, school_year, academy_code)


def _dashboard(session: Session, school_year: str, academy_code: str) -> Dashboard:
    ledger_rows = session.scalars(_rows(school_year, academy_code, "ledger")).all()
    people = {
        row.key: row.count for row in session.scalars(_rows(school_year, academy_code, "people"))
    }
    weeks = [
        Bar(row.key, row.amount_cents - row.refunded_cents, row.count)
        for row in session.scalars(
            _rows(school_year, academy_code, "week").order_by(SpendingSummary.key)
        )
    ]
    marker = session.get(SpendingSummary, (school_year, NATIONAL, "refresh", ""))
    return Dashboard(
        school_year=school_year,
        academy_code=academy_code,
        refreshed_at=marker.refreshed_at if marker is not None else None,
        ledger={row.key: row.amount_cents for row in ledger_rows},
        teachers=people.get("teachers", 0),
        buyers=people.get("buyers", 0),
        rankings={
            dimension: _ranking(session, school_year, academy_code, dimension)
            for dimension in DIMENSIONS
        },
        weeks=weeks,
    )


@dataclass(frozen=True)
class AcademyRow:
    academy: Academy
    ledger: dict[str, int]
    teachers: int
    buyers: int

    @property
    def remaining_cents(self) -> int:
        """« Restant », as defined once by :func:`app.budgets.services.remaining_cents`."""
        return remaining_cents(self.ledger.get("pool", 0), self.ledger.get("teachers", 0))


@dataclass(frozen=True)
class CatalogueFigures:
    listed: int
    in_review: int
    refused: int
    expiring: int  # labels ending in the next 90 days


def academies_side_by_side(school_year: str) -> list[AcademyRow]:
    with replica.reads() as session:
        rows = session.scalars(
            select(SpendingSummary)
            .join(Academy, Academy.code == SpendingSummary.academy_code)  # by key, not `!= '*'`
            .where(
                SpendingSummary.school_year_code == school_year,
                SpendingSummary.dimension.in_(["ledger", "people"]),
            )
        ).all()
        academies = session.scalars(select(Academy).order_by(Academy.code)).all()
    ledger: dict[str, dict[str, int]] = {}
    people: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.dimension == "ledger":
            ledger.setdefault(row.academy_code, {})[row.key] = row.amount_cents
        else:
            people.setdefault(row.academy_code, {})[row.key] = row.count
    return [
        AcademyRow(
            a,
            ledger.get(a.code, {}),
            people.get(a.code, {}).get("teachers", 0),
            people.get(a.code, {}).get("buyers", 0),
        )
        for a in academies
    ]


def catalogue_figures(on: date) -> CatalogueFigures:
    with replica.reads() as session:
        active = Vendor.status == "active"
        listed = session.scalar(
            select(func.count())
            .select_from(ProductVersion)
            .join(Product, Product.id == ProductVersion.product_id)
            .join(Vendor, Vendor.id == Product.vendor_id)
            .where(ProductVersion.listed, ProductVersion.label_expires_on >= on, active)
        )
        by_status = {
            status: int(count)
            for status, count in session.execute(
                select(ProductVersion.status, func.count())
                .where(ProductVersion.status.in_([VersionStatus.IN_REVIEW, VersionStatus.REJECTED]))
                .group_by(ProductVersion.status)
            )
        }
        expiring = session.scalar(
            select(func.count())
            .select_from(ProductVersion)
            .where(
                ProductVersion.listed,
                ProductVersion.label_expires_on >= on,
                ProductVersion.label_expires_on <= on + timedelta(days=90),
            )
        )
    return CatalogueFigures(
        listed=int(listed or 0),
        in_review=int(by_status.get(VersionStatus.IN_REVIEW, 0)),
        refused=int(by_status.get(VersionStatus.REJECTED, 0)),
        expiring=int(expiring or 0),
    )


# --- exports and the monthly report ------------------------------------------------------


def _bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """From the start of `since` to the end of `until`, Paris time."""
    start = datetime.combine(since, time(0), tzinfo=PARIS)
    return start, datetime.combine(until + timedelta(days=1), time(0), tzinfo=PARIS)


def allocation_rows(academy_code: str, since: date, until: date) -> Iterator[list[object]]:
    """Every credit given to a teacher of the academy in the period (one row per teacher
    and allocation), oldest first, with the allocation's number and how it was made."""
    start, end = _bounds(since, until)
    yield [
        gettext("Date"),
        gettext("Répartition"),
        gettext("Méthode"),
        gettext("Enseignant"),
        gettext("Montant (€)"),
    ]
    query = (
        select(
            JournalEntry.created_at,
            Allocation.id,
            Allocation.method,
            User.email,
            Posting.amount_cents,
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .join(User, User.id == LedgerAccount.user_id)
        .join(  # the entry's reference is the allocation's, `allocation:<id>`
            Allocation,
            JournalEntry.reference == literal("allocation:") + cast(Allocation.id, String),
        )
        .where(
            JournalEntry.kind == EntryKind.ALLOCATE,
            JournalEntry.created_at >= start,
            JournalEntry.created_at < end,
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.academy_code == academy_code,
        )
        .order_by(JournalEntry.id, Posting.id)
        .execution_options(yield_per=5000)
    )
    with replica.reads() as session:
        for created_at, allocation_id, method, email, cents in session.execute(query):
            yield [
                _local(created_at),
                exports.identifier(str(allocation_id)),
                method.label,
                email,
                _euros(cents),
            ]


def purchase_rows(
    academy_code: str, since: date, until: date, *, refunds: bool = False
) -> Iterator[list[object]]:
    """The order lines bought (or, with `refunds`, cancelled) in the period."""
    start, end = _bounds(since, until)
    moment = OrderLine.cancelled_at if refunds else Order.created_at
    yield [
        gettext("Date"),
        gettext("Commande"),
        gettext("UAI"),
        gettext("Enseignant"),
        gettext("Ressource"),
        gettext("Éditeur"),
        gettext("Offre"),
        gettext("Montant (€)"),
        gettext("Statut"),
    ]
    query = (
        select(moment, Order, OrderLine, School.uai, User.email, Vendor.legal_name)
        .join(Order, Order.id == OrderLine.order_id)
        .join(School, School.id == Order.school_id)
        .join(User, User.id == Order.teacher_id)
        .join(Vendor, Vendor.id == OrderLine.vendor_id)
        .where(Order.academy_code == academy_code, moment >= start, moment < end)
        .order_by(moment, OrderLine.id)
        .execution_options(yield_per=5000)
    )
    with replica.reads() as session:
        for at, order, line, uai, email, vendor in session.execute(query):
            yield [
                _local(at),
                exports.identifier(order.number),
                exports.identifier(uai),
                email,
                line.title,
                vendor,
                line.plan_kind.label,
                _euros(line.price_cents),
                line.status.label,
            ]


def _local(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") if moment else ""


def _euros(cents: int) -> str:
    return f"{cents / 100:.2f}".replace(".", ",")


@dataclass(frozen=True)
class PeriodFigures:
    since: date
    until: date
    bought_cents: int  # order lines bought in the period (before refunds)
    refunded_cents: int  # order lines cancelled in the period
    orders: int


def period_figures(academy_code: str, since: date, until: date) -> PeriodFigures:
    """The academy's orders placed and lines cancelled from `since` to `until` (Paris days)."""
    start, end = _bounds(since, until)
    with replica.reads() as session:
        bought = session.execute(
            select(
                func.coalesce(func.sum(OrderLine.price_cents), 0), func.count(distinct(Order.id))
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                Order.academy_code == academy_code,
                Order.created_at >= start,
                Order.created_at < end,
            )
        ).one()
        refunded = session.scalar(
            select(func.coalesce(func.sum(OrderLine.price_cents), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                Order.academy_code == academy_code,
                OrderLine.cancelled_at >= start,
                OrderLine.cancelled_at < end,
            )
        )
    return PeriodFigures(since, until, int(bought[0]), int(refunded or 0), int(bought[1]))


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last days of `month`."""
    first = month.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def month_figures(academy_code: str, month: date) -> PeriodFigures:
    return period_figures(academy_code, *month_bounds(month))


def school_years(today: date) -> list[str]:
    """The school years a dashboard can show, latest first: those known (funded or
    allocated once) and the current one."""
    known = set(db.session.scalars(select(SchoolYear.code)))
    return sorted(known | {school_year_code(today)}, reverse=True)
