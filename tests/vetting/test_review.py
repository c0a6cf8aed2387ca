"""The commission's review: the findings and the label grid, the decisions and what they
need, conflicts of interest, who may see what, and the product's timeline."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core import dates
from app.extensions import db
from app.products import services as products
from app.products.models import Product, VersionStatus
from app.vendors.models import Vendor
from app.vetting import services
from app.vetting.models import Decision, Review
from catalog import conduct
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.products.helpers import form_data
from tests.products.test_product_form import image
from tests.vetting.helpers import actions, decision_form, product_page

TODAY = dates.today()


@pytest.fixture
def in_review(vendor: Vendor) -> Product:
    return factories.product(vendor, state="in_review", title="Tangram géométrique")


@pytest.fixture
def as_reviewer(auth: AuthActions, in_review: Product, member: User, reviewer: User) -> User:
    """The reviewer, logged in once the product and the vendor's member exist: the login
    commits them, so a refused decision (which rolls back) keeps them."""
    auth.login(reviewer.email)
    return reviewer


def review_url(product: Product) -> str:
    return f"/commission/versions/{product.latest.id}"


def reviews(product: Product) -> list[Review]:
    return list(db.session.scalars(select(Review).where(Review.version_id == product.latest.id)))


# --- the review page ----------------------------------------------------------------------------


def test_the_review_page_shows_the_findings_and_the_label_grid(
    client: FlaskClient, in_review: Product, as_reviewer: User
) -> None:
    response = client.get(review_url(in_review))

    assert response.status_code == 200
    text = page_text(response)
    for finding in services.findings_of(in_review.latest):
        assert finding.message in text
    for criterion in conduct.label_criteria():
        assert f'name="criterion_{criterion.code}"' in text
        assert criterion.label in text
    for decision in Decision:
        assert decision.label in text
    assert "Les données sont hébergées chez OVHcloud (FR)." in text
    assert "Soumis à la commission" in text  # the timeline


def test_the_findings_are_shown_in_words_without_their_rule_codes(
    client: FlaskClient, in_review: Product, as_reviewer: User
) -> None:
    text = page_text(client.get(review_url(in_review)))

    findings = services.findings_of(in_review.latest)
    assert findings
    for finding in findings:
        assert finding.message in text
        assert f"({finding.rule})" not in text  # e.g. "(hosting_eea)"


# --- decisions ----------------------------------------------------------------------------------


def test_approving_with_every_criterion_met_lists_the_product_for_three_years(
    client: FlaskClient, in_review: Product, as_reviewer: User
) -> None:
    response = client.post(review_url(in_review), data=decision_form("approve"))

    assert response.headers["Location"] == "/commission"
    version = in_review.latest
    assert (version.status, version.listed) == (VersionStatus.APPROVED, True)
    assert version.label_expires_on == services.default_label_expiry(TODAY)
    assert (version.label_expires_on - TODAY).days in (365 * 3, 365 * 3 + 1)
    [review] = reviews(in_review)
    assert (review.decision, review.reviewer_id) == (Decision.APPROVE, as_reviewer.id)
    assert all(review.criteria.values())
    assert actions(in_review)[-1] == "review.approve"
    assert "Décision enregistrée." in page_text(client.get("/commission"))
    assert client.get(f"/catalogue/{in_review.id}").status_code == 200


@pytest.mark.parametrize(
    ("on", "expected"),
    [(date(2025, 9, 1), date(2028, 9, 1)), (date(2024, 2, 29), date(2027, 2, 28))],
)
def test_the_default_label_lasts_three_years(on: date, expected: date) -> None:
    assert services.default_label_expiry(on) == expected


def test_the_reviewer_may_choose_the_label_expiry(
    client: FlaskClient, in_review: Product, as_reviewer: User
) -> None:
    expires = TODAY + timedelta(days=500)
    data = decision_form("approve", label_expires_on=expires.isoformat())

    assert client.post(review_url(in_review), data=data).status_code == 302
    assert in_review.latest.label_expires_on == expires


@pytest.mark.parametrize(
    ("expires", "reason"),
    [(TODAY, "date passée"), (TODAY + timedelta(days=366 * 5 + 1), "plus de 5 ans")],
    ids=["today", "beyond-five-years"],
)
def test_a_label_expiry_out_of_range_is_refused(
    client: FlaskClient, in_review: Product, as_reviewer: User, expires: date, reason: str
) -> None:
    data = decision_form("approve", label_expires_on=expires.isoformat())

    response = client.post(review_url(in_review), data=data)

    assert response.status_code == 422
    assert reason in page_text(response)
    assert in_review.latest.status is VersionStatus.IN_REVIEW


def test_approving_with_a_criterion_unmet_is_refused(
    client: FlaskClient, in_review: Product, as_reviewer: User
) -> None:
    data = decision_form("approve", unmet=("accessibility",))

    response = client.post(review_url(in_review), data=data)

    assert response.status_code == 422
    text = page_text(response)
    assert "Le label ne peut être accordé que si tous les critères sont remplis." in text
    # The criterion named as the grid names it, not by its code (label_criteria.json).
    assert "Le critère « Accessibilité » n'est pas rempli." in text
    assert "accessibility" not in re.sub(r"<[^>]+>", " ", text)  # what a reader sees
    version = in_review.latest
    assert (version.status, version.listed) == (VersionStatus.IN_REVIEW, False)
    assert reviews(in_review) == []
    assert actions(in_review) == ["product.created", "version.submitted"]


def test_a_decision_must_be_chosen(
    client: FlaskClient, in_review: Product, as_reviewer: User
) -> None:
    data = decision_form("approve")
    del data["decision"]

    response = client.post(review_url(in_review), data=data)

    assert response.status_code == 422
    assert "Choisissez une décision." in page_text(response)
    assert in_review.latest.status is VersionStatus.IN_REVIEW


@pytest.mark.parametrize(
    ("decision", "status", "notice"),
    [
        ("changes_requested", VersionStatus.CHANGES_REQUESTED, "Modifications demandées"),
        ("reject", VersionStatus.REJECTED, "Refusé"),
    ],
)
def test_sending_back_needs_a_comment_the_vendor_then_reads(
    client: FlaskClient,
    auth: AuthActions,
    in_review: Product,
    as_reviewer: User,
    member: User,
    decision: str,
    status: VersionStatus,
    notice: str,
) -> None:
    without = client.post(review_url(in_review), data=decision_form(decision, comment="  "))
    assert without.status_code == 422
    assert 'id="comment-errors"' in page_text(without)
    assert in_review.latest.status is VersionStatus.IN_REVIEW

    comment = "Ajoutez les sous-titres des vidéos."
    data = decision_form(decision, unmet=("accessibility",), comment=comment)
    assert client.post(review_url(in_review), data=data).status_code == 302
    assert in_review.latest.status is status
    assert not in_review.latest.listed
    assert in_review.latest.label_expires_on is None
    assert actions(in_review)[-1] == f"review.{decision}"

    auth.logout()
    auth.login(member.email)
    text = page_text(client.get(product_page(in_review)))
    assert "Avis de la commission" in text
    assert comment in text
    assert notice in text


def test_a_decided_version_cannot_be_decided_again(
    client: FlaskClient, in_review: Product, as_reviewer: User
) -> None:
    client.post(review_url(in_review), data=decision_form("approve"))

    again = client.post(review_url(in_review), data=decision_form("reject", comment="Non."))

    assert again.status_code == 409
    assert in_review.latest.status is VersionStatus.APPROVED
    assert 'name="decision"' not in page_text(client.get(review_url(in_review)))


@pytest.mark.parametrize(
    ("decision", "label_expires_on"),
    [(Decision.APPROVE, None), (Decision.REJECT, TODAY + timedelta(days=30))],
    ids=["approval-without-label", "label-without-approval"],
)
def test_the_database_ties_the_label_to_an_approval(
    session: Session,
    in_review: Product,
    reviewer: User,
    decision: Decision,
    label_expires_on: date | None,
) -> None:
    review = Review(
        version=in_review.latest,
        reviewer=reviewer,
        decision=decision,
        criteria={},
        label_expires_on=label_expires_on,
    )

    with pytest.raises(IntegrityError, match="label_only_on_approval"), session.begin_nested():  # noqa: PT012
        session.add(review)
        session.flush()


# --- conflicts of interest and access -------------------------------------------------------


def test_a_reviewer_who_is_a_member_of_the_vendor_cannot_review(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, in_review: Product
) -> None:
    other = factories.product(factories.VendorFactory(), state="in_review", title="Autre produit")
    insider = factories.UserFactory(roles=[(Role.REVIEWER, {}), (Role.VENDOR, {"vendor": vendor})])
    auth.login(insider.email)

    page = page_text(client.get(review_url(in_review)))
    assert "Vous êtes membre de cet éditeur" in page
    assert 'name="decision"' not in page
    response = client.post(review_url(in_review), data=decision_form("approve"))
    assert response.status_code == 403
    assert in_review.latest.status is VersionStatus.IN_REVIEW
    assert reviews(in_review) == []

    queue = page_text(client.get("/commission"))
    flagged = re.search(r"Tangram géométrique\s*<span[^>]*>Conflit d’intérêts</span>", queue)
    assert flagged is not None
    assert f'href="{review_url(in_review)}"' not in queue
    assert f'<a href="{review_url(other)}">Autre produit</a>' in queue


def test_drafts_are_not_shown_to_reviewers(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, reviewer: User
) -> None:
    draft = factories.product(vendor, state="draft", title="Brouillon secret")
    auth.login(reviewer.email)

    assert client.get(review_url(draft)).status_code == 404
    assert client.post(review_url(draft), data=decision_form("approve")).status_code == 404
    assert "Brouillon secret" not in page_text(client.get("/commission"))
    assert draft.latest.status is VersionStatus.DRAFT


@pytest.mark.parametrize(
    "make_user",
    [
        lambda vendor: factories.teacher(),
        lambda vendor: factories.vendor_member(vendor),
        lambda vendor: factories.academy_manager(),
        lambda vendor: factories.with_role(Role.ADMIN),
    ],
    ids=["teacher", "vendor", "academy-manager", "admin"],
)
def test_only_reviewers_reach_the_commission(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, in_review: Product, make_user: Any
) -> None:
    auth.login(make_user(vendor).email)

    assert client.get("/commission").status_code == 403
    assert client.get(review_url(in_review)).status_code == 403
    assert client.post(review_url(in_review), data=decision_form("approve")).status_code == 403
    assert in_review.latest.status is VersionStatus.IN_REVIEW


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: FlaskClient, in_review: Product
) -> None:
    response = client.get(review_url(in_review))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


# --- the timeline -------------------------------------------------------------------------------


def test_the_product_page_timeline_lists_every_step(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User, reviewer: User
) -> None:
    def as_user(user: User) -> None:
        auth.logout()
        auth.login(user.email)

    as_user(member)
    client.post(
        f"/editeur/{vendor.id}/produits/nouveau",
        data=form_data(**{"declaration-advertising": "oui"}),
    )
    product = db.session.scalars(select(Product).where(Product.vendor_id == vendor.id)).one()
    client.post(product_page(product) + "/soumettre")  # blocked: advertising
    client.post(product_page(product) + "/modifier", data=form_data())
    client.post(product_page(product) + "/soumettre")
    as_user(reviewer)
    comment = "Précisez les niveaux visés."
    client.post(review_url(product), data=decision_form("changes_requested", comment=comment))
    as_user(member)
    client.post(product_page(product) + "/modifier", data=form_data(title="Tangram cycle 3"))
    client.post(product_page(product) + "/soumettre")
    as_user(reviewer)
    client.post(review_url(product), data=decision_form("approve"))

    assert actions(product) == [
        "product.created",
        "version.blocked",
        "version.edited",
        "version.submitted",
        "review.changes_requested",
        "version.edited",
        "version.submitted",
        "review.approve",
    ]
    as_user(member)
    text = page_text(client.get(product_page(product)))
    timeline = text.split("<h2>Historique</h2>", 1)[1]
    steps = [" ".join(item.split()) for item in re.findall(r"<li>(.*?)</li>", timeline, re.S)]
    expected = [
        "Produit créé (v1)",
        "Soumission refusée par les contrôles automatiques (v1)",
        "Brouillon modifié (v1)",
        "Soumis à la commission (v1)",
        f"Modifications demandées (v1) : « {comment} »",
        "Brouillon modifié (v1)",
        "Soumis à la commission (v1)",
        "Label accordé (v1)",
    ]
    assert [step.split(" — ", 1)[1] for step in steps] == expected
    assert "au catalogue, label jusqu’au" in text


def test_the_queue_counts_its_versions_in_french(
    client: FlaskClient, vendor: Vendor, in_review: Product, as_reviewer: User
) -> None:
    assert "1 version en attente" in page_text(client.get("/commission"))

    factories.product(vendor, state="in_review", title="Puzzle des fractions")
    db.session.commit()
    queue = page_text(client.get("/commission"))

    assert "2 versions en attente, la plus ancienne d’abord" in queue
    assert "(s)" not in queue


def test_the_reviewer_sees_the_screenshots_and_their_alternative_text(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User, reviewer: User
) -> None:
    product = factories.product(vendor, state="draft", title="Tangram géométrique")
    products.add_screenshot(member, product.latest, image("PNG"), "Un tangram à compléter", 2**20)
    assert services.submit(None, product.latest).accepted
    auth.login(reviewer.email)

    text = page_text(client.get(review_url(product)))

    assert 'alt="Un tangram à compléter"' in text
    assert "Texte alternatif : Un tangram à compléter" in text
