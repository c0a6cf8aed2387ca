"""Pooled purchases: start, join, withdraw, complete, expire, cancel.

Money moves only through the ledger (app/ledger/services.py):
- a share: ``pool_share`` entry, the teacher's credit → the purchase's hold account
  (guarded: never below zero), key ``pooled:<id>:share:<share id>``;
- a share given back (withdrawn, expired, cancelled): ``pool_refund`` entry, the hold
  account → the teacher's credit, key ``pooled:<id>:refund:<share id>``;
- completion: the order's ``purchase`` entry, the hold account → the vendor's payable
  (app/orders/services.py, :func:`place_paid_order`), key ``order:<order id>``.

The cap is one guarded UPDATE on the purchase row (:func:`_take`): ``collected_cents +
:x <= price_cents AND status = 'open' AND deadline >= :today``; no row updated means
refused, with the reason read afresh. A share above what remains is refused (not cut):
the page shows what remains. The join that reaches the price completes the purchase in
the same transaction, under the row lock that UPDATE took. Expiry and cancellation turn
the status from open with a guarded UPDATE too (``WHERE status = 'open'``), so a last
join racing them is serialised on the row: completion or refund, never both.

Withdrawing locks the row (SELECT … FOR UPDATE) before reading the share, so a double
click gives the share back once.

A product withdrawn from the catalogue or re-priced while a purchase is open: the
purchase is cancelled and every share given back, by the hourly task
(:func:`end_due`), and at once by a join that finds it so (:func:`join`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, literal, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import notifications
from app.accounts.models import Role, RoleGrant, User
from app.budgets import services as budgets
from app.budgets.models import School
from app.core import audit, dates, schedule
from app.core.db import insert_or_ignore, utcnow
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.core.money import format_euros
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import AccountKind, EntryKind, JournalEntry, LedgerAccount
from app.licences.services import school_year_end
from app.orders import services as orders
from app.pooled_purchases.models import PooledPurchase, PooledShare, PooledStatus
from app.products.models import Channel, PlanKind, Product

MAX_DAYS = 30  # the deadline is at most this many days after the start
MIN_SHARE_CENTS = 100  # 1 €

_l("Achats groupés")  # the navigation's label (app/accounts/navigation.py)


class PooledRefused(DomainError):
    code = "pooled_purchase_refused"


def today() -> date:
    return dates.today()


# --- reading -----------------------------------------------------------------------------


def teacher_schools(teacher: User) -> list[School]:
    return orders.teacher_schools(teacher)


def _school_of(teacher: User, school_id: int | None) -> School:
    for school in teacher_schools(teacher):
        if school_id is None or school.id == school_id:
            return school
    raise Forbidden(
        "Établissement : vous n'enseignez pas dans cet établissement.",
        details={"school": ["vous n'y enseignez pas"]},
    )


def _teaches_at(teacher: User, school_id: int) -> bool:
    return any(school.id == school_id for school in teacher_schools(teacher))


def get(pooled_id: int) -> PooledPurchase:
    pooled = db.session.get(PooledPurchase, pooled_id)
    if pooled is None:
        raise NotFound("Achat groupé introuvable.")
    return pooled


def _took_part(teacher: User, pooled: PooledPurchase) -> bool:
    """Whether the teacher ever put a share in, withdrawn or not (their account names it)."""
    query = select(PooledShare.id).where(
        PooledShare.pooled_purchase_id == pooled.id, PooledShare.teacher_id == teacher.id
    )
    return db.session.scalar(query.limit(1)) is not None


def visible(teacher: User, pooled_id: int) -> PooledPurchase:
    """A pooled purchase of one of the teacher's schools, or one they took part in (they may
    have moved since: « Mon compte » still names it); NotFound for any other."""
    pooled = db.session.get(PooledPurchase, pooled_id)
    if pooled is None:
        raise NotFound("Achat groupé introuvable.")
    if not _teaches_at(teacher, pooled.school_id) and not _took_part(teacher, pooled):
        raise NotFound("Achat groupé introuvable.")
    return pooled


def of_my_schools(teacher: User) -> list[PooledPurchase]:
    """The pooled purchases of the teacher's schools, open ones first, newest first."""
    school_ids = [school.id for school in teacher_schools(teacher)]
    if not school_ids:
        return []
    query = (
        select(PooledPurchase)
        .where(PooledPurchase.school_id.in_(school_ids))
        .options(selectinload(PooledPurchase.shares), selectinload(PooledPurchase.school))
        .order_by((PooledPurchase.status == PooledStatus.OPEN).desc(), PooledPurchase.id.desc())
    )
    return list(db.session.scalars(query))


