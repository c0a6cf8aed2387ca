"""Helpers of the order tests: credit given through the budget services, products put on
sale and repriced through the vendor and review steps, and the footprint of everything a
checkout writes, to prove that a refusal wrote nothing."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any
from uuid import uuid4

from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.budgets import services as budgets
from app.budgets.models import School
from app.core.jobs import Job
from app.extensions import Model, db
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.licences.models import Licence
from app.orders import services as orders
from app.orders.models import CartLine, Order, OrderLine
from app.products import services as products
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from app.vendors.models import Vendor
from app.vetting import services as vetting
from app.vetting.models import Decision
from catalog import conduct
from tests import factories

SCHOOL_PLAN = [PlanDraft(PlanKind.SCHOOL, 40_00, 2000)]
CLASS_AND_TEACHER_PLANS = [
    PlanDraft(PlanKind.CLASS, 60_00, 550, max_pupils=30),
    PlanDraft(PlanKind.TEACHER, 25_00, 550),
]


def school_year() -> str:
    """The school year a checkout made today is paid from."""
    return budgets.school_year_code(orders.today())


def school_of(teacher: User) -> School:
    return orders.teacher_schools(teacher)[0]


def give_credit(teacher: User, cents: int, school: School | None = None) -> None:
    """The State funds the academy of the teacher's school (the first one by default), then
    its manager allocates `cents` to the teacher: the way credit really reaches a teacher."""
    school = school or school_of(teacher)
    year = school_year()
    budgets.fund_academy(None, school.academy_code, year, cents, f"fund:{uuid4().hex}")
    manager = factories.academy_manager(school.academy_code)
    amount = f"{cents // 100},{cents % 100:02d}"
    budgets.allocate_one(
        manager, school.academy_code, year, teacher.email, school.uai, amount, uuid4().hex
    )


def teacher_with_credit(school: School, cents: int) -> User:
    teacher = factories.teacher(school)
    give_credit(teacher, cents)
    return teacher


def credit_of(teacher: User) -> int:
    return budgets.teacher_balance(teacher.id, school_year())


def on_sale(vendor: Vendor | None = None, **overrides: Any) -> Product:
    """A product approved and on sale (by default one school plan at 40 €, VAT 20 %)."""
    overrides.setdefault("plans", SCHOOL_PLAN)
    return factories.product(vendor, **overrides)


def approve_new_version(product: Product, plans: list[PlanDraft]) -> None:
    """The vendor edits the product's plans and the commission approves the new version,
    which replaces the one on sale."""
    member = factories.vendor_member(product.vendor)
    version = products.new_version(member, product)
    draft = dataclasses.replace(products.draft_of(version), plans=plans)
    products.update_draft(member, version, draft)
    assert vetting.submit(member, version).accepted
    all_met = {criterion.code: True for criterion in conduct.label_criteria()}
    reviewer = factories.with_role(Role.REVIEWER)
    vetting.decide(reviewer, version, Decision.APPROVE, criteria=all_met)


def buy(teacher: User, *bought: Product, key: str | None = None) -> Order:
    """The teacher puts the school plan of each product (else its class plan, for 25
    pupils) in the cart and checks out; committed."""
    for product in bought:
        version = product.listed
        assert version is not None
        if version.plan(PlanKind.SCHOOL) is not None:
            orders.add_to_cart(teacher, product.id, PlanKind.SCHOOL)
        else:
            orders.add_to_cart(teacher, product.id, PlanKind.CLASS, seats=25)
    order = orders.checkout(teacher, key or uuid4().hex)
    db.session.commit()
    return order


def count(model: type[Model], *where: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def footprint(teacher: User) -> dict[str, int]:
    """Everything a checkout (or a cancellation) writes, counted; and the teacher's credit."""
    return {
        "orders": count(Order),
        "order_lines": count(OrderLine),
        "entries": count(JournalEntry),
        "purchases": count(JournalEntry, JournalEntry.kind == EntryKind.PURCHASE),
        "refunds": count(JournalEntry, JournalEntry.kind == EntryKind.REFUND),
        "postings": count(Posting),
        "licences": count(Licence),
        "jobs": count(Job),
        "cart_lines": count(CartLine, CartLine.teacher_id == teacher.id),
        "credit": credit_of(teacher),
    }


def visible_text(page: Any) -> str:
    """What a reader sees of a page (a response or HTML): tags dropped, entities decoded,
    every run of spaces, no-break ones included, as one space."""
    source = page if isinstance(page, str) else page.get_data(as_text=True)
    text = html.unescape(re.sub(r"<[^>]+>", " ", source))
    return re.sub(r"\s+", " ", text).strip()  # \s also matches no-break spaces


def confirmation(client: Any, school_id: int | None = None) -> dict[str, str]:
    """The fields of the summary's "Confirmer et payer" form, as a browser sends them."""
    query = f"?school={school_id}" if school_id is not None else ""
    page = client.get(f"/panier/recapitulatif{query}").get_data(as_text=True)
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))


def forced_checkout(teacher: User, token: str, school: School) -> dict[str, str]:
    """A checkout form for the teacher's cart as it is, whatever the summary offers."""
    return {
        "token": token,
        "school": str(school.id),
        "cart": orders.summary(teacher, school.id).fingerprint,
    }
