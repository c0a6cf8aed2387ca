"""Versions: what teachers buy never changes under their feet; the database keeps the rule."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core import dates
from app.core.errors import Conflict
from app.extensions import db
from app.products import services
from app.products.models import Plan, PlanKind, Product, ProductVersion, VersionStatus
from app.products.services import PlanDraft
from app.vendors.models import Vendor
from app.vetting import services as vetting
from app.vetting.models import Decision
from tests import factories
from tests.helpers import page_text
from tests.products.helpers import all_criteria_met, form_data, listed_versions, result_titles


@pytest.fixture
def listed(vendor: Vendor, vendor_user: User) -> Product:
    """Version 1 approved and on sale at 30 €. Committed (to the test's savepoint) so that a
    refused request, which rolls back, keeps it."""
    product = factories.product(
        vendor, title="Tangram v1", plans=[PlanDraft(PlanKind.TEACHER, 30_00, 2000)]
    )
    db.session.commit()
    return product


def product_url(product: Product, action: str = "") -> str:
    return f"/editeur/{product.vendor_id}/produits/{product.id}{action}"


def start_new_version(client: FlaskClient, product: Product) -> Any:
    """The vendor's « Créer une nouvelle version » button."""
    return client.post(product_url(product, "/nouvelle-version"))


def storefront_shows(client: FlaskClient, product: Product) -> tuple[str, str]:
    """The title and the teacher's price on the product's storefront page."""
    text = " ".join(page_text(client.get(f"/catalogue/{product.id}")).split())
    title = re.search(r"<h1>(.*?)</h1>", text)
    price = re.search(r"Licence enseignant — (.*?) TTC", text)
    assert title is not None
    assert price is not None
    return title.group(1), price.group(1)


def approve(version: ProductVersion) -> None:
    vetting.decide(
        factories.with_role(Role.REVIEWER), version, Decision.APPROVE, criteria=all_criteria_met()
    )


def test_the_listed_version_stays_on_sale_until_the_next_one_is_approved(
    client: FlaskClient, listed: Product
) -> None:
    v1 = listed.latest
    assert storefront_shows(client, listed) == ("Tangram v1", "30,00 €")

    response = start_new_version(client, listed)
    assert response.headers["Location"] == product_url(listed, "/modifier")
    edit: dict[str, Any] = {"title": "Tangram v2", "plans-teacher-price": "35"}
    assert client.post(product_url(listed, "/modifier"), data=form_data(**edit)).status_code == 302
    v2 = listed.latest
    assert (v2.number, v2.status, v2.title) == (2, VersionStatus.DRAFT, "Tangram v2")
    assert storefront_shows(client, listed) == ("Tangram v1", "30,00 €")
    assert result_titles(client.get("/catalogue?q=tangram")) == ["Tangram v1"]

    client.post(product_url(listed, "/soumettre"))
    assert v2.status is VersionStatus.IN_REVIEW
    assert storefront_shows(client, listed) == ("Tangram v1", "30,00 €")
    assert (v1.status, v1.listed) == (VersionStatus.APPROVED, True)

    approve(v2)
    assert storefront_shows(client, listed) == ("Tangram v2", "35,00 €")
    assert result_titles(client.get("/catalogue?q=tangram")) == ["Tangram v2"]
    assert (v1.status, v1.listed) == (VersionStatus.SUPERSEDED, False)
    assert (v2.status, v2.listed) == (VersionStatus.APPROVED, True)
    assert listed_versions(listed) == [v2]
    assert listed.listed is v2


def test_a_new_version_can_be_started_from_a_fresh_session(
    client: FlaskClient, listed: Product
) -> None:
    # Nothing loaded yet, as in any real request: reading the newest version's lists must not
    # autoflush the new, still empty, version (a bug fixed in 1231d1a).
    db.session.expire_all()

    response = client.post(product_url(listed, "/nouvelle-version"))

    assert response.status_code == 302
    assert [v.number for v in listed.versions] == [1, 2]


def test_a_new_version_copies_the_listed_one_and_leaves_it_untouched(
    client: FlaskClient, listed: Product
) -> None:
    start_new_version(client, listed)

    v1, v2 = listed.versions
    assert services.draft_of(v2) == services.draft_of(v1)
    assert v2.listed is False
    assert v2.plans[0] is not v1.plans[0]  # its own plans: editing them leaves v1's price alone
    # Asking again while the draft is open gives the same draft, not a third version.
    start_new_version(client, listed)
    assert len(listed.versions) == 2


def test_a_version_in_review_cannot_be_edited(client: FlaskClient, listed: Product) -> None:
    start_new_version(client, listed)
    client.post(product_url(listed, "/soumettre"))
    in_review = listed.latest
    assert in_review.status is VersionStatus.IN_REVIEW

    with pytest.raises(Conflict):
        services.update_draft(None, in_review, services.draft_of(in_review))  # type: ignore[arg-type]
    page = client.get(product_url(listed, "/modifier"), follow_redirects=True)
    assert "n’est plus modifiable" in page_text(page)
    response = client.post(product_url(listed, "/modifier"), data=form_data(title="Changé"))
    assert response.status_code == 302
    db.session.refresh(in_review)
    assert in_review.title == "Tangram v1"


def test_no_new_version_while_one_is_in_review(client: FlaskClient, listed: Product) -> None:
    start_new_version(client, listed)
    client.post(product_url(listed, "/soumettre"))

    response = start_new_version(client, listed)

    assert response.status_code == 409
    assert "en cours d'examen" in page_text(response)
    assert [v.number for v in listed.versions] == [1, 2]
    with pytest.raises(Conflict):
        services.new_version(None, listed)  # type: ignore[arg-type]


def test_a_rejected_version_leaves_the_listed_one_on_sale(
    client: FlaskClient, listed: Product
) -> None:
    start_new_version(client, listed)
    client.post(product_url(listed, "/modifier"), data=form_data(title="Tangram v2"))
    client.post(product_url(listed, "/soumettre"))
    vetting.decide(
        factories.with_role(Role.REVIEWER), listed.latest, Decision.REJECT, comment="Non."
    )

    assert storefront_shows(client, listed) == ("Tangram v1", "30,00 €")
    assert start_new_version(client, listed).status_code == 302
    assert [v.number for v in listed.versions] == [1, 2, 3]


# --- the database refuses what the services never do ----------------------------------------


def test_the_database_refuses_a_second_listed_version(
    session: Session, listed: Product, vendor_user: User
) -> None:
    draft = services.new_version(vendor_user, listed)
    expires = dates.today() + timedelta(days=365)

    with (
        pytest.raises(IntegrityError, match="one_listed|product_version.product_id"),
        session.begin_nested(),
    ):
        session.execute(
            update(ProductVersion)
            .where(ProductVersion.id == draft.id)
            .values(status=VersionStatus.APPROVED, label_expires_on=expires, listed=True)
        )

    assert listed_versions(listed) == [listed.versions[0]]


def test_the_database_refuses_a_listed_version_that_is_not_approved(
    session: Session, listed: Product, vendor_user: User
) -> None:
    draft = services.new_version(vendor_user, listed)
    listed.versions[0].listed = False
    session.flush()

    with pytest.raises(IntegrityError, match="listed_is_approved"), session.begin_nested():
        session.execute(
            update(ProductVersion).where(ProductVersion.id == draft.id).values(listed=True)
        )


@pytest.mark.parametrize(
    ("plan", "constraint"),
    [
        ({"kind": PlanKind.TEACHER, "price_cents": 0, "vat_rate_bp": 2000}, "price_positive"),
        ({"kind": PlanKind.TEACHER, "price_cents": -100, "vat_rate_bp": 2000}, "price_positive"),
        ({"kind": PlanKind.TEACHER, "price_cents": 1000, "vat_rate_bp": 1900}, "vat_rate_known"),
        (
            {"kind": PlanKind.CLASS, "price_cents": 1000, "vat_rate_bp": 2000},
            "max_pupils_for_class",
        ),
        (
            {"kind": PlanKind.SCHOOL, "price_cents": 1000, "vat_rate_bp": 2000, "max_pupils": 30},
            "max_pupils_for_class",
        ),
        (
            {"kind": PlanKind.CLASS, "price_cents": 1000, "vat_rate_bp": 2000, "max_pupils": 0},
            "max_pupils_for_class",
        ),
    ],
    ids=[
        "zero-price",
        "negative-price",
        "unknown-vat",
        "class-without-max-pupils",
        "school-with-max-pupils",
        "class-of-zero",
    ],
)
def test_the_database_refuses_a_bad_plan(
    session: Session, vendor: Vendor, plan: dict[str, Any], constraint: str
) -> None:
    version = factories.product(vendor, state="draft").latest

    with pytest.raises(IntegrityError, match=constraint), session.begin_nested():  # noqa: PT012
        session.add(Plan(version=version, **plan))
        session.flush()


def test_the_database_refuses_two_plans_of_the_same_kind(session: Session, vendor: Vendor) -> None:
    version = factories.product(vendor, state="draft").latest

    with pytest.raises(IntegrityError, match="version_id"), session.begin_nested():  # noqa: PT012
        session.add(Plan(version=version, kind=PlanKind.TEACHER, price_cents=5, vat_rate_bp=2000))
        session.flush()
