"""Helpers of the payout tests: credit given and orders placed through the real services,
orders dated on a fixed calendar, settlement runs, the books read back, PDF text and
Stripe webhooks signed with the SDK's own helper."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import date, datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import stripe
from sqlalchemy import func, select

from app.accounts.models import User
from app.budgets import services as budgets
from app.extensions import Model, db
from app.ledger import services as ledger
from app.ledger.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from app.orders import services as orders
from app.orders.models import OrderLine
from app.payouts import services as payouts
from app.payouts.models import BankDetails, Payout, SettlementRun
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from app.vendors.models import Vendor
from tests import factories
from tests.payouts.stripe_transport import fixture

PARIS = ZoneInfo("Europe/Paris")


def today_in_paris() -> date:
    return datetime.now(PARIS).date()


def paris(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment on the French civil clock."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


# --- credit, products and orders, through the real services ---------------------------


def give_credit(teacher: User, cents: int) -> None:
    """The State funds the teacher's academy, then its manager allocates `cents` to the
    teacher: the way credit really reaches a teacher."""
    school = orders.teacher_schools(teacher)[0]
    year = budgets.school_year_code(orders.today())
    budgets.fund_academy(None, school.academy_code, year, cents, f"fund:{uuid4().hex}")
    manager = factories.academy_manager(school.academy_code)
    amount = f"{cents // 100},{cents % 100:02d}"
    budgets.allocate_one(
        manager, school.academy_code, year, teacher.email, school.uai, amount, uuid4().hex
    )


def on_sale(vendor: Vendor, title: str, price_cents: int) -> Product:
    """A product approved by the commission, sold with one school plan (VAT 20 %)."""
    return factories.product(
        vendor, title=title, plans=[PlanDraft(PlanKind.SCHOOL, price_cents, 2000)]
    )


def buy(teacher: User, product: Product, at: datetime) -> OrderLine:
    """The teacher buys the school plan of `product` (`place_order`); the order is then
    dated `at`, as if it had been placed then."""
    version = product.listed
    assert version is not None
    plan = version.plan(PlanKind.SCHOOL)
    assert plan is not None
    item = orders.Item(product.id, PlanKind.SCHOOL, 1, plan.price_cents)
    order = orders.place_order(teacher, [item], uuid4().hex)
    order.created_at = at
    db.session.commit()
    return order.lines[0]


def cancel(line: OrderLine, on: date) -> None:
    """The teacher who bought `line` cancels it on `on`."""
    orders.cancel_line(line.order.teacher, line.id, on=on)
    db.session.commit()


# --- settlement ------------------------------------------------------------------------


def with_bank_details(
    vendor: Vendor, iban: str = "FR7630006000011234567890189", bic: str = "AGRIFRPP"
) -> BankDetails:
    """The bank details the manual gateway pays to, as a member of the vendor gave them."""
    details = BankDetails(vendor_id=vendor.id, holder=vendor.legal_name, iban=iban, bic=bic)
    db.session.add(details)
    db.session.flush()
    return details


def settle(until: date, now: datetime, actor: User | None = None) -> SettlementRun:
    """A settlement run for the sales up to `until`, run at `now`, committed after each
    vendor as the CLI and the admin page do."""
    run = payouts.start_run(actor, until, now=now)
    db.session.commit()
    for _result in payouts.settle(actor, run, now=now):
        db.session.commit()
    db.session.commit()
    return run


def payouts_of(vendor: Vendor) -> list[Payout]:
    return list(
        db.session.scalars(select(Payout).where(Payout.vendor_id == vendor.id).order_by(Payout.id))
    )


def paid_lines(payout: Payout) -> list[tuple[str, int, int]]:
    """The payout's lines as (kind, order line id, amount)."""
    return [(line.kind.value, line.order_line_id, line.amount_cents) for line in payout.lines]


# --- the books -------------------------------------------------------------------------


def payable(vendor: Vendor) -> int:
    return ledger.balance(ledger.vendor_payable(vendor.id))


def paid(vendor: Vendor) -> int:
    return ledger.balance(ledger.vendor_paid(vendor.id))


def count(model: type[Model], *where: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def entries(kind: EntryKind) -> int:
    return count(JournalEntry, JournalEntry.kind == kind)


def entry_paid_cents(entry_id: int) -> int:
    """What an entry moved onto vendor_paid accounts, from its postings."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(Posting.entry_id == entry_id, LedgerAccount.kind == AccountKind.VENDOR_PAID)
    )
    return int(total or 0)


def assert_books_agree(payout: Payout) -> None:
    """The statement, the payout and its ledger entry say the same amount, and the whole
    ledger verifies."""
    entry = db.session.get(JournalEntry, payout.entry_id)
    assert entry is not None
    assert entry.kind is EntryKind.PAYOUT
    statement_total = sum(line.amount_cents for line in payout.lines)
    assert statement_total == payout.amount_cents == entry_paid_cents(entry.id)
    assert payout.amount_cents == payout.sales_cents - payout.deductions_cents
    assert sum(row[0].amount_cents for row in payouts.statement_rows(payout)) == statement_total
    assert ledger.verify().ok


# --- reading what people see --------------------------------------------------------------


def visible_text(page: Any) -> str:
    """What a reader sees of a page (a response or HTML): tags dropped, entities decoded,
    every run of spaces, no-break ones included, as one space."""
    source = page if isinstance(page, str) else page.get_data(as_text=True)
    text = html.unescape(re.sub(r"<[^>]+>", " ", source))
    return re.sub(r"\s+", " ", text).strip()


def euros(cents: int) -> str:
    """How an amount reads once spaces are normalised: 4000 → "40,00 €"."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", " ")
    return f"{sign}{grouped},{rest:02d} €"


# --- Stripe webhooks -------------------------------------------------------------------

PLATFORM_URL = "/webhooks/stripe"  # the platform's own events (transfers)
CONNECT_URL = "/webhooks/stripe/connect"  # the connected accounts' events


def stripe_event(
    event_type: str,
    obj: dict[str, Any],
    *,
    event_id: str | None = None,
    account: str | None = None,
    created: int | None = None,
    livemode: bool = False,
) -> str:
    """The JSON body of a Stripe event (Stripe's example event, with this object)."""
    event = fixture("event")
    event.update(
        id=event_id or f"evt_test_{uuid4().hex[:16]}",
        type=event_type,
        created=event["created"] if created is None else created,
        livemode=livemode,
    )
    event["data"] = {"object": obj}
    if account is not None:
        event["account"] = account  # events about a connected account name it
    return json.dumps(event)


def signature(payload: str, secret: str, at: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send, made by the SDK's own helper."""
    timestamp = int(time.time()) if at is None else at
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


def account_object(
    account_id: str, *, payouts_enabled: bool, disabled_reason: str | None
) -> dict[str, Any]:
    account = fixture("account")
    account.update(id=account_id, payouts_enabled=payouts_enabled, details_submitted=True)
    account["requirements"]["disabled_reason"] = disabled_reason
    return account


def reversed_transfer(transfer_id: str, amount: int, amount_reversed: int) -> dict[str, Any]:
    transfer = fixture("transfer")
    transfer.update(
        id=transfer_id,
        amount=amount,
        amount_reversed=amount_reversed,
        currency="eur",
        reversed=amount_reversed == amount,
    )
    return transfer


def failed_bank_payout(message: str, code: str) -> dict[str, Any]:
    bank_payout = fixture("payout")
    bank_payout.update(status="failed", currency="eur", failure_message=message, failure_code=code)
    return bank_payout
