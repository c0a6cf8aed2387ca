"""Settlement: paying vendors what they earned, exactly once, and matching the ledger.

``settle(until)`` pays, per vendor, the order lines bought up to `until` (inclusive,
Paris time) whose withdrawal period is over, that were not cancelled and not paid yet,
minus the refunds of lines paid by an earlier payout. Each vendor's payout is one
transaction: the payout and its lines (a unique constraint pays an order line once),
a balanced PAYOUT entry ``vendor_payable → vendor_paid``. The transfer through the
gateway follows; a payout whose transfer did not go through stays open and the next
run retries it with the same idempotency key, so the gateway never pays twice.

A vendor whose net is zero or negative (refunds larger than sales) receives nothing:
its sales and refunds wait, unrecorded, for the next run. A vendor that cannot be paid
(no usable payout account, no valid bank details) is skipped, with the reason kept on
the run.

A run is started only for a cut-off that is not after today (Paris) and when something is
due: ``preview(until)`` says what a run would pay, without writing anything, and the
operator confirms that summary before ``start_run`` (which checks it did not change).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import aliased
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, ValidationError

from app import mail, notifications
from app.accounts.models import User
from app.core import audit, storage
from app.core.dates import EARLIEST, PARIS, local_date
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from app.orders.models import Order, OrderLine, OrderLineStatus
from app.orders.services import WITHDRAWAL_DAYS
from app.payouts.gateway import (
    GatewayError,
    PayoutGateway,
    StripeGateway,
    gateway,
    gateway_label,
)
from app.payouts.models import (
    BankDetails,
    Payout,
    PayoutAccount,
    PayoutLine,
    PayoutLineKind,
    PayoutStatus,
    SettlementRun,
)
from app.vendors import services as vendors
from app.vendors.models import Vendor


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)


def _paid_as(kind: PayoutLineKind) -> ColumnElement[bool]:
    paid = aliased(PayoutLine)
    return exists().where(paid.order_line_id == OrderLine.id, paid.kind == kind)


def _sales(vendor_id: int, until: date, now: datetime) -> list[OrderLine]:
    """Lines to pay: bought by `until`, past the withdrawal period, not cancelled, unpaid."""
    settled_before = now - timedelta(days=WITHDRAWAL_DAYS)
    query = (
        select(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.vendor_id == vendor_id,
            OrderLine.status == OrderLineStatus.PAID,
            Order.created_at < _end_of(until),
            Order.created_at <= settled_before,
            ~_paid_as(PayoutLineKind.SALE),
        )
        .order_by(OrderLine.id)
    )
    return list(db.session.scalars(query))


def _refunds(vendor_id: int) -> list[OrderLine]:
    """Lines paid by an earlier payout and cancelled since: to deduct."""
    query = (
        select(OrderLine)
        .where(
            OrderLine.vendor_id == vendor_id,
            OrderLine.status == OrderLineStatus.CANCELLED,
            _paid_as(PayoutLineKind.SALE),
            ~_paid_as(PayoutLineKind.REFUND),
        )
        .order_by(OrderLine.id)
    )
    return list(db.session.scalars(query))


def _vendors_to_settle(until: date) -> list[Vendor]:
    """Vendors with an unpaid sale or an undeducted refund (cheap pre-filter)."""
    unpaid = and_(
        OrderLine.vendor_id == Vendor.id,
        ~_paid_as(PayoutLineKind.SALE),
        OrderLine.status == OrderLineStatus.PAID,
    )
    undeducted = and_(
        OrderLine.vendor_id == Vendor.id,
        OrderLine.status == OrderLineStatus.CANCELLED,
        _paid_as(PayoutLineKind.SALE),
        ~_paid_as(PayoutLineKind.REFUND),
    )
    query = (
        select(Vendor)
        .where(exists().where(unpaid) | exists().where(undeducted))
        .order_by(Vendor.id)
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class VendorResult:
    vendor: Vendor
    payout: Payout | None
    skipped: str | None


class NothingToPay(DomainError):
    """A run was asked for while nothing is due: no run is written."""

    code = "nothing_to_pay"


class NotDue(str):
    """Why nothing is due to a vendor at a cut-off (as opposed to a vendor that cannot be
    paid): the reason shown, in French."""


def _not_due(vendor_id: int, until: date) -> NotDue:
    """Which of the true reasons applies when a vendor has nothing to be paid up to
    `until`: sales still in their withdrawal period, sales already paid, or no sale."""
    bought_by = and_(
        OrderLine.vendor_id == vendor_id,
        OrderLine.status == OrderLineStatus.PAID,
        Order.created_at < _end_of(until),
    )
    first_waiting = db.session.scalar(
        select(func.min(Order.created_at))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(bought_by, ~_paid_as(PayoutLineKind.SALE))
    )
    if first_waiting is not None:
        payable_on = local_date(first_waiting + timedelta(days=WITHDRAWAL_DAYS))
        return NotDue(
            "Ventes encore dans le délai de rétractation "
            f"(réglables à partir du {payable_on:%d/%m/%Y})."
        )
    already_paid = db.session.scalar(
        select(
            exists()
            .where(Order.id == OrderLine.order_id)
            .where(bought_by, _paid_as(PayoutLineKind.SALE))
        )
    )
    if already_paid:
        return NotDue("Déjà payé jusqu'à cette date.")
    return NotDue(f"Aucune vente jusqu'au {until:%d/%m/%Y}.")


@dataclass(frozen=True)
class DueVendor:
    """What a run would pay one vendor."""

    vendor: Vendor
    sales_cents: int
    deductions_cents: int

    @property
    def amount_cents(self) -> int:
        return self.sales_cents - self.deductions_cents


@dataclass(frozen=True)
class Preview:
    """What a settlement run up to `until` would do, computed without writing anything."""

    until: date
    due: list[DueVendor]  # vendors that would be paid, with their amounts
    skipped: list[tuple[Vendor, str]]  # vendors that would not be paid, and why
    retries: list[Payout]  # open payouts of earlier runs whose transfer is tried again

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.due)

    @property
    def nothing_to_pay(self) -> bool:
        return not self.due and not self.retries

    @property
    def fingerprint(self) -> str:
        """Changes whenever what would be paid changes: the confirmation carries it."""
        parts = [self.until.isoformat()]
        parts += [f"{line.vendor.id}:{line.amount_cents}" for line in self.due]
        parts += [f"retry:{payout.id}" for payout in self.retries]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    @property
    def nothing_to_pay_message(self) -> str:
        why = (
            "aucun éditeur ne peut être payé pour l'instant, pour les raisons ci-dessous"
            if any(not isinstance(reason, NotDue) for _vendor, reason in self.skipped)
            else "aucune vente réglée n'attend de versement"
        )
        return (
            f"Rien à payer pour les ventes jusqu'au {self.until:%d/%m/%Y} : {why}. "
            "Aucun règlement n'a été enregistré."
        )


def check_until(until: date, now: datetime | None = None) -> None:
    """A cut-off after today (Paris) would pay sales that have not happened; one before
    `dates.EARLIEST` (year 1…) is a typing error: both refused."""
    today = local_date(now or utcnow())
    if until > today:
        code, reason = (
            "future_date",
            f"la date ne peut pas être après aujourd'hui ({today:%d/%m/%Y}) : "
            "on ne règle que des ventes passées.",
        )
    elif until < EARLIEST:
        code, reason = "absurd_date", f"la date doit être le {EARLIEST:%d/%m/%Y} ou après."
    else:
        return
    raise ValidationFailed(
        f"Ventes réglées jusqu'au : {reason}",
        code=code,
        details={"until": [reason[0].upper() + reason[1:]]},
    )


def _due(
    vendor_id: int, until: date, now: datetime
) -> tuple[list[OrderLine], list[OrderLine], str | None]:
    """A vendor's sales to pay and refunds to deduct, and why nothing is paid if so."""
    sales = _sales(vendor_id, until, now)
    refunds = _refunds(vendor_id)
    net = sum(line.price_cents for line in sales) - sum(line.price_cents for line in refunds)
    if not sales and not refunds:
        return sales, refunds, _not_due(vendor_id, until)
    if net <= 0:
        return (
            sales,
            refunds,
            (
                f"Solde négatif ou nul ({(net / 100):.2f} €) : les remboursements dépassent les "
                "ventes ; rien n'est versé avant qu'il redevienne positif."
            ).replace(".", ",", 1),
        )
    return sales, refunds, None


