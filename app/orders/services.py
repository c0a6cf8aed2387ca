"""The cart, the checkout, orders and cancellation.

Checkout is one transaction, all or nothing (:func:`place_order`): every line is checked
again (still on sale, same price), the teacher's credit is debited with the ledger's
guarded debit, the vendors' payable accounts are credited in the same balanced entry,
and the order, its lines, one pending licence per line and their provisioning jobs are
written. Any refusal or failure rolls all of it back.

The checkout form carries an idempotency key. The order row claims it first (unique
index), so the same form sent twice, even at the same instant, gives one order: the
second waits for the first and returns it.
"""

from __future__ import annotations

import enum
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from babel.dates import format_date
from sqlalchemy import ColumnElement, Table, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import notifications
from app.accounts.models import User
from app.budgets import services as budgets
from app.budgets.models import Academy, School
from app.core import audit, dates, storage
from app.core.dates import PARIS
from app.core.db import insert_rows, utcnow
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.core.money import format_euros
from app.extensions import db
from app.invoices import services as invoices
from app.ledger import services as ledger
from app.ledger.models import AccountKind, EntryKind, JournalEntry, LedgerAccount
from app.licences import services as licences
from app.licences.models import Licence, LicenceStatus
from app.orders.models import CartLine, Order, OrderLine, OrderLineStatus
from app.pooled_purchases.models import PooledPurchase, PooledShare
from app.products import services as products
from app.products.models import PLAN_LABELS, Channel, Plan, PlanKind, Product, ProductVersion
from app.vendors.models import Vendor

WITHDRAWAL_DAYS = 14
# The idempotency key of the order a pooled purchase completes with (app/pooled_purchases):
# such an order was paid by several teachers and cannot be cancelled by its buyer.
POOLED_ORDER_KEY = "pooled:"


class NotPurchasable(DomainError):
    code = "not_purchasable"


class PriceChanged(DomainError):
    code = "price_changed"


class CreditTooLow(DomainError):
    code = "insufficient_credit"


def today() -> date:
    return dates.today()


# --- what can be bought -------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A plan of a product on sale today."""

    version: ProductVersion
    plan: Plan


def offer(product_id: int, plan_kind: PlanKind) -> Offer | None:
    """The plan on sale now, or None when the product left the catalogue or the plan."""
    return offers_on_sale({(product_id, plan_kind)}).get((product_id, plan_kind))


def offers_on_sale(wanted: set[tuple[int, PlanKind]]) -> dict[tuple[int, PlanKind], Offer]:
    """The plans on sale now among `wanted` (product id, plan kind), in one query: the
    storefront's rule (``products.purchasable()``), each version with its product and
    vendor loaded. A product or plan not on sale is missing from the result."""
    if not wanted:
        return {}
    rows = db.session.execute(
        _OFFERS_ON_SALE,
        {
            "product_ids": sorted({product_id for product_id, _ in wanted}),
            "kinds": sorted({kind for _, kind in wanted}),
            "on": products.today(),  # the storefront's rule's day
        },
    )
    found: dict[tuple[int, PlanKind], Offer] = {}
    for version, plan in rows:
        found.setdefault((version.product_id, plan.kind), Offer(version, plan))
    return found


_OFFERS_ON_SALE = (  # built once: every checkout reads it
    select(ProductVersion, Plan)
    .join(Product, Product.id == ProductVersion.product_id)
    .join(Vendor, Vendor.id == Product.vendor_id)
    .join(Plan, Plan.version_id == ProductVersion.id)
    .where(
        Product.id.in_(bindparam("product_ids", expanding=True)),
        Plan.kind.in_(bindparam("kinds", expanding=True)),
        products.purchasable(bindparam("on")),
    )
    .options(contains_eager(ProductVersion.product).contains_eager(Product.vendor))
    .order_by(Plan.id)
)


def _check_seats(plan: Plan, seats: int | None) -> int:
    """The pupils a line covers: 1 for a teacher or school plan; for a class plan, from 1
    to the plan's maximum, refused otherwise with a message naming the field."""
    if plan.kind is not PlanKind.CLASS:
        return 1
    most = plan.max_pupils or 0
    if seats is None:
        raise ValidationFailed(
            f"Nombre d'élèves : indiquez combien d'élèves la licence classe couvre "
            f"(de 1 à {most}).",
            details={"seats": [f"obligatoire pour la licence classe, de 1 à {most}"]},
        )
    if not 1 <= seats <= most:
        raise ValidationFailed(
            f"Nombre d'élèves : {seats} n'est pas possible, la licence classe couvre "
            f"de 1 à {most} élèves.",
            details={"seats": [f"entre 1 et {most}"]},
        )
    return seats


