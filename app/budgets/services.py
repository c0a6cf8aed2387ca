"""Academies, schools and school years. Functions flush, never commit."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, cast, except_, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app import mail, notifications
from app.accounts import services as accounts
from app.accounts.models import Role, RoleGrant, User
from app.budgets import allocation_file
from app.budgets.allocation_file import ParsedFile
from app.budgets.allocation_file import parse as parse_allocation_file
from app.budgets.models import (
    Academy,
    Allocation,
    AllocationMethod,
    PoolThreshold,
    School,
    SchoolYear,
)
from app.core import audit, dates, jobs, schedule
from app.core.db import AnySelect, integer_rows, is_postgres, text_rows, utcnow
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.jobs import Job
from app.core.limits import upload_lines
from app.core.money import InvalidAmount, format_euros, parse_euros
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import (
    TEACHER_SIDE_KINDS,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Posting,
)
from app.ledger.services import InsufficientFunds, YearClosed
from app.orders.models import Order
from app.pooled_purchases.models import PooledPurchase
from catalog import vocabularies
from catalog.identifiers import is_valid_uai, make_uai, normalize_uai

SCHOOL_YEAR_START_MONTH = 9  # a school year runs from 1 September to 31 August


def school_year_code(day: date) -> str:
    """The school year `day` belongs to: 2026-09-01 → "2026-2027", 2027-08-31 → "2026-2027"."""
    first = day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1
    return f"{first}-{first + 1}"


def ensure_school_year(code: str) -> SchoolYear:
    """The school year `code` ("2026-2027"), created on first use."""
    year = db.session.get(SchoolYear, code)
    if year is not None:
        return year
    first, _, second = code.partition("-")
    if not (first.isdigit() and second.isdigit() and int(second) == int(first) + 1):
        raise ValidationFailed(
            f"Année scolaire invalide : {code!r} (format attendu : 2026-2027).",
            details={"school_year": ["format attendu : 2026-2027"]},
        )
    year = SchoolYear(code=code, starts_on=date(int(first), 9, 1), ends_on=date(int(second), 8, 31))
    db.session.add(year)
    db.session.flush()
    return year


def sync_academies() -> int:
    """Create or rename the academies from the catalogue's reference list; returns changes."""
    existing = {academy.code: academy for academy in db.session.scalars(select(Academy))}
    changes = 0
    for reference in vocabularies.academies():
        academy = existing.get(reference.code)
        if academy is None:
            db.session.add(
                Academy(
                    code=reference.code, name=reference.name, email_domain=reference.email_domain
                )
            )
            changes += 1
        elif (academy.name, academy.email_domain) != (reference.name, reference.email_domain):
            academy.name, academy.email_domain = reference.name, reference.email_domain
            changes += 1
    db.session.flush()
    return changes


def get_academy(code: str) -> Academy:
    academy = db.session.get(Academy, code)
    if academy is None:
        raise NotFound(f"Académie inconnue : {code}.")
    return academy


def create_school(uai: str, name: str, kind: str, city: str, academy: Academy) -> School:
    """A school with a valid UAI (7 digits and the right check letter) and a known kind."""
    uai = normalize_uai(uai)
    errors: dict[str, list[str]] = {}
    if not is_valid_uai(uai):
        errors["uai"] = ["UAI invalide : 7 chiffres suivis de la bonne lettre de contrôle"]
    if kind not in {school_kind.code for school_kind in vocabularies.school_kinds()}:
        errors["kind"] = [f"type d'établissement inconnu : {kind}"]
    if not name.strip():
        errors["name"] = ["le nom est obligatoire"]
    if errors:
        raise ValidationFailed("L'établissement n'a pas été créé.", details=errors)
    school = School(uai=uai, name=name.strip(), kind=kind, city=city.strip(), academy=academy)
    db.session.add(school)
    db.session.flush()
    return school


def academy_summaries() -> list[tuple[Academy, int, int]]:
    """Each academy with its number of schools and of teachers, in ministry code order."""
    schools = (
        select(School.academy_code, func.count(School.id).label("n"))
        .group_by(School.academy_code)
        .subquery()
    )
    teachers = (
        select(School.academy_code, func.count(func.distinct(RoleGrant.user_id)).label("n"))
        .join(RoleGrant, RoleGrant.school_id == School.id)
        .where(RoleGrant.role == Role.TEACHER)
        .group_by(School.academy_code)
        .subquery()
    )
    query = (
        select(Academy, func.coalesce(schools.c.n, 0), func.coalesce(teachers.c.n, 0))
        .outerjoin(schools, schools.c.academy_code == Academy.code)
        .outerjoin(teachers, teachers.c.academy_code == Academy.code)
        .order_by(Academy.code)
    )
    return [
        (academy, n_schools, n_teachers)
        for academy, n_schools, n_teachers in db.session.execute(query)
    ]


# --- funding -----------------------------------------------------------------------------


REASON_MAX_LENGTH = 200  # characters of a funding's or a reversal's reason


def _funding_reference(academy_code: str, school_year: str) -> str:
    return f"academy:{academy_code}:{school_year}"


def fund_academy(
    actor: User | None,
    academy_code: str,
    school_year: str,
    cents: int,
    idempotency_key: str,
    reason: str = "",
) -> JournalEntry:
    """The national operator gives an academy its budget for a school year; `reason`
    (optional) is kept as the entry's memo."""
    academy = get_academy(academy_code)
    year = ensure_school_year(school_year)
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed(
            f"Le motif dépasse {REASON_MAX_LENGTH} caractères.",
            details={"reason": [f"{REASON_MAX_LENGTH} caractères au plus"]},
        )
    entry = ledger.transfer(
        ledger.national_funding(year.code),
        ledger.academy_pool(academy.code, year.code),
        cents,
        kind=EntryKind.FUND,
        idempotency_key=idempotency_key,
        reference=_funding_reference(academy.code, year.code),
        actor=actor,
        memo=reason or f"Dotation {year.code} de l'académie de {academy.name}",
    )
    if not entry.replayed:
        audit.record(
            actor,
            "academy.funded",
            "academy",
            academy.code,
            school_year=year.code,
            amount_cents=cents,
            entry_id=entry.id,
        )
    return entry


@dataclass(frozen=True)
class Funding:
    """One funding of an academy for a year, and its reversal when it was corrected."""

    entry: JournalEntry
    cents: int
    author: User | None
    reversal: JournalEntry | None
    reversal_author: User | None

    @property
    def reason(self) -> str:
        return self.entry.memo

    @property
    def reversal_reason(self) -> str:
        return self.reversal.memo if self.reversal is not None else ""


def funding_history(academy_code: str, school_year: str) -> list[Funding]:
    """Every funding of the academy for the year, newest first, each with its reversal."""
    academy = get_academy(academy_code)
    reversal = aliased(JournalEntry)
    author = aliased(User)
    reversal_author = aliased(User)
    pool_posting = aliased(Posting)
    rows = db.session.execute(
        select(JournalEntry, pool_posting.amount_cents, author, reversal, reversal_author)
        .join(pool_posting, pool_posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == pool_posting.account_id)
        .outerjoin(author, author.id == JournalEntry.created_by)
        .outerjoin(reversal, reversal.reverses_id == JournalEntry.id)
        .outerjoin(reversal_author, reversal_author.id == reversal.created_by)
        .where(
            JournalEntry.kind == EntryKind.FUND,
            JournalEntry.reference == _funding_reference(academy.code, school_year),
            LedgerAccount.kind == AccountKind.ACADEMY_POOL,
        )
        .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
    )
    return [
        Funding(entry, int(cents), who, undo, undo_by) for entry, cents, who, undo, undo_by in rows
    ]