def _open_payouts() -> list[Payout]:
    query = (
        select(Payout)
        .where(Payout.status.in_([PayoutStatus.PENDING, PayoutStatus.FAILED]))
        .order_by(Payout.id)
    )
    return list(db.session.scalars(query))


def preview(until: date, now: datetime | None = None) -> Preview:
    """What a run up to `until` would pay, per vendor, and whom it would skip and why."""
    now = now or utcnow()
    check_until(until, now)
    payout_gateway = gateway()
    due: list[DueVendor] = []
    skipped: list[tuple[Vendor, str]] = []
    for vendor in _vendors_to_settle(until):
        sales, refunds, reason = _due(vendor.id, until, now)
        reason = reason or payout_gateway.unusable_reason(vendor.id)
        if reason is not None:
            skipped.append((vendor, reason))
            continue
        due.append(
            DueVendor(
                vendor,
                sales_cents=sum(line.price_cents for line in sales),
                deductions_cents=sum(line.price_cents for line in refunds),
            )
        )
    return Preview(until, due, skipped, _open_payouts())


def start_run(
    actor: User | None, until: date, now: datetime | None = None, confirmed: str | None = None
) -> SettlementRun:
    """Start a run, once the cut-off is checked and something is due (else nothing is
    written). With `confirmed` (the fingerprint of the summary the operator confirmed), a
    summary that changed meanwhile is refused, to be confirmed again."""
    summary = preview(until, now)
    if summary.nothing_to_pay:
        raise NothingToPay(summary.nothing_to_pay_message)
    if confirmed is not None and confirmed != summary.fingerprint:
        raise Conflict(
            "Les montants ont changé depuis le récapitulatif (une vente, un remboursement ou "
            "des coordonnées bancaires) : vérifiez le nouveau récapitulatif avant de confirmer.",
            code="summary_changed",
        )
    run = SettlementRun(until=until, gateway=gateway().name, started_by=actor.id if actor else None)
    db.session.add(run)
    db.session.flush()
    audit.record(actor, "settlement.started", "settlement_run", run.id, until=until.isoformat())
    return run