def _owned(teacher: User, product_id: int) -> bool:
    """The teacher already holds (or awaits) a per-teacher licence of this product."""
    query = select(Licence.id).where(
        Licence.teacher_id == teacher.id,
        Licence.product_id == product_id,
        Licence.plan_kind == PlanKind.TEACHER,
        Licence.status.in_([LicenceStatus.PENDING, LicenceStatus.ACTIVE]),
    )
    return db.session.scalar(query.limit(1)) is not None


# --- the cart --------------------------------------------------------------------------


def add_to_cart(
    teacher: User, product_id: int, plan_kind: PlanKind, seats: int | None = 1
) -> CartLine:
    """Put a plan in the cart (again: the quantity and the price seen are updated).
    `seats` counts only for a class plan, where it is required."""
    found = offer(product_id, plan_kind)
    if found is None:
        raise NotPurchasable("Cette offre n'est pas (ou plus) proposée au catalogue.")
    seats = _check_seats(found.plan, seats)
    if plan_kind is PlanKind.TEACHER and _owned(teacher, product_id):
        raise Conflict("Vous disposez déjà de cette ressource.")
    line = _cart_line_of(teacher, product_id, plan_kind)
    if line is None:
        try:
            with db.session.begin_nested():  # the same click twice, two tabs: one line
                line = CartLine(teacher_id=teacher.id, product_id=product_id, plan_kind=plan_kind)
                line.seats, line.seen_price_cents = seats, found.plan.price_cents
                db.session.add(line)
            return line
        except IntegrityError:  # the other request added it first: update that one
            line = _cart_line_of(teacher, product_id, plan_kind)
            assert line is not None
    line.seats = seats
    line.seen_price_cents = found.plan.price_cents
    db.session.flush()
    return line


def _cart_line_of(teacher: User, product_id: int, plan_kind: PlanKind) -> CartLine | None:
    return db.session.scalar(
        select(CartLine).where(
            CartLine.teacher_id == teacher.id,
            CartLine.product_id == product_id,
            CartLine.plan_kind == plan_kind,
        )
    )


def _cart_line(teacher: User, line_id: int) -> CartLine:
    line = db.session.get(CartLine, line_id)
    if line is None or line.teacher_id != teacher.id:
        raise NotFound("Cette ligne n'est pas dans votre panier.")
    return line


def change_seats(teacher: User, line_id: int, seats: int | None) -> None:
    line = _cart_line(teacher, line_id)
    found = offer(line.product_id, line.plan_kind)
    if found is None:
        raise NotPurchasable("Cette offre n'est plus proposée : retirez-la du panier.")
    line.seats = _check_seats(found.plan, seats)


def remove_from_cart(teacher: User, line_id: int) -> None:
    db.session.delete(_cart_line(teacher, line_id))


def confirm_prices(teacher: User) -> None:
    """The teacher accepts the current prices of the lines whose price changed."""
    lines = _lines(teacher)
    on_sale = offers_on_sale({(line.product_id, line.plan_kind) for line in lines})
    for line in lines:
        found = on_sale.get((line.product_id, line.plan_kind))
        if found is not None:
            line.seen_price_cents = found.plan.price_cents


@dataclass(frozen=True)
class CartItem:
    line: CartLine
    offer: Offer | None
    problem: str | None  # why this line cannot be bought now, in French

    @property
    def price_cents(self) -> int:
        return self.offer.plan.price_cents if self.offer else self.line.seen_price_cents

    @property
    def price_changed(self) -> bool:
        return self.offer is not None and self.offer.plan.price_cents != self.line.seen_price_cents


@dataclass(frozen=True)
class Cart:
    items: list[CartItem]
    credit_cents: int

    @property
    def total_cents(self) -> int:
        return sum(item.price_cents for item in self.items if item.offer is not None)

    @property
    def credit_after_cents(self) -> int:
        return self.credit_cents - self.total_cents

    @property
    def ready(self) -> bool:
        return bool(self.items) and all(item.problem is None for item in self.items)


