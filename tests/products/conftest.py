"""Fixtures of the product tests: a vendor and a logged-in member of it."""

from __future__ import annotations

import pytest

from app.accounts.models import User
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions Tangram SAS")


@pytest.fixture
def vendor_user(auth: AuthActions, vendor: Vendor) -> User:
    """A member of `vendor`, logged in (the login commits everything set up before it)."""
    user = factories.vendor_member(vendor, name="Valérie Vendeuse")
    auth.login(user.email)
    return user