def open_for_product(teacher: User, product_id: int) -> list[PooledPurchase]:
    """The open pooled purchases of a product in the teacher's schools (product page)."""
    school_ids = [school.id for school in teacher_schools(teacher)]
    if not school_ids:
        return []
    query = (
        select(PooledPurchase)
        .where(
            PooledPurchase.school_id.in_(school_ids),
            PooledPurchase.product_id == product_id,
            PooledPurchase.status == PooledStatus.OPEN,
        )
        .options(selectinload(PooledPurchase.shares), selectinload(PooledPurchase.school))
        .order_by(PooledPurchase.id)
    )
    return list(db.session.scalars(query))


def my_share(pooled: PooledPurchase, teacher: User) -> PooledShare | None:
    return next((s for s in pooled.active_shares if s.teacher_id == teacher.id), None)


def credit_for(teacher: User, pooled: PooledPurchase) -> int:
    """The teacher's credit a share of `pooled` is taken from (the school's academy)."""
    balance = db.session.scalar(
        select(LedgerAccount.balance_cents).where(
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.user_id == teacher.id,
            LedgerAccount.academy_code == pooled.academy_code,
            LedgerAccount.school_year_code == pooled.school_year_code,
        )
    )
    return int(balance or 0)


def latest_deadline(day: date) -> date:
    """The latest deadline a pooled purchase started on `day` may have."""
    return min(day + timedelta(days=MAX_DAYS), school_year_end(budgets.school_year_code(day)))


# --- rules ---------------------------------------------------------------------------------


def _french_day(day: date) -> str:
    return orders._french_day(day)


def _check_deadline(deadline: date, day: date) -> None:
    if deadline < day:
        raise ValidationFailed(
            "Date limite : elle ne peut pas être déjà passée.",
            details={"deadline": ["date passée"]},
        )
    end = school_year_end(budgets.school_year_code(day))
    if deadline > end:
        raise ValidationFailed(
            f"Date limite : au plus tard le {_french_day(end)}, fin de l'année scolaire.",
            details={"deadline": [f"au plus tard le {end.isoformat()}"]},
        )
    if deadline > day + timedelta(days=MAX_DAYS):
        last = day + timedelta(days=MAX_DAYS)
        raise ValidationFailed(
            f"Date limite : au plus {MAX_DAYS} jours après aujourd'hui, soit le "
            f"{_french_day(last)} au plus tard.",
            details={"deadline": [f"au plus tard le {last.isoformat()}"]},
        )


def _check_share(cents: int, remaining: int, credit: int) -> None:
    if cents < MIN_SHARE_CENTS:
        raise ValidationFailed(
            f"Participation : au moins {format_euros(MIN_SHARE_CENTS)}.",
            details={"amount": [f"au moins {format_euros(MIN_SHARE_CENTS)}"]},
        )
    if cents > remaining:
        raise ValidationFailed(
            f"Participation : au plus {format_euros(remaining)}, ce qui reste à réunir.",
            details={"amount": [f"au plus {format_euros(remaining)}"]},
        )
    if cents > credit:
        raise ValidationFailed(
            f"Participation : elle dépasse votre crédit disponible ({format_euros(credit)}).",
            details={"amount": [f"crédit disponible : {format_euros(credit)}"]},
        )


def _offer_problem(pooled: PooledPurchase, found: orders.Offer | None) -> str | None:
    """Why the purchase cannot go on: the product left the catalogue or changed price."""
    if found is None:
        return "la ressource n'est plus proposée au catalogue en licence établissement"
    if found.plan.price_cents != pooled.price_cents:
        return (
            f"le prix de la licence établissement a changé ({format_euros(pooled.price_cents)}"
            f" → {format_euros(found.plan.price_cents)})"
        )
    return None


# --- start ---------------------------------------------------------------------------------


