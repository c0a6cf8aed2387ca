"""Fixtures of the API tests: two vendors, a token of the first, licences to read."""

from __future__ import annotations

from datetime import date

import pytest

from app.accounts import tokens
from app.accounts.models import ApiToken, User
from app.budgets.services import ensure_school_year
from app.core import jobs
from app.extensions import db
from app.licences import services as licences
from app.licences.models import Licence
from app.products.models import PlanKind, Product
from app.vendors.models import Vendor
from tests import factories

SCHOOL_YEAR = "2026-2027"


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions du Cartable SAS")


@pytest.fixture
def other_vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Concurrents Réunis SAS")


@pytest.fixture
def member(vendor: Vendor) -> User:
    return factories.vendor_member(vendor, name="Valérie Vendeuse")


@pytest.fixture
def token(member: User, vendor: Vendor) -> tuple[ApiToken, str]:
    """A token of `vendor` and its raw value. Committed, with everything set up before it:
    a refused request rolls back what was not (to the test's savepoint)."""
    created = tokens.create_token(member, vendor, "Logiciel de livraison")
    db.session.commit()
    return created


@pytest.fixture
def headers(token: tuple[ApiToken, str]) -> dict[str, str]:
    return bearer(token[1])


@pytest.fixture
def product(vendor: Vendor) -> Product:
    """A product of `vendor`, on sale, delivered by activation codes."""
    return factories.product(vendor, title="Fractions en jeu")


@pytest.fixture
def other_product(other_vendor: Vendor) -> Product:
    return factories.product(other_vendor, title="Atlas des concurrents")


def bearer(raw_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw_token}"}


def make_licence(product: Product, teacher: User | None = None) -> Licence:
    """A pending licence of the product's teacher plan, committed as checkout does."""
    ensure_school_year(SCHOOL_YEAR)
    teacher = teacher or factories.teacher()
    school = teacher.grants[0].school
    assert school is not None
    version = product.listed
    assert version is not None
    plan = version.plan(PlanKind.TEACHER)
    assert plan is not None
    licence = licences.create_licence(
        version=version,
        plan=plan,
        teacher=teacher,
        school=school,
        seats=1,
        school_year_code=SCHOOL_YEAR,
        valid_from=date(2026, 9, 1),
    )
    db.session.commit()
    return licence


def run_jobs() -> None:
    """Run every queued job, as a worker would."""
    while (job_id := jobs.claim()) is not None:
        jobs.run(job_id)
