"""Fixtures of the order tests (on the rolled-back `session`): a vendor with two products
on sale, and a teacher of a Paris school holding 100 € of credit."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.budgets.models import School
from app.extensions import db
from app.products.models import Product
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions
from tests.orders.helpers import CLASS_AND_TEACHER_PLANS, give_credit, on_sale


@dataclass
class Shop:
    vendor: Vendor
    atlas: Product  # a school plan at 40 €, VAT 20 %
    lab: Product  # a class plan at 60 € (30 pupils at most), VAT 5,5 %; a teacher plan at 25 €
    school: School
    teacher: User  # 100 € of credit


@pytest.fixture
def shop(session: Session) -> Shop:
    vendor = factories.VendorFactory(legal_name="Éditions de la Mer SAS")
    school = factories.SchoolFactory(name="Collège Jean Moulin", city="Paris", academy_code="01")
    teacher = factories.teacher(school, name="Camille Durand", email="camille.durand@ac-paris.fr")
    give_credit(teacher, 100_00)
    shop = Shop(
        vendor=vendor,
        atlas=on_sale(vendor, title="Atlas des océans"),
        lab=on_sale(vendor, title="Laboratoire de chimie", plans=CLASS_AND_TEACHER_PLANS),
        school=school,
        teacher=teacher,
    )
    db.session.commit()  # a refused request rolls back to here, not further
    return shop


@pytest.fixture
def teacher_client(client: FlaskClient, auth: AuthActions, shop: Shop) -> FlaskClient:
    """The shop's teacher, logged in."""
    auth.login(shop.teacher.email)
    return client