def start(
    teacher: User,
    product_id: int,
    *,
    deadline: date,
    share_cents: int,
    school_id: int | None = None,
    on: date | None = None,
) -> PooledPurchase:
    """Start a pooled purchase of the product's school plan for the teacher's school, with
    the teacher's own share. Every rule is checked before anything is written."""
    day = on or today()
    school = _school_of(teacher, school_id)
    found = orders.offer(product_id, PlanKind.SCHOOL)
    if found is None:
        raise orders.NotPurchasable(
            "Cette ressource n'est pas (ou plus) proposée en licence établissement."
        )
    if school.uses_gar is False and found.version.channel is Channel.GAR:
        raise orders.NotPurchasable(
            f"Votre établissement ({school.uai}) n'utilise pas le GAR, par lequel est "
            "distribuée cette ressource."
        )
    _check_deadline(deadline, day)
    already = db.session.scalar(
        select(PooledPurchase.id).where(
            PooledPurchase.school_id == school.id,
            PooledPurchase.product_id == product_id,
            PooledPurchase.status == PooledStatus.OPEN,
        )
    )
    if already is not None:
        raise Conflict(
            "Un achat groupé de cette ressource est déjà en cours dans votre établissement : "
            "participez-y.",
            details={"pooled_purchase": [str(already)]},
        )
    year = budgets.school_year_code(day)
    price = found.plan.price_cents
    credit = ledger.teacher_credit(teacher.id, school.academy_code, year)
    _check_share(share_cents, price, int(credit.balance_cents or 0))
    pooled = PooledPurchase(
        school_id=school.id,
        product_id=product_id,
        plan_kind=PlanKind.SCHOOL,
        price_cents=price,
        title=found.version.title,
        academy_code=school.academy_code,
        school_year_code=year,
        started_by=teacher.id,
        deadline=deadline,
        status=PooledStatus.OPEN,
        collected_cents=0,
        created_at=utcnow(),
    )
    db.session.add(pooled)
    db.session.flush()  # a start at the same moment: uq_pooled_purchase_open refuses it
    hold = ledger.pooled_purchase_hold(pooled.id, pooled.academy_code, year)
    audit.record(teacher, "pooled_purchase.started", "pooled_purchase", pooled.id, price=price)
    _tell_school(pooled, teacher)
    _add_share(pooled, teacher, share_cents, day, found, (credit, hold))
    return pooled


def _tell_school(pooled: PooledPurchase, starter: User) -> None:
    """« Achat groupé lancé »: to every teacher of the school, in two statements."""
    teachers = (
        select(RoleGrant.user_id.label("user"), literal(pooled.id).label("pooled"))
        .where(RoleGrant.school_id == pooled.school_id, RoleGrant.role == Role.TEACHER)
        .distinct()
    )
    notifications.notify_many("pooled_started", teachers, key=f"pooled-started:{pooled.id}")


# --- join ----------------------------------------------------------------------------------


def join(
    teacher: User, pooled_id: int, share_cents: int, on: date | None = None
) -> PooledShare | None:
    """The teacher puts `share_cents` in. Returns the share, or None when the purchase had
    to be cancelled instead (the product left the catalogue or changed price: every share
    is given back, and the caller commits that)."""
    day = on or today()
    pooled = visible(teacher, pooled_id)
    if not _teaches_at(teacher, pooled.school_id):
        raise Conflict(
            "Vous n'enseignez plus dans cet établissement : vous ne pouvez plus participer à "
            "cet achat groupé."
        )
    if not pooled.is_open:
        raise Conflict(_ended_message(pooled))
    found = orders.offer(pooled.product_id, pooled.plan_kind)
    problem = _offer_problem(pooled, found)
    if problem is not None:
        cancel(pooled, f"Achat groupé annulé : {problem}.")
        return None
    assert found is not None
    if pooled.deadline < day:
        raise Conflict(
            "Cet achat groupé n'accepte plus de participation : la date limite est passée."
        )
    if my_share(pooled, teacher) is not None:
        raise Conflict(
            "Vous participez déjà à cet achat groupé : retirez votre participation pour en "
            "changer le montant."
        )
    accounts = ledger.pooled_share_accounts(
        teacher.id, pooled.id, pooled.academy_code, pooled.school_year_code
    )
    _check_share(share_cents, pooled.remaining_cents, int(accounts[0].balance_cents or 0))
    return _add_share(pooled, teacher, share_cents, day, found, accounts)