def reverse_funding(actor: User, academy_code: str, entry_id: int, reason: str) -> JournalEntry:
    """Correct a mistaken funding with a reversal entry (the funding itself never changes):
    the amount goes back from the academy's pool to the national funding.

    The reason is required. Refused when the pool no longer holds the amount (it was
    allocated to teachers meanwhile): the guarded debit of the ledger decides. Reversing
    the same funding again returns the first reversal (`replayed`) and moves nothing."""
    academy = get_academy(academy_code)
    entry = db.session.get(JournalEntry, entry_id)
    if (
        entry is None
        or entry.kind != EntryKind.FUND
        or not entry.reference.startswith(f"academy:{academy.code}:")
    ):
        raise NotFound(f"Dotation introuvable pour l'académie de {academy.name}.")
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(
            "Indiquez le motif de l'annulation.", details={"reason": ["le motif est obligatoire"]}
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed(
            f"Le motif dépasse {REASON_MAX_LENGTH} caractères.",
            details={"reason": [f"{REASON_MAX_LENGTH} caractères au plus"]},
        )
    cents = next(p.amount_cents for p in entry.postings if p.amount_cents > 0)
    before = pool_balance(academy.code, _funding_year(entry))
    try:
        reversal = ledger.reverse(entry, actor=actor, memo=reason)
    except InsufficientFunds:
        pool = pool_balance(academy.code, _funding_year(entry))
        raise InsufficientFunds(
            f"Cette dotation de {format_euros(cents)} ne peut plus être annulée : l'enveloppe "
            f"de l'académie de {academy.name} ne contient plus que {format_euros(pool)}, "
            "le reste a déjà été réparti aux enseignants.",
            details={"amount": [f"Il manque {format_euros(cents - pool)} dans l'enveloppe."]},
        ) from None
    if not reversal.replayed:
        audit.record(
            actor,
            "academy.funding_reversed",
            "academy",
            academy.code,
            school_year=_funding_year(entry),
            amount_cents=cents,
            entry_id=entry.id,
            reversal_id=reversal.id,
            reason=reason,
        )
        tell_if_pool_low(academy.code, _funding_year(entry), before, f"reversal:{reversal.id}")
    return reversal


def _funding_year(entry: JournalEntry) -> str:
    return entry.reference.rsplit(":", 1)[1]


def pool_balance(academy_code: str, school_year: str) -> int:
    return ledger.balance(ledger.academy_pool(academy_code, school_year))


# --- the pool's alert threshold ---------------------------------------------------------

THRESHOLD_MAX_CENTS = 1_000_000_000_00  # a billion euros: beyond, a typing mistake


def pool_threshold(academy_code: str, school_year: str) -> PoolThreshold | None:
    return db.session.get(PoolThreshold, (academy_code, school_year))


def set_pool_threshold(
    actor: User, academy_code: str, school_year: str, amount: str
) -> PoolThreshold | None:
    """Set (or, with an empty amount, remove) the amount under which the academy's
    managers are told that its pool for `school_year` runs low. Returns the threshold."""
    academy = get_academy(academy_code)
    year = ensure_school_year(school_year)
    found = pool_threshold(academy.code, year.code)
    if not amount.strip():
        if found is not None:
            db.session.delete(found)
            db.session.flush()
            audit.record(
                actor,
                "academy.pool_threshold_removed",
                "academy",
                academy.code,
                school_year=year.code,
            )
        return None
    try:
        cents = parse_euros(amount)
    except InvalidAmount as error:
        raise ValidationFailed(
            f"Seuil d'alerte de l'enveloppe : {error}.", details={"threshold": [str(error)]}
        ) from None
    if cents <= 0 or cents > THRESHOLD_MAX_CENTS:
        reason = f"un montant entre 0,01 € et {format_euros(THRESHOLD_MAX_CENTS)}"
        raise ValidationFailed(
            f"Seuil d'alerte de l'enveloppe : indiquez {reason}.", details={"threshold": [reason]}
        )
    if found is None:
        found = PoolThreshold(academy_code=academy.code, school_year_code=year.code)
        db.session.add(found)
    found.threshold_cents = cents
    found.updated_by = actor.id
    db.session.flush()
    audit.record(
        actor,
        "academy.pool_threshold_set",
        "academy",
        academy.code,
        school_year=year.code,
        threshold_cents=cents,
    )
    return found


def tell_if_pool_low(academy_code: str, school_year: str, before: int, crossing: str) -> None:
    """After a debit of the pool (an allocation, a funding reversed): when it took the pool
    from at or above the managers' threshold to below it, tell every manager of the
    academy, once for this crossing (`crossing` names the debit). A debit while the pool is
    already below tells nothing: the alert is re-armed by the pool going back above."""
    threshold = pool_threshold(academy_code, school_year)
    if threshold is None:
        return
    after = pool_balance(academy_code, school_year)
    if not before >= threshold.threshold_cents > after:
        return
    managers = db.session.scalars(
        select(RoleGrant.user_id).where(
            RoleGrant.role == Role.ACADEMY_MANAGER, RoleGrant.academy_code == academy_code
        )
    )
    notifications.notify(
        "pool_low",
        {
            "academy": academy_code,
            "year": school_year,
            "threshold": threshold.threshold_cents,
            "pool": after,
        },
        users=list(managers),
        key=f"pool-low:{academy_code}:{school_year}:{crossing}",
    )


@dataclass(frozen=True)
class BudgetSummary:
    """An academy's money for one school year, from the ledger's postings."""

    received_cents: int  # funded by the State
    allocated_cents: int  # given to teachers
    spent_cents: int  # spent by teachers (purchases)
    refunded_cents: int  # given back to teachers (cancellations)
    expired_cents: int  # unspent credit returned to the pool at year closing
    pool_cents: int  # left in the academy's pool
    teachers_cents: int  # left on teachers' accounts


def budget_summary(academy_code: str, school_year: str) -> BudgetSummary:
    # A reversal counts as a negative movement of the kind it reverses (a funding
    # corrected is money not received).
    reversed_ = aliased(JournalEntry)
    kind = func.coalesce(reversed_.kind, JournalEntry.kind)
    rows = db.session.execute(
        select(LedgerAccount.kind, kind, func.sum(Posting.amount_cents))
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .outerjoin(reversed_, reversed_.id == JournalEntry.reverses_id)
        .where(
            LedgerAccount.academy_code == academy_code,
            LedgerAccount.school_year_code == school_year,
        )
        .group_by(LedgerAccount.kind, kind)
    ).all()
    sums = {
        (account_kind, EntryKind(entry_kind)): int(total)
        for account_kind, entry_kind, total in rows
    }

    def pool(kind: EntryKind) -> int:
        return sums.get((AccountKind.ACADEMY_POOL, kind), 0)

    def teachers(kind: EntryKind) -> int:
        return sum(sums.get((account, kind), 0) for account in TEACHER_SIDE_KINDS)

    pool_total = sum(v for (a, _), v in sums.items() if a == AccountKind.ACADEMY_POOL)
    teacher_total = sum(v for (a, _), v in sums.items() if a in TEACHER_SIDE_KINDS)
    return BudgetSummary(
        received_cents=pool(EntryKind.FUND),
        allocated_cents=-pool(EntryKind.ALLOCATE),
        spent_cents=-teachers(EntryKind.PURCHASE),
        refunded_cents=teachers(EntryKind.REFUND),
        expired_cents=pool(EntryKind.EXPIRE),
        pool_cents=pool_total,
        teachers_cents=teacher_total,
    )


def remaining_cents(pool_cents: int, teachers_cents: int) -> int:
    """« Restant »: what an academy received for a school year and has not spent yet,
    wherever it now sits: its pool (``academy_pool``, not yet given to teachers) plus the
    credit its teachers have not spent (their ``teacher_credit`` accounts, and the shares
    they reserved in pooled purchases still open: ``TEACHER_SIDE_KINDS``).

    Allocating moves money between the two and leaves it unchanged; a purchase lowers it,
    a refund raises it back. So « Restant » = received − net spent (− unspent credit
    expired out of the academy at year closing). Both the national dashboard (from the
    summary, app/reporting) and the page of the academies' fundings (live) apply this
    definition, and say it in a hint.
    """
    return pool_cents + teachers_cents


REMAINING_HINT = _l(
    "Restant : ce que l’académie a reçu et qui n’est pas encore dépensé, soit son "
    "enveloppe (reste à répartir) plus le crédit non dépensé de ses enseignants."
)


@dataclass(frozen=True)
class FundingRow:
    academy: Academy
    received_cents: int
    pool_cents: int  # left to allocate
    remaining_cents: int  # see remaining_cents()


def funding_overview(school_year: str) -> list[FundingRow]:
    """Every academy with what it received for the year, what is left in its pool and
    what is left unspent (« Restant », :func:`remaining_cents`), from the ledger."""
    reversed_ = aliased(JournalEntry)
    received = dict(
        db.session.execute(
            select(LedgerAccount.academy_code, func.sum(Posting.amount_cents))
            .join(Posting, Posting.account_id == LedgerAccount.id)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .outerjoin(reversed_, reversed_.id == JournalEntry.reverses_id)
            .where(
                LedgerAccount.kind == AccountKind.ACADEMY_POOL,
                LedgerAccount.school_year_code == school_year,
                func.coalesce(reversed_.kind, JournalEntry.kind) == EntryKind.FUND.value,
            )
            .group_by(LedgerAccount.academy_code)
        ).all()
    )
    # The guarded balances (teachers' accounts are many: one grouped sum, no postings).
    balances: dict[tuple[str, AccountKind], int] = {
        (str(code), AccountKind(kind)): int(total or 0)
        for code, kind, total in db.session.execute(
            select(
                LedgerAccount.academy_code,
                LedgerAccount.kind,
                func.sum(LedgerAccount.balance_cents),
            )
            .where(
                LedgerAccount.school_year_code == school_year,
                LedgerAccount.kind.in_([AccountKind.ACADEMY_POOL, *TEACHER_SIDE_KINDS]),
                LedgerAccount.academy_code.is_not(None),
            )
            .group_by(LedgerAccount.academy_code, LedgerAccount.kind)
        )
    }
    rows = []
    for academy in db.session.scalars(select(Academy).order_by(Academy.code)):
        pool = balances.get((academy.code, AccountKind.ACADEMY_POOL), 0)
        teachers = sum(balances.get((academy.code, kind), 0) for kind in TEACHER_SIDE_KINDS)
        rows.append(
            FundingRow(
                academy,
                int(received.get(academy.code) or 0),
                pool,
                remaining_cents(pool, teachers),
            )
        )
    return rows


# --- allocation to teachers -------------------------------------------------------------

ALLOCATION_CHUNK = 100_000  # teachers per journal entry when allocating by rule


@dataclass
class FilePreview:
    """What a file would allocate, with every problem found, line by line."""

    parsed: ParsedFile
    pool_cents: int
    allocation: Allocation | None = None  # saved, ready to confirm, when the file is valid

    @property
    def valid(self) -> bool:
        return self.parsed.valid


@dataclass(frozen=True)
class Rule:
    """The same amount to every teacher of the academy, or of some schools / school kinds."""

    cents: int
    school_ids: tuple[int, ...] = ()
    school_kinds: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "cents": self.cents,
                "school_ids": sorted(self.school_ids),
                "school_kinds": sorted(self.school_kinds),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text_: str) -> Rule:
        data = json.loads(text_)
        return cls(data["cents"], tuple(data["school_ids"]), tuple(data["school_kinds"]))