def _lines(teacher: User, lock: bool = False) -> list[CartLine]:
    """The teacher's cart lines; `lock`: their rows locked, for the checkout (which needs
    no product loaded: it reads the offers on sale)."""
    query = select(CartLine).where(CartLine.teacher_id == teacher.id).order_by(CartLine.id)
    if lock:
        return list(db.session.scalars(query.with_for_update()))
    return list(db.session.scalars(query.options(selectinload(CartLine.product))))


def _problem(teacher: User, line: CartLine, found: Offer | None) -> str | None:
    if found is None:
        return "Retiré du catalogue : cette offre ne peut plus être achetée."
    if found.plan.price_cents != line.seen_price_cents:
        return (
            f"Le prix a changé : {format_euros(line.seen_price_cents)} → "
            f"{format_euros(found.plan.price_cents)}. Confirmez le nouveau prix."
        )
    if line.plan_kind is PlanKind.TEACHER and _owned(teacher, line.product_id):
        return "Vous disposez déjà de cette ressource."
    return None


def cart(teacher: User, school_year: str) -> Cart:
    lines = _lines(teacher)
    on_sale = offers_on_sale({(line.product_id, line.plan_kind) for line in lines})
    items = []
    for line in lines:
        found = on_sale.get((line.product_id, line.plan_kind))
        items.append(CartItem(line, found, _problem(teacher, line, found)))
    return Cart(items, budgets.teacher_balance(teacher.id, school_year))


def cart_size(teacher: User) -> int:
    count = select(func.count()).where(CartLine.teacher_id == teacher.id)
    return int(db.session.scalar(count) or 0)


# --- the summary before paying ----------------------------------------------------------


class CartChanged(Conflict):
    code = "cart_changed"


