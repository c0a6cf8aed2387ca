"""Invoice numbers under real concurrency: twenty teachers check out the same vendor's
product at the same instant, each in its own thread, session and transaction, committed
(PostgreSQL only). The vendor's invoices are numbered 1 to 20, without a gap or a
duplicate, and a checkout refused after it took a number gives it back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from app.core import dates
from app.core.errors import DomainError
from app.extensions import db
from app.invoices import services as invoices
from app.invoices.models import Invoice, InvoiceKind
from app.orders import services as orders
from app.products.models import PlanKind
from tests import factories
from tests.conftest import requires_postgres
from tests.orders.helpers import give_credit, on_sale
from tests.orders.test_checkout_concurrency import _teacher, run_together

pytestmark = [requires_postgres, pytest.mark.committed]

BUYERS = 20


def test_twenty_checkouts_at_once_number_the_vendors_invoices_1_to_20(
    committed: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = committed
    with app.app_context():
        atlas = on_sale(title="Atlas des océans")  # a school plan at 40 €
        teachers = []
        for _ in range(BUYERS + 2):
            teacher = factories.teacher()
            give_credit(teacher, 40_00)
            teachers.append(teacher.id)
        db.session.commit()
        atlas_id, vendor_id = atlas.id, atlas.vendor_id

    # Two of the checkouts fail after their invoice took its number (as a later failure of
    # the transaction would): their numbers come back to the sequence.
    failing = set(teachers[-2:])
    issue = invoices.issue_invoices

    def issue_then_maybe_fail(order):  # type: ignore[no-untyped-def]
        issued = issue(order)
        if order.teacher_id in failing:
            raise DomainError("échec simulé après la numérotation")
        return issued

    monkeypatch.setattr(invoices, "issue_invoices", issue_then_maybe_fail)

    def checkout(teacher_id: int) -> Callable[[], int]:
        def task() -> int:
            items = [orders.Item(atlas_id, PlanKind.SCHOOL, 1, 40_00)]
            return orders.place_order(_teacher(teacher_id), items, f"form-{teacher_id}").id

        return task

    outcome = run_together(app, [checkout(teacher_id) for teacher_id in teachers])

    assert outcome.errors == []
    assert len(outcome.refusals) == 2
    assert len(set(outcome.results)) == BUYERS
    year = dates.today().year
    with app.app_context():
        issued = db.session.scalars(
            select(Invoice).where(
                Invoice.vendor_id == vendor_id, Invoice.kind == InvoiceKind.INVOICE
            )
        ).all()
        assert sorted(invoice.sequence for invoice in issued) == list(range(1, BUYERS + 1))
        assert sorted(invoice.number for invoice in issued) == [
            f"F-{year}-{n:06d}" for n in range(1, BUYERS + 1)
        ]
        assert {invoice.order_id for invoice in issued} == set(outcome.results)