@dataclass(frozen=True)
class RulePreview:
    allocation: Allocation
    teacher_count: int  # who would receive it now
    already_served: int  # who already received it from an identical rule
    total_cents: int
    pool_cents: int
    outside_count: int = 0  # teachers left out: their address is not of the academy


@dataclass(frozen=True)
class OnePreview:
    """What a single allocation will credit, shown for confirmation before money moves."""

    allocation: Allocation
    email: str
    name: str  # the teacher's name, or the one their account will get
    registered: bool  # False: no password yet, an activation link is sent
    new_account: bool  # True: nobody has this address yet, the account is created
    school: School
    cents: int
    pool_cents: int  # in the academy's pool now

    @property
    def pool_after_cents(self) -> int:
        return self.pool_cents - self.cents

    @property
    def amount_text(self) -> str:
        """The amount as the form takes it back: "300,50"."""
        return f"{self.cents // 100},{self.cents % 100:02d}"


def _sha256(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _open_year(school_year: str) -> SchoolYear:
    year = ensure_school_year(school_year)
    if year.closed_at is not None:
        raise YearClosed(
            f"L'année scolaire {year.code} est clôturée.", details={"school_year": [year.code]}
        )
    return year


def preview_file(
    actor: User, academy_code: str, school_year: str, upload: IO[bytes]
) -> FilePreview:
    """Check an uploaded file (its stream, read line by line) as a whole; when it is valid,
    save it as an allocation to confirm."""
    academy = get_academy(academy_code)
    year = _open_year(school_year)
    parsed = parse_allocation_file(upload_lines(upload))
    pool = pool_balance(academy.code, year.code)
    _check_schools(parsed, academy)
    if parsed.valid and parsed.total_cents > pool:
        parsed.errors.append(
            f"Le total du fichier ({format_euros(parsed.total_cents)}) dépasse ce qui reste "
            f"dans l'enveloppe de l'académie ({format_euros(pool)})."
        )
    preview = FilePreview(parsed, pool)
    if not parsed.valid:
        return preview
    upload.seek(0)
    source = upload.read().decode("utf-8-sig")  # kept with the allocation, read at confirm
    digest = _sha256(academy.code, year.code, source)
    applied = db.session.scalar(
        select(Allocation).where(
            Allocation.academy_code == academy.code,
            Allocation.school_year_code == year.code,
            Allocation.method == AllocationMethod.FILE,
            Allocation.source_sha256 == digest,
            Allocation.applied_at.is_not(None),
        )
    )
    if applied is not None:
        parsed.errors.append(
            f"Ce fichier a déjà été réparti le {applied.applied_at:%d/%m/%Y à %H:%M} "
            f"(répartition n°{applied.id}) : il ne sera pas appliqué une seconde fois."
        )
        return preview
    key = f"file:{digest}"
    allocation = db.session.scalar(select(Allocation).where(Allocation.idempotency_key == key))
    if allocation is None:
        allocation = Allocation(
            academy_code=academy.code,
            school_year_code=year.code,
            method=AllocationMethod.FILE,
            idempotency_key=key,
            source=source,
            source_sha256=digest,
            # Kept with the allocation, in French whatever the manager's language.
            description=f"Fichier de {len(parsed.lines)} ligne{'s' * (len(parsed.lines) > 1)}",
            teacher_count=len(parsed.lines),
            total_cents=parsed.total_cents,
            created_by=actor.id,
        )
        allocation = _save_allocation(allocation)
    preview.allocation = allocation
    return preview


def allocation_template(academy_code: str) -> bytes:
    """The CSV template of an academy: its header and one example line with an address of
    the academy and the UAI of one of its schools."""
    academy = get_academy(academy_code)
    school = db.session.scalar(
        select(School).where(School.academy_code == academy.code).order_by(School.uai).limit(1)
    )
    if school is not None:
        uai = school.uai
    else:
        reference = vocabularies.academy(academy.code)
        department = reference.departments[0] if reference is not None else "075"
        uai = make_uai(f"{department}0001")
    return allocation_file.template(f"prenom.nom@{academy.email_domain}", uai)


def _save_allocation(allocation: Allocation) -> Allocation:
    """Insert a new allocation, or return the one a concurrent twin (same idempotency key,
    a double click) inserted first: the unique key decides, never a 500."""
    try:
        with db.session.begin_nested():
            db.session.add(allocation)
            db.session.flush()
    except IntegrityError:
        twin = db.session.scalar(
            select(Allocation).where(Allocation.idempotency_key == allocation.idempotency_key)
        )
        if twin is None:
            raise
        return twin
    return allocation


def _check_schools(parsed: ParsedFile, academy: Academy) -> dict[str, School]:
    """Check each line against the database: an address of the academy's domains, a school
    of the academy, and, for a teacher the academy already knows, one of their schools (a
    newcomer joins the school of the line). Returns the lines' schools by UAI."""
    domains = academy.email_domains
    expected = " ou ".join(f"@{domain}" for domain in domains)
    for line in parsed.lines:
        if (
            line.email
            and "email" not in line.field_errors
            and not academy.accepts_email(line.email)
        ):
            line.refuse(
                "email",
                f"Adresse électronique hors de l'académie : « {line.email} » ; seules les "
                f"adresses en {expected} reçoivent un crédit de l'académie de {academy.name}.",
            )
    # Every list of the file goes to the database as one array (`text_rows`), never as
    # one parameter a value: PostgreSQL takes 65,535 parameters a statement at most.
    lines = [line for line in parsed.lines if not line.errors]
    uais = text_rows(db.session, "uais", uai=sorted({line.uai for line in lines}))
    schools = {
        school.uai: school
        for school in db.session.scalars(select(School).join(uais, uais.c.uai == School.uai))
    }
    for line in parsed.lines:
        if line.errors:
            continue
        school = schools.get(line.uai)
        if school is None:
            line.refuse("uai", f"Établissement inconnu : UAI {line.uai}.")
        elif school.academy_code != academy.code:
            line.refuse(
                "uai",
                f"L'établissement {school.name} ({line.uai}) relève de l'académie "
                f"de {school.academy.name}, pas de celle de {academy.name}.",
            )
    emails = text_rows(
        db.session, "emails", email=[line.email for line in parsed.lines if not line.errors]
    )
    deactivated = set(
        db.session.scalars(
            select(User.email).join(emails, emails.c.email == User.email).where(~User.active)
        )
    )
    for line in parsed.lines:
        if line.email in deactivated and not line.errors:
            line.refuse("email", f"Le compte de {line.email} est désactivé.")
    _check_teachers_schools(parsed, academy, schools)
    return schools


def _check_teachers_schools(
    parsed: ParsedFile, academy: Academy, schools: dict[str, School]
) -> None:
    """A teacher the academy already knows is credited in one of their own schools."""
    emails = text_rows(
        db.session, "emails", email=[line.email for line in parsed.lines if not line.errors]
    )
    known: dict[str, list[School]] = {}
    rows = db.session.execute(
        select(User.email, School)
        .join(emails, emails.c.email == User.email)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .join(School, School.id == RoleGrant.school_id)
        .where(RoleGrant.role == Role.TEACHER, School.academy_code == academy.code)
        .order_by(School.name, School.uai)
    )
    for email, school in rows:
        known.setdefault(email, []).append(school)
    for line in parsed.lines:
        theirs = known.get(line.email)
        if line.errors or not theirs or line.uai in {school.uai for school in theirs}:
            continue
        names = ", ".join(str(school) for school in theirs)
        line.refuse(
            "uai",
            f"{line.email} enseigne à {names}, pas à {schools[line.uai]} : "
            "indiquez l'un de ses établissements.",
        )


def preview_rule(
    actor: User | None, academy_code: str, school_year: str, rule: Rule, idempotency_key: str
) -> RulePreview:
    """How many teachers a rule reaches and what it costs; saved as an allocation to confirm."""
    academy = get_academy(academy_code)
    year = _open_year(school_year)
    if rule.cents <= 0:
        raise ValidationFailed(
            "Le montant doit être strictement positif.",
            details={"amount": ["Le montant doit être strictement positif."]},
        )
    digest = _sha256(academy.code, year.code, rule.to_json())
    allocation = db.session.scalar(
        select(Allocation).where(Allocation.idempotency_key == idempotency_key)
    )
    if allocation is not None and allocation.source_sha256 != digest:
        raise Conflict(
            "Ce formulaire a déjà servi pour une autre règle : rechargez la page.",
            details={"token": ["déjà utilisé"]},
        )
    if allocation is None:
        allocation = Allocation(
            academy_code=academy.code,
            school_year_code=year.code,
            method=AllocationMethod.RULE,
            idempotency_key=idempotency_key,
            source=rule.to_json(),
            source_sha256=digest,
            description=_describe_rule(rule),
            created_by=actor.id if actor else None,
        )
        allocation = _save_allocation(allocation)
    teachers = _rule_teachers(academy.code, rule)
    reached = _count(teachers)
    count = _count(_unserved(allocation, teachers))
    if allocation.applied_at is None:
        allocation.teacher_count, allocation.total_cents = count, count * rule.cents
    served = reached - count
    outside = _count(_rule_teachers(academy.code, rule, academy_address=False))
    return RulePreview(
        allocation,
        count,
        served,
        count * rule.cents,
        pool_balance(academy.code, year.code),
        outside,
    )


def _describe_rule(rule: Rule) -> str:
    """The rule in words, stored with the allocation (in French, whoever reads it later)."""
    plurals = {kind.code: kind.plural for kind in vocabularies.school_kinds()}
    kinds = [f"des {plurals.get(kind, kind)}" for kind in rule.school_kinds]
    of_kinds = ", ".join(kinds[:-1]) + " et " + kinds[-1] if len(kinds) > 1 else "".join(kinds)
    if rule.school_ids:
        count = len(rule.school_ids)
        schools = (
            f"{count} établissement{'s' if count > 1 else ''} choisi{'s' if count > 1 else ''}"
        )
        scope = (
            f"aux enseignants {of_kinds} parmi {schools}"
            if kinds
            else f"aux enseignants de {schools}"
        )
    elif kinds:
        scope = f"aux enseignants {of_kinds} de l'académie"
    else:
        scope = "à tous les enseignants de l'académie"
    return f"{format_euros(rule.cents)} {scope}"


def _academy_address(academy_code: str) -> ColumnElement[bool]:
    """The user's address is one of the academy's domains (the catalogue's list)."""
    academy = get_academy(academy_code)
    return or_(*(func.lower(User.email).like(f"%@{domain}") for domain in academy.email_domains))


def _rule_teachers(academy_code: str, rule: Rule, *, academy_address: bool = True) -> AnySelect:
    """The user ids of the active teachers a rule reaches, each once: only those with an
    address of the academy (`academy_address=False`: the others, to tell how many)."""
    address = _academy_address(academy_code)
    query = (
        select(RoleGrant.user_id)
        .join(School, School.id == RoleGrant.school_id)
        .join(User, User.id == RoleGrant.user_id)
        .where(
            RoleGrant.role == Role.TEACHER,
            School.academy_code == academy_code,
            User.active,
            address if academy_address else ~address,
        )
        .distinct()
    )
    if rule.school_ids:
        query = query.where(School.id.in_(rule.school_ids))
    if rule.school_kinds:
        query = query.where(School.kind.in_(rule.school_kinds))
    return query


def _same_rule_references(allocation: Allocation) -> list[str]:
    """The entry references of every allocation of the same rule (same academy, year, rule)."""
    ids = db.session.scalars(
        select(Allocation.id).where(
            Allocation.academy_code == allocation.academy_code,
            Allocation.school_year_code == allocation.school_year_code,
            Allocation.method == AllocationMethod.RULE,
            Allocation.source_sha256 == allocation.source_sha256,
        )
    ).all()
    return [f"allocation:{id_}" for id_ in ids]


def _served_accounts(allocation: Allocation) -> AnySelect:
    """Teacher accounts already credited by an allocation of the same rule (same academy,
    year, amount and targets): read through the entries' reference index, never per row."""
    return (
        select(Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            JournalEntry.kind == EntryKind.ALLOCATE,
            JournalEntry.reference.in_(_same_rule_references(allocation)),
        )
    )


def _unserved(allocation: Allocation, teachers: AnySelect) -> AnySelect:
    """Those of `teachers` (user ids) not yet credited by an allocation of the same rule."""
    served_users = select(LedgerAccount.user_id).where(
        LedgerAccount.id.in_(_served_accounts(allocation))
    )
    # EXCEPT is a hashed set difference: no plan that depends on fresh statistics
    # (NOT IN over a large subquery turns quadratic once the table is analysed).
    difference = except_(teachers, served_users).subquery()
    return select(difference.c[0])


def _count(query: AnySelect) -> int:
    return int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def apply_allocation(actor: User | None, allocation: Allocation) -> Iterator[tuple[int, int]]:
    """Move the money of a previewed allocation; yields (teachers done, teachers in all).

    Applying twice moves nothing the second time (the row is locked, then found
    applied). A rule is applied in chunks of ALLOCATION_CHUNK teachers, one journal entry
    each: the caller may commit after each chunk; after a crash, the same rule applied
    again (a new allocation) continues where it stopped, because a rule never credits a
    teacher already served by the same rule.
    """
    locked = db.session.scalar(
        select(Allocation)
        .where(Allocation.id == allocation.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # read applied_at as it is under the lock
    )
    assert locked is not None
    if locked.applied_at is not None:
        yield locked.teacher_count, locked.teacher_count
        return
    _open_year(locked.school_year_code)
    pool = ledger.academy_pool(locked.academy_code, locked.school_year_code)
    # One allocation at a time per pool: who is already served is read under this lock.
    db.session.execute(
        select(LedgerAccount.id).where(LedgerAccount.id == pool.id).with_for_update()
    )
    before = ledger.balance(pool)
    if locked.method == AllocationMethod.RULE:
        yield from _apply_rule(actor, locked, pool)
    else:
        yield from _apply_lines(actor, locked, pool)
    locked.applied_at = utcnow()
    audit.record(
        actor,
        "allocation.applied",
        "allocation",
        locked.id,
        academy=locked.academy_code,
        school_year=locked.school_year_code,
        method=locked.method.value,
        teachers=locked.teacher_count,
        total_cents=locked.total_cents,
    )
    tell_if_pool_low(locked.academy_code, locked.school_year_code, before, locked.reference)


# Teachers a confirm credits within the request; a larger allocation is applied by a job
# of the outbox (a worker), so no request outlives the web server's time-out (200,000
# lines: minutes on a busy machine; 40,000: 18 s). Its page follows it.
ALLOCATION_INLINE_MAX = 20_000
APPLY_JOB = "budgets.apply_allocation"


def confirm(actor: User, allocation: Allocation) -> bool:
    """Apply a previewed allocation now (True), or queue it for a worker when it credits
    more than ALLOCATION_INLINE_MAX teachers (False). Confirming twice queues one job."""
    if allocation.applied_at is not None or allocation.teacher_count <= ALLOCATION_INLINE_MAX:
        for _progress in apply_allocation(actor, allocation):
            pass
        return True
    payload = {"allocation_id": allocation.id, "actor_id": actor.id}
    jobs.enqueue(APPLY_JOB, payload, key=f"{allocation.reference}:apply")
    return False


def application_job(allocation: Allocation) -> Job | None:
    """The job that applies (or applied, or failed to apply) a large allocation."""
    return db.session.scalar(select(Job).where(Job.key == f"{allocation.reference}:apply"))


@jobs.handler(
    APPLY_JOB,
    describe=lambda payload: gettext(
        "Application de la répartition n°%(id)s", id=payload["allocation_id"]
    ),
)
def _apply_job(payload: dict[str, Any]) -> None:
    """Apply the allocation; run again after a crash, it moves nothing twice. A refusal
    (a school closed meanwhile…) is final: the job dies with the reason, shown on the
    allocation's page, and nothing was written."""
    allocation = db.session.get(Allocation, payload["allocation_id"])
    if allocation is None:
        raise jobs.GiveUp(f"Répartition n°{payload['allocation_id']} introuvable.")
    actor = db.session.get(User, payload["actor_id"]) if payload.get("actor_id") else None
    try:
        for _progress in apply_allocation(actor, allocation):
            pass
    except DomainError as error:
        details = "; ".join(
            f"{where} : {' '.join(reasons)}" for where, reasons in list(error.details.items())[:20]
        )
        raise jobs.GiveUp(f"{error.message} {details}".strip()) from error


def _apply_rule(
    actor: User | None, allocation: Allocation, pool: LedgerAccount
) -> Iterator[tuple[int, int]]:
    """Credit every teacher the rule reaches and no earlier run of it served, in chunks.

    The teachers to credit are listed once and their accounts created in one statement;
    each chunk then locks the pool and drops whoever a concurrent run of the same rule
    served meanwhile, so two runs (each committing chunk by chunk) never credit a
    teacher twice. A chunk is a fixed number of statements, whatever its size (one
    INSERT of its postings, one UPDATE of its balances, one INSERT of its mails…): no
    row goes through Python but the ids of the teachers and of their accounts.
    """
    rule = Rule.from_json(allocation.source)
    # The teachers to credit (user ids), listed once by a hashed set difference.
    todo = sorted(
        db.session.scalars(_unserved(allocation, _rule_teachers(allocation.academy_code, rule)))
    )
    available = ledger.balance(pool)
    if len(todo) * rule.cents > available:
        raise InsufficientFunds(
            ngettext(
                "L'enveloppe de l'académie (%(pool)s) ne suffit pas pour %(num)s enseignant "
                "à %(each)s (%(total)s).",
                "L'enveloppe de l'académie (%(pool)s) ne suffit pas pour %(num)s enseignants "
                "à %(each)s (%(total)s).",
                len(todo),
                pool=format_euros(available),
                each=format_euros(rule.cents),
                total=format_euros(len(todo) * rule.cents),
            ),
            details={"amount": ["L'enveloppe de l'académie ne suffit pas pour ce montant."]},
        )
    # Their accounts, in one statement, before the first yield: the caller may commit
    # them there, so that crediting them is an UPDATE of rows of an earlier transaction
    # (PostgreSQL re-checks the foreign keys of a row updated in the transaction that
    # inserted it). Then each teacher's account, read once (a join from the list).
    teachers = integer_rows(db.session, "teachers", id=todo)
    ledger.ensure_teacher_credits(
        select(teachers.c.id), allocation.academy_code, allocation.school_year_code
    )
    account_ids: list[int] = []
    user_ids: list[int] = []
    for account_id, user_id in db.session.execute(
        select(LedgerAccount.id, teachers.c.id)
        .select_from(teachers)
        .join(
            LedgerAccount,
            and_(
                LedgerAccount.user_id == teachers.c.id,
                LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
                LedgerAccount.academy_code == allocation.academy_code,
                LedgerAccount.school_year_code == allocation.school_year_code,
            ),
        )
        .order_by(LedgerAccount.id)
    ):
        account_ids.append(account_id)
        user_ids.append(user_id)
    allocation.teacher_count, allocation.total_cents = _allocated_so_far(allocation, pool)
    size = ALLOCATION_CHUNK if is_postgres(db.session) else min(ALLOCATION_CHUNK, 20_000)
    done = 0
    yield done, len(todo)
    for start in range(0, len(todo), size):
        # The caller may have committed: take the pool's lock again before reading who
        # is served, so a concurrent run's chunk is seen once it is committed.
        db.session.execute(
            select(LedgerAccount.id).where(LedgerAccount.id == pool.id).with_for_update()
        )
        # The chunk, set-based: one entry crediting its accounts (those no run of the
        # same rule served meanwhile), one INSERT of the activation mails.
        ids = integer_rows(db.session, "ids", id=account_ids[start : start + size])
        served = _served_accounts(allocation).where(Posting.account_id == ids.c.id)
        still_unserved = select(ids.c.id, literal(rule.cents)).where(~served.exists())
        part = _count(select(JournalEntry.id).where(JournalEntry.reference == allocation.reference))
        entry = ledger.post_batch(
            EntryKind.ALLOCATE,
            still_unserved,
            pool,
            idempotency_key=f"{allocation.reference}:{part + 1}",
            reference=allocation.reference,
            actor=actor,
            memo=f"Répartition n°{allocation.id} : {allocation.description}",
        )
        count = 0
        if entry is not None:
            count = _count(select(Posting.id).where(Posting.entry_id == entry.id)) - 1
        users = integer_rows(db.session, "users", id=user_ids[start : start + size])
        _invite_waiting_teachers(select(users.c.id))
        _tell_credited(allocation, entry)
        done += min(size, len(todo) - start)
        allocation.teacher_count += count
        allocation.total_cents += count * rule.cents
        yield done, len(todo)


def _allocated_so_far(allocation: Allocation, pool: LedgerAccount) -> tuple[int, int]:
    """Teachers credited and cents moved by the entries of this allocation until now."""
    count, total = db.session.execute(
        select(func.count(Posting.id), func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.reference == allocation.reference, Posting.account_id != pool.id)
    ).one()
    return int(count), int(total)


def _apply_lines(
    actor: User | None, allocation: Allocation, pool: LedgerAccount
) -> Iterator[tuple[int, int]]:
    """A file (or a single teacher): each line is a teacher, a school and an amount."""
    academy = get_academy(allocation.academy_code)
    parsed = parse_allocation_file(io.StringIO(allocation.source, newline=""))
    schools = _check_schools(parsed, academy)
    if not parsed.valid:
        problems = {f"ligne {line.number}": line.errors for line in parsed.lines if line.errors}
        raise ValidationFailed(
            "La répartition n'est plus valide : rien n'a été écrit.", details=problems
        )
    yield 0, len(parsed.lines)
    user_ids = _teachers_for_lines(actor, parsed, schools)
    teachers = integer_rows(db.session, "teachers", user_id=user_ids)
    ledger.ensure_teacher_credits(
        select(teachers.c.user_id), academy.code, allocation.school_year_code
    )
    rows = db.session.execute(
        select(LedgerAccount.user_id, LedgerAccount.id)
        .join(teachers, teachers.c.user_id == LedgerAccount.user_id)
        .where(
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.academy_code == academy.code,
            LedgerAccount.school_year_code == allocation.school_year_code,
        )
    )
    account_ids = {row.user_id: row.id for row in rows}
    amounts = integer_rows(
        db.session,
        "lines",
        account_id=[account_ids[user_id] for user_id in user_ids],
        amount_cents=[line.cents for line in parsed.lines],
    )
    entry = ledger.post_batch(
        EntryKind.ALLOCATE,
        select(amounts.c.account_id, amounts.c.amount_cents),
        pool,
        idempotency_key=allocation.reference,
        reference=allocation.reference,
        actor=actor,
        memo=f"Répartition n°{allocation.id} : {allocation.description}",
    )
    _invite_waiting_teachers(select(teachers.c.user_id))
    _tell_credited(allocation, entry)
    yield len(parsed.lines), len(parsed.lines)


def _invite_waiting_teachers(user_ids: AnySelect) -> None:
    """Queue the activation mail of every teacher of `user_ids` who has no password yet, in
    one statement: at most once per person, however many allocations reach them."""
    waiting = select(User.id.label("user"), User.email.label("to")).where(
        User.id.in_(user_ids), User.password_hash.is_(None), User.active.is_(True)
    )
    mail.send_many("account_activation", waiting, key="user")


def _tell_credited(allocation: Allocation, entry: JournalEntry | None) -> None:
    """Tell the teachers `entry` credited (a chunk, or the whole file), set-based. The key
    holds the allocation: one message per allocation and teacher, whatever the chunks
    and re-runs. Teachers without a password are left out: the activation mail queued
    with the credit already says a credit waits for them (one message, not two)."""
    if entry is None:
        return
    credited = (
        select(
            LedgerAccount.user_id.label("user"),
            cast(literal(allocation.id), Integer).label("allocation"),
        )
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .join(User, User.id == LedgerAccount.user_id)
        .where(
            Posting.entry_id == entry.id,
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            User.password_hash.is_not(None),
        )
    )
    notifications.notify_many("credit_received", credited, key=f"credit-received:{allocation.id}")


def _teachers_for_lines(
    actor: User | None, parsed: ParsedFile, schools: dict[str, School]
) -> list[int]:
    """The user id of each line: an account is created (no password yet) for an address
    nobody registered, and the user is made a teacher of the line's school when they are
    not: the credit waits for them. Set-based, whatever the number of lines."""
    emails = [line.email for line in parsed.lines]
    ids = accounts.user_ids_by_email(emails)
    newcomers = [email for email in emails if email not in ids]
    accounts.create_waiting_users([(email, name_from_email(email)) for email in newcomers])
    ids.update(accounts.user_ids_by_email(newcomers))
    user_ids = [ids[email] for email in emails]
    accounts.grant_teacher_roles(actor, user_ids, [schools[line.uai].id for line in parsed.lines])
    return user_ids


def name_from_email(email: str) -> str:
    """ "anne-marie.dupont@ac-lyon.fr" → "Anne-Marie Dupont" (until the person says otherwise)."""
    local = email.split("@", 1)[0]
    words = [word for word in local.replace("_", ".").split(".") if word]
    return " ".join("-".join(part.capitalize() for part in w.split("-")) for w in words) or email


def preview_one(
    actor: User,
    academy_code: str,
    school_year: str,
    email: str,
    uai: str,
    amount: str,
    idempotency_key: str,
) -> OnePreview:
    """Check a credit to one teacher (registered or not yet) of a school of the academy and
    save it as an allocation to confirm: nothing moves before `apply_allocation`.

    Refused, with the reasons by field (`email`, `uai`, `amount`): an address outside the
    academy's domains, a school outside the academy, a school that is not one of a known
    teacher's schools, a deactivated account, more than the pool holds."""
    academy = get_academy(academy_code)
    year = _open_year(school_year)
    source = f"{email.strip().lower()};{amount.strip()};{normalize_uai(uai)}\n"
    key = f"one:{idempotency_key}"
    allocation = db.session.scalar(select(Allocation).where(Allocation.idempotency_key == key))
    if allocation is not None and allocation.source != source:
        raise Conflict(
            "Ce formulaire a déjà servi pour une autre répartition : rechargez la page.",
            details={"token": ["déjà utilisé"]},
        )
    parsed = parse_allocation_file([source])
    if len(parsed.lines) == 1 and allocation is None:
        _check_schools(parsed, academy)
    if len(parsed.lines) != 1 or not parsed.valid:
        details: dict[str, list[str]] = {}
        for line in parsed.lines:
            for column, reasons in line.field_errors.items():
                details.setdefault(column, []).extend(reasons)
        raise ValidationFailed(
            "La répartition n'a pas été faite : le motif est indiqué sous le champ concerné.",
            details=details or {"allocation": ["adresse, montant et établissement requis"]},
        )
    (line,) = parsed.lines
    pool = pool_balance(academy.code, year.code)
    if allocation is None and line.cents > pool:
        raise InsufficientFunds(
            f"Solde insuffisant : l'enveloppe de l'académie ({format_euros(pool)}) ne permet "
            f"pas d'attribuer {format_euros(line.cents)}.",
            details={"amount": [f"Il manque {format_euros(line.cents - pool)} dans l'enveloppe."]},
        )
    if allocation is None:
        allocation = Allocation(
            academy_code=academy.code,
            school_year_code=year.code,
            method=AllocationMethod.ONE,
            idempotency_key=key,
            source=source,
            source_sha256=_sha256(source),
            description=f"{format_euros(line.cents)} à {line.email}",
            teacher_count=1,
            total_cents=line.cents,
            created_by=actor.id,
        )
        allocation = _save_allocation(allocation)
    school = db.session.scalars(select(School).where(School.uai == line.uai)).one()
    user = accounts.find_user(line.email)
    return OnePreview(
        allocation=allocation,
        email=line.email,
        name=user.name if user is not None else name_from_email(line.email),
        registered=user is not None and user.password_hash is not None,
        new_account=user is None,
        school=school,
        cents=line.cents,
        pool_cents=pool,
    )


def allocate_one(
    actor: User,
    academy_code: str,
    school_year: str,
    email: str,
    uai: str,
    amount: str,
    idempotency_key: str,
) -> Allocation:
    """Credit one teacher at once: `preview_one`, then `apply_allocation` (for scripts and
    tests; the page asks for a confirmation in between)."""
    preview = preview_one(actor, academy_code, school_year, email, uai, amount, idempotency_key)
    for _ in apply_allocation(actor, preview.allocation):
        pass
    return preview.allocation


def get_allocation(academy_code: str, allocation_id: int) -> Allocation:
    allocation = db.session.get(Allocation, allocation_id)
    if allocation is None or allocation.academy_code != academy_code:
        raise NotFound("Répartition introuvable.")
    return allocation


def allocation_history(academy_code: str, school_year: str) -> list[Allocation]:
    return list(
        db.session.scalars(
            select(Allocation)
            .where(
                Allocation.academy_code == academy_code,
                Allocation.school_year_code == school_year,
                Allocation.applied_at.is_not(None),
            )
            .order_by(Allocation.applied_at.desc())
        )
    )


# --- year closing ------------------------------------------------------------------------


def close_year(actor: User | None, school_year: str) -> Iterator[tuple[Academy, int, int]]:
    """Close a school year: no more spending on it, unspent teacher credit back to each
    academy's pool. Yields (academy, teachers, cents returned) per academy; the caller may
    commit after each. Re-running it returns nothing more."""
    year = db.session.get(SchoolYear, school_year)
    if year is None:
        raise NotFound(f"Année scolaire inconnue : {school_year}.")
    if year.closed_at is None:
        # No pooled purchase keeps teachers' money in its hold account past the year:
        # the open ones end first, their shares back to the credit that expires below.
        from app.pooled_purchases import services as pooled_purchases

        pooled_purchases.end_year(year.code)
        year.closed_at = utcnow()
        audit.record(actor, "school_year.closed", "school_year", year.code)
        db.session.flush()
    academies = db.session.scalars(
        select(Academy)
        .where(
            select(LedgerAccount.id)
            .where(
                LedgerAccount.academy_code == Academy.code,
                LedgerAccount.school_year_code == year.code,
                LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
                LedgerAccount.balance_cents > 0,
            )
            .exists()
        )
        .order_by(Academy.code)
    ).all()
    for academy in academies:
        leftovers = select(LedgerAccount.id, -LedgerAccount.balance_cents).where(
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.academy_code == academy.code,
            LedgerAccount.school_year_code == year.code,
            LedgerAccount.balance_cents > 0,
        )
        reference = f"closing:{year.code}:{academy.code}"
        runs = _count(select(JournalEntry.id).where(JournalEntry.reference == reference))
        entry = ledger.post_batch(
            EntryKind.EXPIRE,
            leftovers,
            ledger.academy_pool(academy.code, year.code),
            idempotency_key=f"{reference}:{runs + 1}",
            reference=reference,
            actor=actor,
            memo=f"Clôture {year.code} : crédits non utilisés rendus à l'académie",
        )
        if entry is None:
            continue
        teachers, cents = db.session.execute(
            select(func.count(Posting.id), func.coalesce(func.sum(Posting.amount_cents), 0)).where(
                Posting.entry_id == entry.id, Posting.amount_cents < 0
            )
        ).one()
        audit.record(
            actor,
            "school_year.credit_expired",
            "academy",
            academy.code,
            school_year=year.code,
            teachers=int(teachers),
            cents=-int(cents),
            entry_id=entry.id,
        )
        yield academy, int(teachers), -int(cents)


# --- pages: read-only queries ------------------------------------------------------------


def academy_schools(academy_code: str) -> list[School]:
    """The schools of an academy, by name, for the allocation forms."""
    return list(
        db.session.scalars(
            select(School)
            .where(School.academy_code == academy_code)
            .order_by(School.name, School.uai)
        )
    )


@dataclass(frozen=True)
class TeacherBalance:
    """A teacher of an academy, their first school there, and their credit for a year."""

    user_id: int
    name: str
    email: str
    school_name: str
    school_city: str
    school_uai: str
    balance_cents: int


def teacher_balances(
    academy_code: str, school_year: str, search: str, page: int, per_page: int
) -> tuple[list[TeacherBalance], int]:
    """One page of the academy's teachers (name or email containing `search`, any case),
    by name, with their credit for the year (0 without an account yet); and how many
    teachers match in all. One row per teacher, with the school of their first grant."""
    first_grant = (
        select(RoleGrant.user_id, func.min(RoleGrant.id).label("grant_id"))
        .join(School, School.id == RoleGrant.school_id)
        .where(RoleGrant.role == Role.TEACHER, School.academy_code == academy_code)
        .group_by(RoleGrant.user_id)
        .subquery()
    )
    query = (
        select(
            User.id,
            User.name,
            User.email,
            School.name.label("school_name"),
            School.city,
            School.uai,
            func.coalesce(LedgerAccount.balance_cents, 0),
        )
        .join(first_grant, first_grant.c.user_id == User.id)
        .join(RoleGrant, RoleGrant.id == first_grant.c.grant_id)
        .join(School, School.id == RoleGrant.school_id)
        .outerjoin(
            LedgerAccount,
            (LedgerAccount.user_id == User.id)
            & (LedgerAccount.kind == AccountKind.TEACHER_CREDIT)
            & (LedgerAccount.academy_code == academy_code)
            & (LedgerAccount.school_year_code == school_year),
        )
    )
    search = search.strip()
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            User.name.ilike(pattern, escape="\\") | User.email.ilike(pattern, escape="\\")
        )
    total = _count(query)
    rows = db.session.execute(
        query.order_by(User.name, User.id).limit(per_page).offset((max(page, 1) - 1) * per_page)
    )
    return [TeacherBalance(*row[:6], int(row[6])) for row in rows], total


@dataclass(frozen=True)
class Movement:
    """One movement on a teacher's credit: signed cents, positive when credited."""

    at: datetime
    kind: EntryKind
    amount_cents: int
    academy: Academy  # whose credit it is
    # The order a purchase or a refund belongs to (its id and the number people quote).
    order_id: int | None = None
    order_number: str | None = None
    # The pooled purchase a share or its refund belongs to (its id and its title).
    pooled_id: int | None = None
    pooled_title: str | None = None


ORDER_ENTRIES = (EntryKind.PURCHASE, EntryKind.REFUND)
POOLED_ENTRIES = (EntryKind.POOL_SHARE, EntryKind.POOL_REFUND)


def _referenced_id(reference: str, kind: str) -> int | None:
    """The id in an entry's reference of that kind: "order:42", "pooled:7"."""
    prefix, _, number = reference.partition(":")
    return int(number) if prefix == kind and number.isdigit() else None


def teacher_movements(user_id: int, school_year: str) -> list[Movement]:
    """Every movement on the teacher's credit accounts of the year, newest first, each
    purchase and refund with its order, each share of a pooled purchase with that purchase."""
    rows = db.session.execute(
        select(
            JournalEntry.created_at,
            JournalEntry.kind,
            JournalEntry.reference,
            Posting.amount_cents,
            Academy,
        )
        .select_from(JournalEntry)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .join(Academy, Academy.code == LedgerAccount.academy_code)
        .where(
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.user_id == user_id,
            LedgerAccount.school_year_code == school_year,
        )
        .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc(), Posting.id.desc())
    ).all()
    linked = [
        (
            row,
            _referenced_id(row.reference, "order") if row.kind in ORDER_ENTRIES else None,
            _referenced_id(row.reference, "pooled") if row.kind in POOLED_ENTRIES else None,
        )
        for row in rows
    ]
    order_ids = {order_id for _, order_id, _ in linked if order_id is not None}
    pooled_ids = {pooled_id for _, _, pooled_id in linked if pooled_id is not None}
    numbers = {
        order.id: order.number
        for order in db.session.scalars(
            select(Order).where(Order.id.in_(order_ids), Order.teacher_id == user_id)
        )
    }
    titles: dict[int, str] = dict(
        db.session.execute(
            select(PooledPurchase.id, PooledPurchase.title).where(PooledPurchase.id.in_(pooled_ids))
        ).all()
    )
    return [
        Movement(
            at=at,
            kind=kind,
            amount_cents=int(cents),
            academy=academy,
            order_id=order_id if order_id in numbers else None,
            order_number=numbers.get(order_id) if order_id is not None else None,
            pooled_id=pooled_id if pooled_id in titles else None,
            pooled_title=titles.get(pooled_id) if pooled_id is not None else None,
        )
        for (at, kind, _, cents, academy), order_id, pooled_id in linked
    ]


