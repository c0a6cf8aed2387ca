"""Fixtures of the ledger tests (on the rolled-back `session`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.budgets.services import ensure_school_year
from app.ledger import services as ledger
from app.ledger.models import LedgerAccount
from app.vendors.models import Vendor
from tests import factories
from tests.ledger.helpers import YEAR


@dataclass
class Books:
    """A small ledger: the national funding, Paris's pool, two teachers, one vendor."""

    year: str
    national: LedgerAccount
    pool: LedgerAccount
    alice: User
    bob: User
    alice_credit: LedgerAccount
    bob_credit: LedgerAccount
    vendor: Vendor
    payable: LedgerAccount


@pytest.fixture
def books(session: Session) -> Books:
    ensure_school_year(YEAR)
    alice, bob = factories.UserFactory(), factories.UserFactory()
    vendor = factories.VendorFactory()
    return Books(
        year=YEAR,
        national=ledger.national_funding(YEAR),
        pool=ledger.academy_pool("01", YEAR),
        alice=alice,
        bob=bob,
        alice_credit=ledger.teacher_credit(alice.id, "01", YEAR),
        bob_credit=ledger.teacher_credit(bob.id, "01", YEAR),
        vendor=vendor,
        payable=ledger.vendor_payable(vendor.id),
    )