def settle(
    actor: User | None, run: SettlementRun, now: datetime | None = None
) -> Iterator[VendorResult]:
    """Settle every vendor for the run's cut-off; yields one result per vendor, the caller
    commits after each (so a long run shows progress and can be resumed)."""
    now = now or utcnow()
    payout_gateway = gateway()
    for vendor in _vendors_to_settle(run.until):
        payout, reason = _payout(actor, run, vendor, now, payout_gateway)
        if reason is not None:
            run.skipped = {**run.skipped, str(vendor.id): reason}
        yield VendorResult(vendor, payout, reason)
    yield from _transfers(payout_gateway)
    run.finished_at = utcnow()


def _payout(
    actor: User | None,
    run: SettlementRun,
    vendor: Vendor,
    now: datetime,
    payout_gateway: PayoutGateway,
) -> tuple[Payout | None, str | None]:
    # One settlement of a vendor at a time: a second run waits here, then finds it paid.
    db.session.execute(select(Vendor.id).where(Vendor.id == vendor.id).with_for_update())
    sales, refunds, reason = _due(vendor.id, run.until, now)
    reason = reason or payout_gateway.unusable_reason(vendor.id)
    if reason is not None:
        return None, reason
    sales_cents = sum(line.price_cents for line in sales)
    deductions_cents = sum(line.price_cents for line in refunds)
    net = sales_cents - deductions_cents
    entry = ledger.transfer(
        ledger.vendor_payable(vendor.id),
        ledger.vendor_paid(vendor.id),
        net,
        kind=EntryKind.PAYOUT,
        idempotency_key=f"payout:run:{run.id}:vendor:{vendor.id}",
        reference=f"payout:run:{run.id}:vendor:{vendor.id}",
        actor=actor,
        memo=f"Versement à {vendor.legal_name} (ventes jusqu'au {run.until:%d/%m/%Y})",
    )
    payout = Payout(
        run=run,
        vendor_id=vendor.id,
        until=run.until,
        sales_cents=sales_cents,
        deductions_cents=deductions_cents,
        amount_cents=net,
        gateway=payout_gateway.name,
        entry_id=entry.id,
    )
    db.session.add(payout)
    payout.lines = [
        PayoutLine(order_line_id=line.id, kind=PayoutLineKind.SALE, amount_cents=line.price_cents)
        for line in sales
    ] + [
        PayoutLine(
            order_line_id=line.id, kind=PayoutLineKind.REFUND, amount_cents=-line.price_cents
        )
        for line in refunds
    ]
    db.session.flush()
    audit.record(actor, "payout.created", "payout", payout.id, amount_cents=net)
    return payout, None


