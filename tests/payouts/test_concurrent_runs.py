"""Two settlement runs at the same instant (two operators, or the CLI started twice): each
order line is still paid once (PostgreSQL only: real sessions, real commits)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind
from app.payouts import services as payouts
from app.payouts.models import Payout, PayoutLine, SettlementRun
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import requires_postgres
from tests.payouts.helpers import (
    buy,
    count,
    entries,
    give_credit,
    on_sale,
    paid,
    paris,
    with_bank_details,
)

pytestmark = [requires_postgres, pytest.mark.committed]


@dataclass
class Outcome:
    vendor_ids: list[int]
    errors: list[BaseException] = field(default_factory=list)


def two_runs_at_once(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Two vendors with three settled sales each, then two runs started together. Both
    runs read the first vendor's sales before either writes its payout (unless the first
    one to read keeps the other waiting: then the meeting is given up after 2 s)."""
    with app.app_context():
        teacher = factories.teacher()
        give_credit(teacher, 300_00)
        vendor_ids = []
        for name in ("Éditions de la Mer SAS", "Ludo Sciences SAS"):
            vendor = factories.VendorFactory(legal_name=name)
            with_bank_details(vendor)
            product = on_sale(vendor, f"Ressource de {name}", 40_00)
            db.session.commit()
            for day in (10, 11, 12):
                buy(teacher, product, paris(2026, 9, day))
            vendor_ids.append(vendor.id)
    outcome = Outcome(vendor_ids)
    barrier = threading.Barrier(2, timeout=30)
    both_read = threading.Barrier(2, timeout=2)
    lock = threading.Lock()
    read_sales = payouts._sales

    def sales_then_meet(*args: Any) -> Any:
        lines = read_sales(*args)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return lines

    monkeypatch.setattr(payouts, "_sales", sales_then_meet)

    def run(_: int) -> None:
        with app.app_context():
            try:
                settlement = payouts.start_run(None, date(2026, 9, 30))
                db.session.commit()
                barrier.wait()
                for _result in payouts.settle(None, settlement, now=paris(2026, 10, 5)):
                    db.session.commit()
                db.session.commit()
            except Exception as error:  # reported by the tests
                db.session.rollback()
                with lock:
                    outcome.errors.append(error)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, range(2)))
    return outcome


def test_two_runs_at_once_pay_each_line_once(
    committed: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = two_runs_at_once(committed, monkeypatch)

    with committed.app_context():
        assert count(Payout) == 2
        assert count(PayoutLine) == 6
        assert entries(EntryKind.PAYOUT) == 2
        for vendor_id in outcome.vendor_ids:
            vendor = db.session.get(Vendor, vendor_id)
            assert vendor is not None
            assert paid(vendor) == 120_00
        assert ledger.verify().ok


def test_the_second_of_two_runs_at_once_finishes_and_pays_nothing_twice(
    committed: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = two_runs_at_once(committed, monkeypatch)

    assert outcome.errors == []
    with committed.app_context():
        runs = db.session.scalars(select(SettlementRun)).all()
        assert all(run.finished_at is not None for run in runs)
