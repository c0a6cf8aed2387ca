"""Opening and cancelling the same line at the same instant (PostgreSQL only): one of them
comes first, never both: a line is never refunded with its resource opened."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from app.extensions import db
from app.licences import services as licences
from app.licences.models import Licence, LicenceStatus
from app.orders import services as orders
from app.orders.models import OrderLine, OrderLineStatus
from tests import factories
from tests.conftest import requires_postgres
from tests.orders.helpers import buy, give_credit, on_sale
from tests.orders.test_checkout_concurrency import _teacher, run_together

pytestmark = [requires_postgres, pytest.mark.committed]


def test_opening_and_cancelling_at_once_never_both_happen(committed: Flask) -> None:
    app = committed
    with app.app_context():
        teacher = factories.teacher()
        give_credit(teacher, 400_00)
        atlas = on_sale(title="Atlas des océans")  # a school plan at 40 €
        db.session.commit()
        teacher_id, line_ids, licence_ids = teacher.id, [], []
        for _ in range(5):
            (line,) = buy(teacher, atlas).lines
            assert line.licence is not None
            licences.confirm(None, line.licence, access_url="https://mer.example", external_id=None)
            db.session.commit()
            line_ids.append(line.id)
            licence_ids.append(line.licence.id)

    for line_id, licence_id in zip(line_ids, licence_ids, strict=True):

        def cancel(line_id: int = line_id) -> Callable[[], int]:
            return lambda: orders.cancel_line(_teacher(teacher_id), line_id).id

        def open_it(licence_id: int = licence_id) -> Callable[[], int]:
            return lambda: licences.open_resource(_teacher(teacher_id), licence_id, "link").id

        outcome = run_together(app, [cancel(), open_it()])

        assert outcome.errors == []
        assert len(outcome.results) == 1  # the other one was refused
        assert len(outcome.refusals) == 1
        with app.app_context():
            line = db.session.get(OrderLine, line_id)
            licence = db.session.get(Licence, licence_id)
            assert line is not None
            assert licence is not None
            cancelled = line.status is OrderLineStatus.CANCELLED
            assert cancelled == (licence.status is LicenceStatus.REVOKED)
            assert cancelled != (licence.opened_at is not None)