def _transfers(payout_gateway: PayoutGateway) -> Iterator[VendorResult]:
    """Transfer the open payouts (this run's and any left open by an earlier one)."""
    for payout in _open_payouts():
        transfer(payout, payout_gateway)
        yield VendorResult(payout.vendor, payout, payout.failure_reason)


def transfer(payout: Payout, payout_gateway: PayoutGateway | None = None) -> None:
    """Send an open payout through the gateway; a refusal leaves it open (failed)."""
    payout_gateway = payout_gateway or gateway()
    account = db.session.get(PayoutAccount, payout.vendor_id)
    try:
        result = payout_gateway.transfer(payout, account)
    except GatewayError as error:
        payout.status = PayoutStatus.FAILED
        payout.failure_reason = str(error)
        return
    payout.status = PayoutStatus.TRANSFERRED
    payout.transfer_id = result.id
    payout.transferred_at = utcnow()
    payout.failure_reason = None
    statement_key(payout)
    audit.record(None, "payout.transferred", "payout", payout.id, transfer_id=result.id)
    if payout.gateway != "manual":  # a manual payout is sent when the office marks it paid
        _tell_sent(payout)


def _tell_sent(payout: Payout) -> None:
    """The vendor's staff are told their money left, with the statement: at the gateway's
    transfer, or, for the manual gateway, when the accounting office marks the transfer
    made (before that, nothing was sent: it is only on the list of payouts to pay)."""
    notifications.notify(
        "payout_sent",
        {"payout": payout.id},
        users=vendors.member_ids(payout.vendor_id),
        key=f"payout-sent:{payout.id}",
    )