def _ended_message(pooled: PooledPurchase) -> str:
    return f"Cet achat groupé est terminé ({pooled.status.label.lower()})."


def _take(pooled: PooledPurchase, cents: int, day: date) -> int | None:
    """The guarded UPDATE of the cap: add `cents` to what was collected if the purchase is
    open, its deadline not passed and the price not exceeded; the new total, else None."""
    collected = db.session.execute(
        update(PooledPurchase)
        .where(
            PooledPurchase.id == pooled.id,
            PooledPurchase.status == PooledStatus.OPEN,
            PooledPurchase.deadline >= day,
            PooledPurchase.collected_cents + cents <= PooledPurchase.price_cents,
        )
        .values(collected_cents=PooledPurchase.collected_cents + cents)
        .returning(PooledPurchase.collected_cents)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return None if collected is None else int(collected)


def _give_back(pooled: PooledPurchase, cents: int) -> None:
    db.session.execute(
        update(PooledPurchase)
        .where(PooledPurchase.id == pooled.id)
        .values(collected_cents=PooledPurchase.collected_cents - cents)
        .execution_options(synchronize_session=False)
    )


def _refusal_after_race(pooled: PooledPurchase, cents: int, day: date) -> DomainError:
    """Why the guarded UPDATE matched no row, read afresh (another join or the deadline
    task came first)."""
    db.session.refresh(pooled, ["status", "collected_cents", "deadline"])
    if not pooled.is_open:
        return Conflict(_ended_message(pooled))
    if pooled.deadline < day:
        return Conflict(
            "Cet achat groupé n'accepte plus de participation : la date limite est passée."
        )
    return ValidationFailed(
        f"Participation : au plus {format_euros(pooled.remaining_cents)}, ce qui reste à "
        "réunir (d'autres collègues viennent de participer).",
        details={"amount": [f"au plus {format_euros(pooled.remaining_cents)}"]},
    )


def _add_share(
    pooled: PooledPurchase,
    teacher: User,
    cents: int,
    day: date,
    found: orders.Offer,
    accounts: tuple[LedgerAccount, LedgerAccount],
) -> PooledShare:
    """Take the share: the cap first (the row lock that serialises joins and the deadline
    task), then the share row, then the money; the purchase completes if it is reached."""
    credit, hold = accounts
    told = {pooled.started_by, *(s.teacher_id for s in pooled.active_shares)} - {teacher.id}
    collected = _take(pooled, cents, day)
    if collected is None:
        raise _refusal_after_race(pooled, cents, day)
    share: PooledShare | None = db.session.scalars(
        insert_or_ignore(db.session, PooledShare)
        .values(
            pooled_purchase_id=pooled.id,
            teacher_id=teacher.id,
            amount_cents=cents,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(PooledShare)
    ).one_or_none()
    if share is None:  # the same form sent twice at once: the other one is in
        _give_back(pooled, cents)
        raise Conflict("Vous participez déjà à cet achat groupé.")
    share_id = share.id
    try:
        entry = ledger.post(
            EntryKind.POOL_SHARE,
            [(credit, -cents), (hold, cents)],
            idempotency_key=f"pooled:{pooled.id}:share:{share_id}",
            reference=f"pooled:{pooled.id}",
            actor=teacher,
            memo=f"Achat groupé n°{pooled.id} — {pooled.title}",
            new_key=True,
        )
    except ledger.InsufficientFunds as error:  # spent elsewhere since the check
        db.session.execute(delete(PooledShare).where(PooledShare.id == share_id))
        _give_back(pooled, cents)
        raise ValidationFailed(
            f"Participation : elle dépasse votre crédit disponible "
            f"({format_euros(ledger.balance(credit))}).",
            details={"amount": ["crédit insuffisant"]},
        ) from error
    db.session.execute(
        update(PooledShare)
        .where(PooledShare.id == share_id)
        .values(entry_id=entry.id)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(share, "entry_id", entry.id)
    set_committed_value(pooled, "collected_cents", collected)
    if "shares" in pooled.__dict__:
        set_committed_value(pooled, "shares", [*pooled.shares, share])
    notifications.notify(
        "pooled_joined", {"share": share_id}, users=sorted(told), key=f"pooled-joined:{share_id}"
    )
    if collected == pooled.price_cents:
        _complete(pooled, found, hold, day)
    return share


# --- complete ------------------------------------------------------------------------------


def _complete(pooled: PooledPurchase, found: orders.Offer, hold: LedgerAccount, day: date) -> None:
    """The shares reached the price (the row is locked by the UPDATE that got there): one
    order for the school, paid from the hold account; one school licence. The order and
    the licence name one of those who paid: the starter, unless they withdrew."""
    school = db.session.get(School, pooled.school_id)
    buyer_id = db.session.scalar(
        select(PooledShare.teacher_id)
        .where(PooledShare.pooled_purchase_id == pooled.id, PooledShare.withdrawn_at.is_(None))
        .order_by((PooledShare.teacher_id == pooled.started_by).desc(), PooledShare.id)
        .limit(1)
    )
    buyer = db.session.get(User, buyer_id)
    assert school is not None
    assert buyer is not None  # the price is reached: somebody paid
    order = orders.place_paid_order(
        buyer,
        school,
        found,
        hold,
        f"{orders.POOLED_ORDER_KEY}{pooled.id}",
        on=day,
        memo=f"Achat groupé n°{pooled.id} — {pooled.title}",
    )
    db.session.execute(
        update(PooledPurchase)
        .where(PooledPurchase.id == pooled.id, PooledPurchase.status == PooledStatus.OPEN)
        .values(status=PooledStatus.COMPLETED, order_id=order.id, ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.expire(pooled)
    audit.record(None, "pooled_purchase.completed", "pooled_purchase", pooled.id, order=order.id)
    contributors = select(PooledShare.teacher_id).where(
        PooledShare.pooled_purchase_id == pooled.id, PooledShare.withdrawn_at.is_(None)
    )
    notifications.notify(
        "pooled_completed",
        {"pooled": pooled.id},
        users=list(db.session.scalars(contributors)),
        key=f"pooled-completed:{pooled.id}",
    )


# --- withdraw ------------------------------------------------------------------------------


def _locked(pooled_id: int) -> PooledPurchase | None:
    return db.session.scalar(
        select(PooledPurchase)
        .where(PooledPurchase.id == pooled_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def withdraw(teacher: User, pooled_id: int) -> PooledShare:
    """The teacher takes their share back while the purchase is open (a refund entry)."""
    visible(teacher, pooled_id)
    pooled = _locked(pooled_id)
    assert pooled is not None
    share = db.session.scalar(
        select(PooledShare)
        .where(
            PooledShare.pooled_purchase_id == pooled.id,
            PooledShare.teacher_id == teacher.id,
            PooledShare.withdrawn_at.is_(None),
        )
        .execution_options(populate_existing=True)
    )
    if share is None:
        raise Conflict("Vous n'avez pas (ou plus) de participation dans cet achat groupé.")
    if not pooled.is_open:
        raise Conflict(_ended_message(pooled) + " Votre participation ne peut plus être retirée.")
    entry = _refund(pooled, share, teacher, "Participation retirée")
    share.withdrawn_at = utcnow()
    share.refund_entry_id = entry.id
    _give_back(pooled, share.amount_cents)
    db.session.expire(pooled, ["collected_cents"])
    audit.record(teacher, "pooled_purchase.withdrawn", "pooled_purchase", pooled.id, share=share.id)
    return share


def _refund(
    pooled: PooledPurchase, share: PooledShare, actor: User | None, why: str
) -> JournalEntry:
    credit = ledger.teacher_credit(share.teacher_id, pooled.academy_code, pooled.school_year_code)
    hold = ledger.pooled_purchase_hold(pooled.id, pooled.academy_code, pooled.school_year_code)
    return ledger.post(
        EntryKind.POOL_REFUND,
        [(hold, -share.amount_cents), (credit, share.amount_cents)],
        idempotency_key=f"pooled:{pooled.id}:refund:{share.id}",
        reference=f"pooled:{pooled.id}",
        actor=actor,
        memo=f"{why} — achat groupé n°{pooled.id}",
    )


# --- expire, cancel ----------------------------------------------------------------------------


def _end(pooled: PooledPurchase, status: PooledStatus, reason: str, *, due: date | None) -> bool:
    """Turn an open purchase to `status` (guarded: only if still open, and when `due` is
    given only if its deadline is before it) and give every share back. False when it was
    no longer open (completed by a last join, or ended by another run)."""
    guard = [PooledPurchase.id == pooled.id, PooledPurchase.status == PooledStatus.OPEN]
    if due is not None:
        guard.append(PooledPurchase.deadline < due)
    ended = db.session.execute(
        update(PooledPurchase)
        .where(*guard)
        .values(status=status, ended_at=utcnow(), end_reason=reason)
        .returning(PooledPurchase.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if ended is None:
        return False
    shares = db.session.scalars(
        select(PooledShare)
        .where(PooledShare.pooled_purchase_id == pooled.id, PooledShare.refund_entry_id.is_(None))
        .execution_options(populate_existing=True)
    ).all()
    for share in shares:
        share.refund_entry_id = _refund(pooled, share, None, reason).id
    db.session.expire(pooled)
    audit.record(
        None, f"pooled_purchase.{status.value}", "pooled_purchase", pooled.id, reason=reason
    )
    notifications.notify(
        "pooled_refunded",
        {"pooled": pooled.id},
        users=[share.teacher_id for share in shares],
        key=f"pooled-refunded:{pooled.id}",
    )
    return True


def expire(pooled: PooledPurchase, on: date | None = None) -> bool:
    day = on or today()
    return _end(
        pooled,
        PooledStatus.EXPIRED,
        "Date limite passée sans que le prix soit réuni : participations rendues",
        due=day,
    )


def cancel(pooled: PooledPurchase, reason: str) -> bool:
    return _end(pooled, PooledStatus.CANCELLED, reason, due=None)


def _open(*where: object) -> Sequence[PooledPurchase]:
    return db.session.scalars(
        select(PooledPurchase)
        .where(PooledPurchase.status == PooledStatus.OPEN, *where)  # type: ignore[arg-type]
        .order_by(PooledPurchase.id)
    ).all()


@dataclass(frozen=True)
class Ended:
    expired: int
    cancelled: int


def end_due(on: date | None = None) -> Ended:
    """Expire the open purchases whose deadline has passed; cancel those whose product
    left the catalogue or changed price. Safe to run again (each end is guarded)."""
    day = on or today()
    expired = sum(expire(p, day) for p in _open(PooledPurchase.deadline < day))
    return Ended(expired, _cancel_stale(_open()))


def cancel_for_product(product_id: int) -> int:
    """Called where a product stops being on sale or changes price (a new version listed):
    cancel its open purchases that can no longer go on. Returns how many were cancelled."""
    return _cancel_stale(_open(PooledPurchase.product_id == product_id))


def cancel_for_vendor(vendor_id: int) -> int:
    """Called when a vendor is suspended: its products left the catalogue."""
    products = select(Product.id).where(Product.vendor_id == vendor_id)
    return _cancel_stale(_open(PooledPurchase.product_id.in_(products)))


def _cancel_stale(still_open: Sequence[PooledPurchase]) -> int:
    if not still_open:
        return 0
    db.session.flush()  # the change that brought us here is seen by the offer's query
    on_sale = orders.offers_on_sale({(p.product_id, p.plan_kind) for p in still_open})
    cancelled = 0
    for pooled in still_open:
        problem = _offer_problem(pooled, on_sale.get((pooled.product_id, pooled.plan_kind)))
        if problem is not None:
            cancelled += cancel(pooled, f"Achat groupé annulé : {problem}.")
    return cancelled


def end_year(school_year: str) -> int:
    """Year closing: no hold account keeps money past it. Every open purchase of the year
    ends (expired), its shares back to the teachers' credit, before that credit expires."""
    ended = 0
    for pooled in _open(PooledPurchase.school_year_code == school_year):
        ended += _end(
            pooled,
            PooledStatus.EXPIRED,
            f"Clôture de l'année scolaire {school_year} : participations rendues",
            due=None,
        )
    return ended


@schedule.task("pooled-purchases.end", "10 * * * *", _l("Fin des achats groupés échus"))
def end_due_now() -> None:
    end_due()
