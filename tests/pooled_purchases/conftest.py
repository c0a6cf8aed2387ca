"""Fixtures of the pooled purchase tests (on the rolled-back `session`): a school of
Paris with three teachers holding 100 € each, a teacher of another school, and a product
whose school plan costs 40 €."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.budgets.models import School
from app.extensions import db
from app.products.models import Product
from app.vendors.models import Vendor
from tests import factories
from tests.orders.helpers import give_credit, on_sale


@dataclass
class Staff:
    vendor: Vendor
    atlas: Product  # a school plan at 40 €
    school: School
    camille: User  # 100 € each
    dominique: User
    sacha: User
    outsider: User  # another school, 100 €


@pytest.fixture
def staff(session: Session) -> Staff:
    vendor = factories.VendorFactory(legal_name="Éditions de la Mer SAS")
    school = factories.SchoolFactory(name="Collège Jean Moulin", city="Paris", academy_code="01")
    other = factories.SchoolFactory(name="Lycée Voltaire", city="Paris", academy_code="01")
    people = [
        factories.teacher(school, name=name, email=f"{slug}@ac-paris.fr")
        for name, slug in (
            ("Camille Durand", "camille.durand"),
            ("Dominique Martin", "dominique.martin"),
            ("Sacha Bernard", "sacha.bernard"),
        )
    ]
    outsider = factories.teacher(other, name="Alex Petit", email="alex.petit@ac-paris.fr")
    for person in (*people, outsider):
        give_credit(person, 100_00)
    staff = Staff(vendor, on_sale(vendor, title="Atlas des océans"), school, *people, outsider)
    db.session.commit()
    return staff