def reversed_so_far(payout: Payout) -> int:
    """What reversals of this payout's transfer already gave back (from the ledger)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(
            JournalEntry.kind == EntryKind.REVERSAL,
            JournalEntry.reference == f"payout:{payout.id}",
            LedgerAccount.kind == AccountKind.VENDOR_PAYABLE,
        )
    )
    return int(total or 0)


def request_reversal(actor: User, payout: Payout) -> None:
    """Ask Stripe to take a transfer back (an operator's correction). Nothing moves in the
    books until Stripe confirms: the `transfer.reversed` webhook calls record_reversal."""
    payout_gateway = gateway()
    if not isinstance(payout_gateway, StripeGateway) or payout.transfer_id is None:
        raise Conflict("Seul un virement Stripe peut être annulé ici.")
    try:
        payout_gateway.reverse(payout)
    except GatewayError as error:
        raise Conflict(f"Stripe a refusé l'annulation : {error}") from error
    audit.record(actor, "payout.reversal_requested", "payout", payout.id)


def record_reversal(transfer_id: str, amount_reversed: int, event_id: str) -> Payout | None:
    """A transfer was (partly) reversed: what came back is owed to the vendor again (a
    reversal entry), and the payout is flagged once wholly reversed. Stripe's
    `amount_reversed` is a running total: only its increase is booked."""
    payout = db.session.scalar(
        select(Payout).where(Payout.transfer_id == transfer_id).with_for_update()
    )
    if payout is None:
        return None
    cents = min(amount_reversed, payout.amount_cents) - reversed_so_far(payout)
    if cents <= 0:
        return payout
    entry = ledger.transfer(
        ledger.vendor_paid(payout.vendor_id),
        ledger.vendor_payable(payout.vendor_id),
        cents,
        kind=EntryKind.REVERSAL,
        idempotency_key=f"transfer_reversed:{event_id}",
        reference=f"payout:{payout.id}",
        actor=None,
        memo=f"Virement {transfer_id} annulé ({cents / 100:.2f} €)".replace(".", ","),
    )
    payout.reversal_entry_id = entry.id
    if amount_reversed >= payout.amount_cents:
        payout.status = PayoutStatus.REVERSED
    audit.record(None, "payout.reversed", "payout", payout.id, cents=cents)
    return payout


# --- statements ------------------------------------------------------------------------


def statement_rows(payout: Payout) -> list[tuple[PayoutLine, OrderLine, Order, str]]:
    from app.budgets.models import School

    query = (
        select(PayoutLine, OrderLine, Order, School.uai)
        .join(OrderLine, OrderLine.id == PayoutLine.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(School, School.id == Order.school_id)
        .where(PayoutLine.payout_id == payout.id)
        .order_by(PayoutLine.kind.desc(), Order.id, OrderLine.id)
    )
    return [(p, line, order, uai) for p, line, order, uai in db.session.execute(query)]


def statement_key(payout: Payout) -> str:
    """The PDF statement of a payout, rendered once and kept."""
    if payout.statement_key is None:
        from app.documents import services as documents
        from app.products.models import PLAN_LABELS

        pdf = documents.render_pdf(
            "documents/statement.html",
            payout=payout,
            rows=statement_rows(payout),
            plan_labels=PLAN_LABELS,
        )
        payout.statement_key = storage.save("statements", pdf, "pdf")
    return payout.statement_key


# --- reading ---------------------------------------------------------------------------


def vendor_payouts(vendor_id: int) -> list[Payout]:
    query = select(Payout).where(Payout.vendor_id == vendor_id).order_by(Payout.id.desc())
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class PayoutState:
    """Whether a vendor can be paid, as the operator sees it: the gateway in use, the
    vendor's Stripe connected account (if any), why payouts are impossible (None when
    they are possible) and the last payout."""

    gateway_name: str
    account: PayoutAccount | None
    unusable: str | None
    last_payout: Payout | None

    @property
    def gateway_label(self) -> str:
        return gateway_label(self.gateway_name)


def payout_state(vendor_id: int) -> PayoutState:
    payout_gateway = gateway()
    last = db.session.scalar(
        select(Payout).where(Payout.vendor_id == vendor_id).order_by(Payout.id.desc()).limit(1)
    )
    return PayoutState(
        gateway_name=payout_gateway.name,
        account=db.session.get(PayoutAccount, vendor_id),
        unusable=payout_gateway.unusable_reason(vendor_id),
        last_payout=last,
    )


def vendor_payout(vendor_id: int, payout_id: int) -> Payout:
    payout = db.session.get(Payout, payout_id)
    if payout is None or payout.vendor_id != vendor_id:
        raise NotFound("Versement introuvable.")
    return payout


def get_payout(payout_id: int) -> Payout:
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        raise NotFound("Versement introuvable.")
    return payout


def runs() -> list[SettlementRun]:
    return list(db.session.scalars(select(SettlementRun).order_by(SettlementRun.id.desc())))


def get_run(run_id: int) -> SettlementRun:
    run = db.session.get(SettlementRun, run_id)
    if run is None:
        raise NotFound("Règlement introuvable.")
    return run


def payouts_to_pay() -> list[tuple[Payout, BankDetails | None]]:
    """Manual gateway: the payouts the accounting office must still pay by transfer (not
    marked paid yet), with the bank details to pay them to."""
    query = (
        select(Payout, BankDetails)
        .outerjoin(BankDetails, BankDetails.vendor_id == Payout.vendor_id)
        .where(
            Payout.gateway == "manual",
            Payout.status == PayoutStatus.TRANSFERRED,
            Payout.paid_at.is_(None),
        )
        .order_by(Payout.id)
    )
    return [(payout, details) for payout, details in db.session.execute(query)]


def mark_paid(actor: User, payout: Payout, bank_reference: str) -> None:
    """Manual gateway: the accounting office made the transfer; its bank reference is kept
    and the payout leaves the list of payouts to pay."""
    reference = " ".join(bank_reference.split())
    if not reference or len(reference) > 64:
        reason = "Indiquez la référence du virement donnée par la banque (64 caractères au plus)."
        raise ValidationFailed(
            "Référence du virement : indiquez la référence donnée par la banque "
            "(64 caractères au plus).",
            details={"bank_reference": [reason]},
        )
    db.session.execute(select(Payout.id).where(Payout.id == payout.id).with_for_update())
    db.session.refresh(payout)
    if payout.gateway != "manual" or payout.status is not PayoutStatus.TRANSFERRED:
        raise Conflict(
            f"Le versement {payout.number} n'est pas un virement manuel à payer.",
            code="not_to_pay",
        )
    if payout.paid_at is not None:
        raise Conflict(
            f"Le versement {payout.number} est déjà marqué payé "
            f"(référence {payout.bank_reference}).",
            code="already_paid",
        )
    details = db.session.get(BankDetails, payout.vendor_id)
    payout.bank_reference = reference
    payout.paid_at = utcnow()
    payout.paid_by = actor.id
    audit.record(
        actor,
        "payout.marked_paid",
        "payout",
        payout.id,
        bank_reference=reference,
        amount_cents=payout.amount_cents,
        iban=details.iban if details else None,
    )
    _tell_sent(payout)


# --- bank details ----------------------------------------------------------------------


def bank_details(vendor_id: int) -> BankDetails | None:
    return db.session.get(BankDetails, vendor_id)


def _checked_bank_details(holder: str, iban: str, bic: str) -> tuple[str, str, str]:
    """The details in their compact form, or every reason they are refused, per field."""
    errors: dict[str, list[str]] = {}
    holder = " ".join(holder.split())
    if not holder:
        errors["holder"] = ["Indiquez le nom du titulaire du compte."]
    elif len(holder) > 140:
        errors["holder"] = ["Le nom du titulaire a 140 caractères au plus."]
    try:
        iban = stdnum_iban.validate(iban)
    except InvalidChecksum:
        errors["iban"] = ["La clé de contrôle ne correspond pas : vérifiez chaque caractère."]
    except ValidationError:
        errors["iban"] = [
            "Ce n'est pas un IBAN (un IBAN français a 27 caractères et commence par FR)."
        ]
    try:
        bic = stdnum_bic.validate(bic)
    except ValidationError:
        errors["bic"] = ["Ce n'est pas un BIC (8 ou 11 lettres et chiffres, par exemple AGRIFRPP)."]
    if errors:
        labels = {"holder": "Titulaire du compte", "iban": "IBAN", "bic": "BIC"}
        message = " ".join(
            f"{labels[name]} : {reasons[0][0].lower()}{reasons[0][1:]}"
            for name, reasons in errors.items()
        )
        raise ValidationFailed(message, details=errors)
    return holder, iban, bic


def save_bank_details(actor: User, vendor: Vendor, holder: str, iban: str, bic: str) -> bool:
    """A member of the vendor gives (or changes) where its payouts are sent: checked, kept,
    audited, and told by mail to every member of the vendor. False when nothing changed."""
    holder, iban, bic = _checked_bank_details(holder, iban, bic)
    details = db.session.get(BankDetails, vendor.id, with_for_update=True)
    previous = (details.holder, details.iban, details.bic) if details else None
    if previous == (holder, iban, bic):
        return False
    if details is None:
        details = BankDetails(vendor_id=vendor.id)
        db.session.add(details)
    details.holder, details.iban, details.bic = holder, iban, bic
    details.updated_by = actor.id
    details.updated_at = utcnow()
    db.session.flush()
    event = audit.record(
        actor,
        "payout.bank_details_changed",
        "vendor",
        vendor.id,
        holder=holder,
        iban=iban,
        bic=bic,
        previous_iban=previous[1] if previous else None,
    )
    db.session.flush()
    payload = {
        "vendor": vendor.id,
        "by": actor.id,
        "at": details.updated_at.isoformat(),
        "iban_end": details.iban_end,
    }
    for member in vendors.members(vendor):
        mail.send(
            "bank_details_changed",
            {**payload, "user": member.id},
            to=member.email,
            key=f"{event.id}:{member.id}",
        )
    return True


# --- reconciliation ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReconciliationLine:
    payout: Payout
    ledger_cents: int  # what the PAYOUT entry moved to vendor_paid
    transferred_cents: int  # what the gateway transferred (0 while not transferred)
    statement_cents: int  # the total of the statement's lines
    reversed_cents: int  # taken back since by a reversal

    @property
    def differences(self) -> list[str]:
        problems = []
        if self.ledger_cents != self.statement_cents:
            problems.append("grand livre ≠ relevé")
        if self.transferred_cents != self.ledger_cents:
            problems.append(
                "virement non effectué" if not self.transferred_cents else "grand livre ≠ virement"
            )
        return problems


@dataclass(frozen=True)
class Reconciliation:
    since: date
    until: date
    lines: list[ReconciliationLine]
    ledger_total_cents: int  # every PAYOUT entry of the period, summed from the postings

    @property
    def payouts_total_cents(self) -> int:
        return sum(line.ledger_cents for line in self.lines)

    @property
    def transferred_total_cents(self) -> int:
        return sum(line.transferred_cents for line in self.lines)

    @property
    def statements_total_cents(self) -> int:
        return sum(line.statement_cents for line in self.lines)

    @property
    def ok(self) -> bool:
        return not any(line.differences for line in self.lines) and (
            self.ledger_total_cents == self.payouts_total_cents
        )


def _paid_side(entry_ids: list[int]) -> dict[int, int]:
    """Per entry, what it moved on vendor_paid accounts (from the postings)."""
    rows = db.session.execute(
        select(Posting.entry_id, func.sum(Posting.amount_cents))
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(Posting.entry_id.in_(entry_ids), LedgerAccount.kind == AccountKind.VENDOR_PAID)
        .group_by(Posting.entry_id)
    )
    return {entry_id: int(cents) for entry_id, cents in rows}


def reconcile(since: date, until: date) -> Reconciliation:
    """For the payouts made between two dates (inclusive): ledger vs gateway vs statements."""
    start, end = _end_of(since - timedelta(days=1)), _end_of(until)
    payouts = list(
        db.session.scalars(
            select(Payout)
            .where(Payout.created_at >= start, Payout.created_at < end)
            .order_by(Payout.id)
        )
    )
    statements = {
        payout_id: int(cents)
        for payout_id, cents in db.session.execute(
            select(PayoutLine.payout_id, func.sum(PayoutLine.amount_cents))
            .where(PayoutLine.payout_id.in_([p.id for p in payouts]))
            .group_by(PayoutLine.payout_id)
        )
    }
    paid = _paid_side([p.entry_id for p in payouts])
    lines = []
    for payout in payouts:
        ledger_cents = paid.get(payout.entry_id, 0)
        went = payout.status in (PayoutStatus.TRANSFERRED, PayoutStatus.REVERSED)
        reversed_cents = reversed_so_far(payout)
        lines.append(
            ReconciliationLine(
                payout,
                ledger_cents=ledger_cents,
                transferred_cents=payout.amount_cents if went else 0,
                statement_cents=statements.get(payout.id, 0),
                reversed_cents=reversed_cents,
            )
        )
    ledger_total = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(
            JournalEntry.kind == EntryKind.PAYOUT,
            JournalEntry.created_at >= start,
            JournalEntry.created_at < end,
            LedgerAccount.kind == AccountKind.VENDOR_PAID,
        )
    )
    return Reconciliation(since, until, lines, int(ledger_total or 0))
