"""Helpers of the reporting tests: money moved through the real services (funding,
allocations, orders, cancellations) at chosen dates, and readers of pages and files."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from app.accounts.models import User
from app.budgets import services as budgets
from app.budgets.models import School
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, OrderLine
from app.products.models import PlanKind, Product

YEAR = "2026-2027"
PARIS_TIME = ZoneInfo("Europe/Paris")


def at(day: str, hour: int = 10) -> datetime:
    """A moment of `day` ("2026-10-07") in UTC; 10:00 UTC is the same day in Paris."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def fund(academy_code: str, cents: int) -> None:
    budgets.fund_academy(None, academy_code, YEAR, cents, f"fund:{uuid4().hex}")


def allocate(manager: User, teacher: User, school: School, cents: int) -> None:
    """The academy manager gives `cents` to one teacher of `school`."""
    amount = f"{cents // 100},{cents % 100:02d}"
    budgets.allocate_one(
        manager, school.academy_code, YEAR, teacher.email, school.uai, amount, uuid4().hex
    )


def buy(
    teacher: User, products: list[Product], when: datetime, school: School | None = None
) -> Order:
    """The teacher buys the school plan of each product (for `school`, by default their
    first), the order dated `when`."""
    items = []
    for product in products:
        version = product.listed
        assert version is not None
        plan = version.plan(PlanKind.SCHOOL)
        assert plan is not None
        items.append(orders.Item(product.id, PlanKind.SCHOOL, 1, plan.price_cents))
    school_id = school.id if school else None
    order = orders.place_order(teacher, items, uuid4().hex, school_id=school_id, on=when.date())
    order.created_at = when  # orders are not append-only: date it as if bought then
    db.session.flush()
    return order


def cancel(line: OrderLine, when: datetime) -> None:
    """The teacher cancels the line (refunded), the cancellation dated `when`."""
    orders.cancel_line(line.order.teacher, line.id, on=when.date())
    line.cancelled_at = when
    db.session.flush()


def stored_moment(value: datetime | str) -> datetime:
    """A timestamp read with plain SQL: PostgreSQL gives it zoned, SQLite as UTC text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def line_of(order: Order, product: Product) -> OrderLine:
    return next(line for line in order.lines if line.product_id == product.id)


# --- reading ---------------------------------------------------------------------------


def squeeze(text: str) -> str:
    """Every run of spaces (no-break ones included) as one space."""
    return re.sub(r"\s+", " ", text).strip()


HIDDEN_SVG = re.compile(r'<svg[^>]*aria-hidden="true".*?</svg>', re.S)


def visible_text(response: Any) -> str:
    """What a reader sees of a page: tags dropped (and drawings hidden from screen readers,
    with their tooltip), entities decoded, spaces squeezed."""
    source = response if isinstance(response, str) else response.get_data(as_text=True)
    return squeeze(html.unescape(re.sub(r"<[^>]+>", " ", HIDDEN_SVG.sub(" ", source))))


def euros(cents: int) -> str:
    """As the pages write it ("1 234,50 €"), spaces squeezed."""
    from app.core.money import format_euros

    return squeeze(format_euros(cents))


def csv_rows(response: Any) -> list[list[str]]:
    """The rows of an export: it must start with the UTF-8 BOM and use `;`."""
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