@dataclass(frozen=True)
class CreditExpiry:
    """Until when a teacher's credit of a school year can be spent, and where it stands."""

    school_year: str
    ends_on: date  # the last day purchases draw on this year's credit (31 August)
    ended: bool  # the year is over: this credit can no longer be spent
    closed: bool  # the year was closed: what was left has gone back to the academy


def credit_expiry(school_year: str, today: date) -> CreditExpiry:
    """A purchase draws on the credit of the school year of its day (orders' checkout), so
    a year's credit is spent until its last day, 31 August; closing the year
    (`flask budgets close-year`, :func:`close_year`) then returns what is left to the pool
    of the academy that allocated it. Nothing carries over to the next year."""
    year = db.session.get(SchoolYear, school_year)
    last = int(school_year.partition("-")[2])
    ends_on = year.ends_on if year is not None else date(last, 8, 31)
    return CreditExpiry(
        school_year=school_year,
        ends_on=ends_on,
        ended=today > ends_on,
        closed=year is not None and year.closed_at is not None,
    )


def teacher_balance(user_id: int, school_year: str) -> int:
    """The teacher's credit for the year, over every academy that gave them some."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.user_id == user_id,
            LedgerAccount.school_year_code == school_year,
        )
    )
    return int(total or 0)


# --- the credit-expiry reminder ------------------------------------------------------------

# Days before the end of the school year when a teacher with credit left is reminded.
CREDIT_REMINDER_DAYS = (30, 7)


def remind_expiring_credit(today: date) -> int:
    """On the days CREDIT_REMINDER_DAYS before the end of the current school year (31
    August: 1 and 24 August), tell every teacher who still holds credit of that year, in
    one set-based statement per table (870,000 teachers). The key holds the year and the
    step: a second run the same day, or two schedulers at once, add nothing. Returns how
    many mails were queued."""
    year = db.session.get(SchoolYear, school_year_code(today))
    if year is None or year.closed_at is not None:
        return 0
    days = (year.ends_on - today).days
    if days not in CREDIT_REMINDER_DAYS:
        return 0
    holding = (
        select(
            LedgerAccount.user_id.label("user"),
            literal(year.code).label("year"),
            cast(literal(days), Integer).label("days"),
        )
        .where(
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.school_year_code == year.code,
            LedgerAccount.balance_cents > 0,
        )
        .group_by(LedgerAccount.user_id)
    )
    key = f"credit-expiring:{year.code}:{days}"
    return notifications.notify_many("credit_expiring", holding, key=key)


@schedule.task("budgets.credit-reminder", "0 8 * * *", _l("Rappel du crédit non utilisé"))
def remind_expiring_credit_today() -> None:
    """Every morning at 8:00 (Paris); it tells people only 30 and 7 days before the end
    of the school year."""
    remind_expiring_credit(dates.today())
