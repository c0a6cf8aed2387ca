"""Fixtures of the vetting tests: a vendor, one of its members, a reviewer."""

from __future__ import annotations

import pytest

from app.accounts.models import Role, User
from app.vendors.models import Vendor
from tests import factories


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions Tangram SAS")


@pytest.fixture
def member(vendor: Vendor) -> User:
    return factories.vendor_member(vendor, name="Valérie Vendeuse")


@pytest.fixture
def reviewer(session: object) -> User:
    return factories.with_role(Role.REVIEWER, name="Romain Relecteur")