def cart_fingerprint(lines: Sequence[CartLine]) -> str:
    """What the teacher confirmed on the summary: each line's product, plan, seats and
    price. A checkout of a cart that changed since (another tab) is refused."""
    parts = sorted(
        f"{line.id}:{line.product_id}:{line.plan_kind.value}:{line.seats}:{line.seen_price_cents}"
        for line in lines
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Summary:
    """What the teacher confirms before paying: the cart, the school the order is for, the
    credit of that school's academy before and after."""

    cart: Cart
    school: School
    credit_cents: int
    fingerprint: str

    @property
    def total_cents(self) -> int:
        return self.cart.total_cents

    @property
    def credit_after_cents(self) -> int:
        return self.credit_cents - self.total_cents

    @property
    def ready(self) -> bool:
        return self.cart.ready and self.credit_after_cents >= 0


def _credit_in(teacher: User, academy_code: str, school_year: str) -> int:
    """The teacher's credit given by one academy for the year (0 without an account)."""
    balance = db.session.scalar(
        select(LedgerAccount.balance_cents).where(
            LedgerAccount.kind == AccountKind.TEACHER_CREDIT,
            LedgerAccount.user_id == teacher.id,
            LedgerAccount.academy_code == academy_code,
            LedgerAccount.school_year_code == school_year,
        )
    )
    return int(balance or 0)


_GAR_PROBLEM = (
    "Distribuée par le GAR, que votre établissement n'utilise pas : retirez-la du panier."
)


def summary(teacher: User, school_id: int | None = None, on: date | None = None) -> Summary:
    """The summary shown before paying (nothing is written)."""
    year = budgets.school_year_code(on or today())
    school = _school_of(teacher, school_id)
    the_cart = cart(teacher, year)
    if school.uses_gar is False:  # the GAR's resources are not offered to this school
        the_cart = Cart(
            [
                CartItem(item.line, item.offer, item.problem or _GAR_PROBLEM)
                if item.offer is not None and item.offer.version.channel is Channel.GAR
                else item
                for item in the_cart.items
            ],
            the_cart.credit_cents,
        )
    credit = _credit_in(teacher, school.academy_code, year)
    lines = [item.line for item in the_cart.items]
    return Summary(the_cart, school, credit, cart_fingerprint(lines))


# --- checkout --------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One thing to buy: a plan of a product, at the price the teacher agreed to."""

    product_id: int
    plan_kind: PlanKind
    seats: int
    agreed_price_cents: int


def teacher_schools(teacher: User) -> list[School]:
    return [grant.school for grant in teacher.grants if grant.school is not None]


def _school_of(teacher: User, school_id: int | None) -> School:
    schools = teacher_schools(teacher)
    for school in schools:
        if school_id is None or school.id == school_id:
            return school
    raise Forbidden("Vous n'enseignez pas dans cet établissement.")


def _replay(teacher: User, idempotency_key: str) -> Order | None:
    order = db.session.scalar(_ORDER_BY_KEY, {"key": idempotency_key})
    if order is not None and order.teacher_id != teacher.id:
        raise Conflict("Cette commande a déjà été passée par quelqu'un d'autre.")
    return order


_ORDER_BY_KEY = select(Order).where(Order.idempotency_key == bindparam("key"))  # built once


def checkout(
    teacher: User,
    idempotency_key: str,
    *,
    school_id: int | None = None,
    on: date | None = None,
    confirmed: str | None = None,
) -> Order:
    """Buy the teacher's cart. Sending the same key again returns the same order.
    `confirmed` is the fingerprint of the summary the teacher confirmed: a cart that
    changed since is refused (:class:`CartChanged`)."""
    lines = _lines(teacher, lock=True)  # two checkouts of one cart take turns
    replay = _replay(teacher, idempotency_key)
    if replay is not None:
        return replay
    if not lines:
        raise ValidationFailed("Votre panier est vide.", details={"cart": ["vide"]})
    if confirmed is not None and confirmed != cart_fingerprint(lines):
        raise CartChanged(
            "Votre panier a changé depuis le récapitulatif (un autre onglet ?) : vérifiez "
            "le nouveau récapitulatif, puis confirmez-le."
        )
    items = [
        Item(line.product_id, line.plan_kind, line.seats, line.seen_price_cents) for line in lines
    ]
    order = _place_order(teacher, items, idempotency_key, school_id=school_id, on=on)
    db.session.execute(delete(CartLine).where(CartLine.id.in_([line.id for line in lines])))
    return order


def place_order(
    teacher: User,
    items: Sequence[Item],
    idempotency_key: str,
    *,
    school_id: int | None = None,
    on: date | None = None,
) -> Order:
    """The order of `items`, paid from the teacher's credit, all or nothing."""
    replay = _replay(teacher, idempotency_key)
    if replay is not None:
        return replay
    return _place_order(teacher, items, idempotency_key, school_id=school_id, on=on)


def _place_order(
    teacher: User,
    items: Sequence[Item],
    idempotency_key: str,
    *,
    school_id: int | None,
    on: date | None,
) -> Order:
    """:func:`place_order` once the key was looked up (no order yet under it)."""
    day = on or today()
    school = _school_of(teacher, school_id)
    year = budgets.school_year_code(day)
    offers = _checked(items)
    _check_gar(school, offers)
    total = sum(found.plan.price_cents for found in offers)

    # The order claims the key first: a twin checkout waits here, then finds it.
    claimed = insert_rows(
        db.session,
        Order,
        [
            {
                "teacher_id": teacher.id,
                "school_id": school.id,
                "academy_code": school.academy_code,
                "school_year_code": year,
                "idempotency_key": idempotency_key,
                "total_cents": total,
                "credit_after_cents": 0,
                "created_at": utcnow(),
            }
        ],
        skip_conflicts_on=("idempotency_key",),
    )
    order = claimed[0] if claimed else None
    if order is None:  # the same checkout, sent at the same time, won the key
        replay = _replay(teacher, idempotency_key)
        assert replay is not None  # noqa: S101 - the unique key is there
        return replay

    payable: dict[int, int] = defaultdict(int)
    for found in offers:
        payable[found.version.product.vendor_id] += found.plan.price_cents
    credit, other_credits, payables = ledger.purchase_accounts(
        teacher.id, school.academy_code, year, sorted(payable)
    )
    lines = [(credit, -total)] + [
        (payables[vendor_id], cents) for vendor_id, cents in sorted(payable.items())
    ]
    try:
        entry = ledger.post(
            EntryKind.PURCHASE,
            lines,
            idempotency_key=f"order:{order.id}",
            reference=f"order:{order.id}",
            actor=teacher,
            memo=f"Commande {order.number}",
            new_key=True,  # the order row above has just claimed this order's id
        )
    except ledger.InsufficientFunds as error:
        missing = total - ledger.balance(credit)
        raise CreditTooLow(
            f"Crédit insuffisant : il vous manque {format_euros(missing)} pour cette commande.",
            details={"credit": [f"il manque {format_euros(missing)}"]},
        ) from error
    # The credit left for the year, over every academy that gave the teacher some.
    credit_after = int(credit.balance_cents or 0) + sum(
        int(account.balance_cents or 0) for account in other_credits
    )
    _paid_by(order, entry, credit_after)

    _write_lines(order, teacher, school, year, day, items, offers)
    # Last: the vendors' invoice counters stay locked until the commit, keep that short.
    invoices.issue_invoices(order)
    audit.record_now(teacher, "order.placed", "order", order.id, total_cents=total)
    notifications.notify(
        "order_confirmed",
        {"order": order.id},
        users=[teacher],  # loaded: no need to read the address again
        key=f"order-confirmed:{order.id}",
    )
    return order


def _paid_by(order: Order, entry: JournalEntry, credit_after_cents: int) -> None:
    """Record on the order the entry that paid it and the credit left after it (a Core
    UPDATE built once: no unit of work on a checkout's path)."""
    db.session.execute(
        _ORDER_PAID,
        {"order_id": order.id, "entry_id": entry.id, "credit_after": credit_after_cents},
    )
    set_committed_value(order, "entry_id", entry.id)
    set_committed_value(order, "credit_after_cents", credit_after_cents)


_ORDER_PAID = (
    update(cast(Table, Order.__table__))
    .where(Order.id == bindparam("order_id"))
    .values(entry_id=bindparam("entry_id"), credit_after_cents=bindparam("credit_after"))
)


def _write_lines(
    order: Order,
    teacher: User,
    school: School,
    year: str,
    day: date,
    items: Sequence[Item],
    offers: Sequence[Offer],
) -> None:
    """The order's lines, one pending licence each (and its provisioning job)."""
    order_lines: list[OrderLine] = []
    for item, found in zip(items, offers, strict=True):
        seats = _check_seats(found.plan, item.seats)
        title = found.version.title  # a failed statement expires every object
        [line] = insert_rows(
            db.session,
            OrderLine,
            [
                {
                    "order_id": order.id,
                    "product_id": found.version.product_id,
                    "version_id": found.version.id,
                    "vendor_id": found.version.product.vendor_id,
                    "title": title,
                    "plan_kind": found.plan.kind,
                    "seats": seats,
                    "price_cents": found.plan.price_cents,
                    "vat_rate_bp": found.plan.vat_rate_bp,
                    "vat_cents": found.plan.vat_cents,
                }
            ],
        )
        order_lines.append(line)
        try:
            licences.create_licence(
                version=found.version,
                plan=found.plan,
                teacher=teacher,
                school=school,
                seats=seats,
                school_year_code=year,
                valid_from=day,
                order_line=line,
            )
        except IntegrityError as error:  # bought at the same moment in another tab
            # No savepoint: the refusal rolls the whole checkout back anyway.
            raise Conflict(f"Vous disposez déjà de « {title} ».") from error
    set_committed_value(order, "lines", order_lines)


def place_paid_order(
    buyer: User,
    school: School,
    found: Offer,
    source: LedgerAccount,
    idempotency_key: str,
    *,
    on: date | None = None,
    memo: str,
) -> Order:
    """The order of one offer for `school`, paid from `source` (a pooled purchase's hold
    account) rather than from the buyer's credit: the order row, the purchase entry
    `source` → the vendor's payable, the line, its licence and provisioning job, the
    invoice. The caller has checked the offer and holds the money in `source`. Sending
    the same key again returns the same order."""
    replay = _replay(buyer, idempotency_key)
    if replay is not None:
        return replay
    day = on or today()
    year = budgets.school_year_code(day)
    price = found.plan.price_cents
    order = Order(
        teacher_id=buyer.id,
        school_id=school.id,
        academy_code=school.academy_code,
        school_year_code=year,
        idempotency_key=idempotency_key,
        total_cents=price,
        credit_after_cents=budgets.teacher_balance(buyer.id, year),
        created_at=utcnow(),
    )
    db.session.add(order)
    db.session.flush()
    payable = ledger.vendor_payable(found.version.product.vendor_id)
    entry = ledger.post(
        EntryKind.PURCHASE,
        [(source, -price), (payable, price)],
        idempotency_key=f"order:{order.id}",
        reference=f"order:{order.id}",
        actor=buyer,
        memo=memo,
        new_key=True,
    )
    _paid_by(order, entry, order.credit_after_cents)
    item = Item(found.version.product_id, found.plan.kind, 1, price)
    _write_lines(order, buyer, school, year, day, [item], [found])
    invoices.issue_invoices(order)
    audit.record_now(buyer, "order.placed", "order", order.id, total_cents=price, pooled=True)
    return order


def _check_gar(school: School, offers: Sequence[Offer]) -> None:
    """A resource distributed through the GAR is sold only to schools that use the GAR
    (unknown until the GAR's list is imported: `flask gar import-etablissements`)."""
    if school.uses_gar is not False:
        return
    titles = [found.version.title for found in offers if found.version.channel is Channel.GAR]
    if titles:
        raise NotPurchasable(
            f"Votre établissement ({school.uai}) n'utilise pas le GAR, par lequel sont "
            "distribuées ces ressources : " + ", ".join(titles) + ". Retirez-les du panier.",
            details={"gar": titles},
        )


def _checked(items: Sequence[Item]) -> list[Offer]:
    """Each item still on sale at the price agreed; else the refusal naming them all.
    A teacher plan already held is refused by the licence's unique index, when the
    licence is written (no look-up first: the index is the rule, and a look-up would not
    see a purchase made in another tab at the same moment anyway)."""
    offers: list[Offer] = []
    withdrawn: list[str] = []
    changed: list[str] = []
    on_sale = offers_on_sale({(item.product_id, item.plan_kind) for item in items})
    for item in items:
        found = on_sale.get((item.product_id, item.plan_kind))
        if found is None:
            product = db.session.get(Product, item.product_id)
            withdrawn.append(product.latest.title if product else str(item.product_id))
            continue
        if found.plan.price_cents != item.agreed_price_cents:
            changed.append(
                f"{found.version.title} : {format_euros(item.agreed_price_cents)} → "
                f"{format_euros(found.plan.price_cents)}"
            )
        offers.append(found)
    if withdrawn:
        raise NotPurchasable(
            "Une ressource du panier a été retirée du catalogue : " + ", ".join(withdrawn) + ".",
            details={"retirée": withdrawn},
        )
    if changed:
        raise PriceChanged(
            "Le prix a changé depuis l'ajout au panier : " + " ; ".join(changed) + ". "
            "Vérifiez le panier et confirmez les nouveaux prix.",
            details={"prix": changed},
        )
    return offers


# --- orders ----------------------------------------------------------------------------


def _contributed(teacher: User) -> Any:
    """The orders of completed pooled purchases the teacher has a share in."""
    return (
        select(PooledPurchase.order_id)
        .join(PooledShare, PooledShare.pooled_purchase_id == PooledPurchase.id)
        .where(
            PooledShare.teacher_id == teacher.id,
            PooledShare.withdrawn_at.is_(None),
            PooledPurchase.order_id.is_not(None),
        )
    )


def _mine(teacher: User) -> ColumnElement[bool]:
    """The teacher's orders: their own, and those of the pooled purchases they hold a share
    of (the one who started a pooled purchase and then withdrew has no part in its order)."""
    own = (Order.teacher_id == teacher.id) & ~Order.idempotency_key.startswith(POOLED_ORDER_KEY)
    return own | Order.id.in_(_contributed(teacher))


def teacher_orders(teacher: User) -> list[Order]:
    """The teacher's orders, and those of the pooled purchases they paid a share of."""
    query = (
        select(Order)
        .where(_mine(teacher))
        .options(selectinload(Order.lines).selectinload(OrderLine.licence))
        .order_by(Order.id.desc())
    )
    return list(db.session.scalars(query))


def teacher_order(teacher: User, order_id: int) -> Order:
    """One of the teacher's orders; NotFound for anybody else's."""
    order = db.session.scalar(select(Order).where(Order.id == order_id, _mine(teacher)))
    if order is None:
        raise NotFound("Commande introuvable.")
    return order


def paid_by_pooled_purchase(order: Order) -> bool:
    return order.idempotency_key.startswith(POOLED_ORDER_KEY)


def pooled_shares(teacher: User, orders: Sequence[Order]) -> dict[int, PooledShare]:
    """The teacher's share in each of these orders paid by a pooled purchase (read only
    when there is one)."""
    pooled = [order.id for order in orders if paid_by_pooled_purchase(order)]
    if not pooled:
        return {}
    rows = db.session.execute(
        select(PooledPurchase.order_id, PooledShare)
        .join(PooledShare, PooledShare.pooled_purchase_id == PooledPurchase.id)
        .where(
            PooledPurchase.order_id.in_(pooled),
            PooledShare.teacher_id == teacher.id,
            PooledShare.withdrawn_at.is_(None),
        )
    )
    return {int(order_id or 0): share for order_id, share in rows}


# --- cancellation ----------------------------------------------------------------------


class CancelState(enum.StrEnum):
    """Where an order line stands with respect to the right to cancel."""

    OPEN = "open"  # can be cancelled until `Cancellation.until`
    CANCELLED = "cancelled"
    OPENED = "opened"  # the resource was opened: the right to cancel ended
    PERIOD_OVER = "period_over"
    LICENCE_ENDED = "licence_ended"  # expired or withdrawn otherwise
    POOLED = "pooled"  # paid by several teachers (a pooled purchase): not cancellable


@dataclass(frozen=True)
class Cancellation:
    state: CancelState
    until: date  # the last day (Paris) of the withdrawal period, included
    opened_on: date | None = None  # when the resource was opened (Paris), if recorded
    cancelled_on: date | None = None  # when the line was cancelled (Paris)

    @property
    def allowed(self) -> bool:
        return self.state is CancelState.OPEN


def cancellable_until(order: Order) -> date:
    """The last day (Paris) the lines of `order` can be cancelled, if not opened before."""
    return dates.local_date(order.created_at) + timedelta(days=WITHDRAWAL_DAYS)


def cancellation(line: OrderLine, on: date | None = None) -> Cancellation:
    """A line can be cancelled within WITHDRAWAL_DAYS days of the order (Paris dates, the
    last day included) as long as the resource has not been opened."""
    day = on or today()
    until = cancellable_until(line.order)
    licence = line.licence
    if line.status is OrderLineStatus.CANCELLED:
        cancelled_on = dates.local_date(line.cancelled_at) if line.cancelled_at else None
        return Cancellation(CancelState.CANCELLED, until, cancelled_on=cancelled_on)
    if paid_by_pooled_purchase(line.order):
        return Cancellation(CancelState.POOLED, until)
    if licence is not None and licence.opened_at is not None:
        opened_on = dates.local_date(licence.opened_at)
        return Cancellation(CancelState.OPENED, until, opened_on)
    if day > until:
        return Cancellation(CancelState.PERIOD_OVER, until)
    if licence is not None and licence.status in (LicenceStatus.EXPIRED, LicenceStatus.REVOKED):
        return Cancellation(CancelState.LICENCE_ENDED, until)
    if licence is not None and licences.opened(licence, day):
        return Cancellation(CancelState.OPENED, until)
    return Cancellation(CancelState.OPEN, until)


def cancellable(line: OrderLine, on: date | None = None) -> bool:
    return cancellation(line, on).allowed


def _french_day(day: date) -> str:
    return format_date(day, "long", locale="fr_FR")


def _refusal(found: Cancellation) -> str:
    """Why a line cannot be cancelled, in French (the order page says it in the reader's
    language from the same `Cancellation`)."""
    reasons = {
        CancelState.OPENED: (
            f"la ressource a été ouverte le {_french_day(found.opened_on)}"
            if found.opened_on
            else "la ressource, distribuée par le GAR, est considérée comme ouverte "
            f"{licences.GAR_PRESUMED_OPENED_AFTER_DAYS} jours après sa livraison"
        ),
        CancelState.PERIOD_OVER: (
            f"le délai de {WITHDRAWAL_DAYS} jours a pris fin le {_french_day(found.until)}"
        ),
        CancelState.LICENCE_ENDED: "la licence n'est plus valide",
        CancelState.POOLED: "elle a été payée par un achat groupé de plusieurs enseignants",
    }
    return f"Cette ligne ne peut plus être annulée : {reasons[found.state]}."


def cancel_line(teacher: User, line_id: int, on: date | None = None) -> OrderLine:
    """Cancel an order line: the credit comes back (one refund entry, whatever the number
    of clicks), the licence is revoked (and withdrawn at its channel by a job), the
    vendor's payable goes down. The licence row is locked first, so an opening at the same
    moment either comes before (and the cancellation is refused) or finds it revoked."""
    line = db.session.scalar(select(OrderLine).where(OrderLine.id == line_id).with_for_update())
    if line is None or line.order.teacher_id != teacher.id:
        raise NotFound("Ligne de commande introuvable.")
    if line.status is OrderLineStatus.CANCELLED:
        return line
    if line.licence is not None:
        licences.lock(line.licence)
    found = cancellation(line, on)
    if not found.allowed:
        raise Conflict(_refusal(found))
    order = line.order
    entry = ledger.post(
        EntryKind.REFUND,
        [
            (ledger.vendor_payable(line.vendor_id), -line.price_cents),
            (
                ledger.teacher_credit(teacher.id, order.academy_code, order.school_year_code),
                line.price_cents,
            ),
        ],
        idempotency_key=f"refund:order_line:{line.id}",
        reference=f"order:{order.id}",
        actor=teacher,
        memo=f"Annulation — commande {order.number}",
    )
    line.status = OrderLineStatus.CANCELLED
    line.cancelled_at = utcnow()
    line.refund_entry_id = entry.id
    order.receipt_key = None  # the receipt is printed again, with the line cancelled
    if line.licence is not None:
        licences.revoke(teacher, line.licence, "Commande annulée par l'enseignant.")
    invoices.issue_credit_note(line)
    audit.record(teacher, "order_line.cancelled", "order", order.id, line=line.id)
    notifications.notify(
        "line_cancelled", {"line": line.id}, users=[teacher.id], key=f"line-cancelled:{line.id}"
    )
    return line


# --- receipts --------------------------------------------------------------------------


def _render_receipt(order: Order, **extra: Any) -> bytes:
    from app.documents import services as documents

    return documents.render_pdf(
        "documents/receipt.html",
        order=order,
        academy=db.session.get(Academy, order.academy_code),
        plan_labels=PLAN_LABELS,
        **extra,
    )


def receipt_key(order: Order) -> str:
    """The stored PDF receipt of an order, rendered on first request and kept."""
    if order.receipt_key is None:
        pdf = _render_receipt(order, cancel_until=_french_day(cancellable_until(order)))
        order.receipt_key = storage.save("receipts", pdf, "pdf")
    return order.receipt_key


def pooled_receipt(order: Order, participant: User, share: PooledShare) -> bytes:
    """The receipt of one participant's share in an order paid by a pooled purchase: the
    school licence and its price, what this teacher paid. Rendered on each request (one
    per participant, rarely asked), never stored on the order."""
    return _render_receipt(order, participant=participant, share=share)


# --- the vendor's orders ---------------------------------------------------------------


@dataclass(frozen=True)
class VendorOrderFilters:
    since: date | None = None
    until: date | None = None
    product_id: int | None = None
    status: OrderLineStatus | None = None


def vendor_order_lines(
    vendor_id: int, filters: VendorOrderFilters, limit: int | None = 200
) -> list[tuple[OrderLine, Order, str, LicenceStatus | None]]:
    """The vendor's order lines, newest first: (line, order, school UAI, licence status).
    Nothing about the teacher beyond the school: the vendor does not need it."""
    query = (
        select(OrderLine, Order, School.uai, Licence.status)
        .join(Order, Order.id == OrderLine.order_id)
        .join(School, School.id == Order.school_id)
        .outerjoin(Licence, Licence.order_line_id == OrderLine.id)
        .where(OrderLine.vendor_id == vendor_id)
        .order_by(Order.id.desc(), OrderLine.id)
    )
    if filters.since is not None:
        query = query.where(Order.created_at >= _start_of(filters.since))
    if filters.until is not None:
        query = query.where(Order.created_at < _start_of(filters.until + timedelta(days=1)))
    if filters.product_id is not None:
        query = query.where(OrderLine.product_id == filters.product_id)
    if filters.status is not None:
        query = query.where(OrderLine.status == filters.status)
    if limit is not None:
        query = query.limit(limit)
    return [(line, order, uai, status) for line, order, uai, status in db.session.execute(query)]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=PARIS)


@dataclass(frozen=True)
class SalesTotals:
    """A vendor's sales so far: lines paid and cancelled (count, cents incl. VAT)."""

    paid_lines: int
    paid_cents: int
    cancelled_lines: int
    cancelled_cents: int
    last_order_at: datetime | None


def vendor_sales_totals(vendor_id: int) -> SalesTotals:
    """One aggregate over the vendor's order lines (index `ix_order_line_vendor`)."""
    rows = db.session.execute(
        select(OrderLine.status, func.count(), func.coalesce(func.sum(OrderLine.price_cents), 0))
        .where(OrderLine.vendor_id == vendor_id)
        .group_by(OrderLine.status)
    )
    totals = {status: (int(count), int(cents)) for status, count, cents in rows}
    last = db.session.scalar(
        select(func.max(Order.created_at))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.vendor_id == vendor_id)
    )
    paid = totals.get(OrderLineStatus.PAID, (0, 0))
    cancelled = totals.get(OrderLineStatus.CANCELLED, (0, 0))
    return SalesTotals(*paid, *cancelled, last)
