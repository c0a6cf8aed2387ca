"""factory_boy factories. Every user's password is `password123`."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import factory
from werkzeug.security import generate_password_hash

from app.accounts.models import Role, RoleGrant, User
from app.budgets.models import School
from app.core.db import utcnow
from app.extensions import db
from app.products import services as products
from app.products.models import Channel, PlanKind, Product
from app.products.services import PlanDraft, ProductDraft
from app.vendors.models import Vendor
from app.vetting import services as vetting
from app.vetting.models import Decision
from catalog import conduct
from catalog.identifiers import make_uai

PASSWORD = "password123"
PASSWORD_HASH = generate_password_hash(PASSWORD)  # hashed once: scrypt is slow on purpose


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class SchoolFactory(BaseFactory):
    class Meta:
        model = School

    uai = factory.Sequence(lambda n: make_uai(f"075{n:04d}"))
    name = factory.Sequence(lambda n: f"Collège Test {n}")
    kind = "college"
    city = "Paris"
    academy_code = "01"


class VendorFactory(BaseFactory):
    class Meta:
        model = Vendor

    legal_name = factory.Sequence(lambda n: f"Éditeur Test {n} SAS")
    siret = factory.Sequence(lambda n: f"{n:014d}")
    vat_number = "FR00000000000"
    country = "FR"
    parent_company = factory.SelfAttribute("legal_name")
    legal_form = "SAS"
    # An active vendor was approved, and its billing mandate took effect then.
    billing_mandate_accepted_at = factory.LazyFunction(utcnow)


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"personne{n}@ac-paris.fr")
    name = factory.Faker("name", locale="fr_FR")
    password_hash = PASSWORD_HASH

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """`UserFactory(roles=[(Role.TEACHER, {"school": school})])`."""
        for role, scope in extracted or []:
            self.grants.append(RoleGrant(role=role, **scope))
        if create:
            db.session.flush()


_teacher_numbers = itertools.count(1)


def teacher(school: School | None = None, **kwargs: Any) -> User:
    """A teacher of `school`, with an address of its academy (allocations accept no other)."""
    school = school or SchoolFactory()
    if "email" not in kwargs:
        kwargs["email"] = f"enseignant{next(_teacher_numbers)}@{school.academy.email_domain}"
    return UserFactory(roles=[(Role.TEACHER, {"school": school})], **kwargs)


def academy_manager(academy_code: str = "01", **kwargs: Any) -> User:
    return UserFactory(roles=[(Role.ACADEMY_MANAGER, {"academy_code": academy_code})], **kwargs)


def vendor_member(vendor: Vendor | None = None, **kwargs: Any) -> User:
    return UserFactory(roles=[(Role.VENDOR, {"vendor": vendor or VendorFactory()})], **kwargs)


def with_role(role: Role, **kwargs: Any) -> User:
    return UserFactory(roles=[(role, {})], **kwargs)


# --- the catalogue: products are built through the services, as vendors and reviewers do ----


def product_draft(**overrides: Any) -> ProductDraft:
    """A valid draft (compliant declaration, a teacher plan at 30 €); override any field."""
    fields: dict[str, Any] = {
        "title": "Fractions en jeu",
        "summary": "Des exercices pour comprendre les fractions au cycle 3.",
        "description": "Les élèves manipulent des fractions avec des bandes et des disques.",
        "disciplines": ["mathematiques"],
        "levels": ["cycle_3"],
        "resource_type": "banque_exercices",
        "access_url": "https://ressource.example/fractions",
        "channel": Channel.CODES,
        "plans": [PlanDraft(PlanKind.TEACHER, 30_00, 2000)],
        "declaration": conduct.sample_declaration(),
    }
    fields.update(overrides)
    return ProductDraft(**fields)


def product(
    vendor: Vendor | None = None,
    state: str = "approved",
    reviewer: User | None = None,
    label_expires_on: date | None = None,
    **overrides: Any,
) -> Product:
    """A product of `vendor` brought to `state` ("draft", "in_review", "approved",
    "changes_requested", "rejected") through the real submission and review steps."""
    vendor = vendor or VendorFactory()
    created = products.create_product(None, vendor, product_draft(**overrides))
    if state == "draft":
        return created
    submission = vetting.submit(None, created.latest)
    assert submission.accepted, submission.findings
    if state == "in_review":
        return created
    reviewer = reviewer or with_role(Role.REVIEWER)
    decisions = {
        "approved": Decision.APPROVE,
        "changes_requested": Decision.CHANGES_REQUESTED,
        "rejected": Decision.REJECT,
    }
    all_met = {criterion.code: True for criterion in conduct.label_criteria()}
    vetting.decide(
        reviewer,
        created.latest,
        decisions[state],
        comment="Avis de la commission.",
        criteria=all_met,
        label_expires_on=label_expires_on,
    )
    return created
