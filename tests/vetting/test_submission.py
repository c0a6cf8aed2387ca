"""Submitting a version: the code-of-conduct checks run at once; a blocker refuses it on the
spot, otherwise it waits in the commission's queue."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.accounts.models import User
from app.core import audit
from app.core.errors import Conflict
from app.extensions import db
from app.products import services as products
from app.products.models import VersionStatus
from app.vendors.models import Vendor, VendorStatus
from app.vetting import services
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.vetting.helpers import actions, declaration, product_page


def test_a_declaration_with_blockers_is_refused_on_the_spot(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User, reviewer: User
) -> None:
    blocked = declaration(hosting=[{"country": "US", "provider": "AWS"}], advertising=True)
    product = factories.product(vendor, state="draft", declaration=blocked)
    auth.login(member.email)

    response = client.post(product_page(product) + "/soumettre")

    assert response.headers["Location"] == product_page(product)
    version = product.latest
    assert version.status is VersionStatus.DRAFT
    assert version.submitted_at is None
    blockers = {f["rule"] for f in version.findings or [] if f["severity"] == "blocker"}
    assert blockers == {"hosting_eea", "advertising"}
    event = audit.history("product", product.id)[-1]
    assert (event.action, event.actor_id) == ("version.blocked", member.id)
    assert event.details["blockers"] == ["hosting_eea", "advertising"]

    text = page_text(client.get(product_page(product)))
    assert "Soumission refusée : la déclaration ne respecte pas le code de conduite." in text
    assert "L'hébergement chez AWS (US) est hors de l'Union européenne" in text
    assert "La ressource affiche de la publicité" in text
    assert "Version refusée par les vérifications automatiques" in text  # in the timeline

    auth.logout()
    auth.login(reviewer.email)
    assert product.latest.title not in page_text(client.get("/commission"))
    assert client.get(f"/commission/versions/{version.id}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"hosting": [{"country": "US", "provider": "AWS"}]}, "hosting_eea"),
        (
            {"subprocessors": [{"name": "Mailgun", "country": "US", "purpose": "Courriels"}]},
            "subprocessors_eea",
        ),
        ({"advertising": True}, "advertising"),
        ({"data_sale": True}, "data_sale"),
        ({"pupil_profiling": True}, "pupil_profiling"),
        ({"retention_days": 10_000}, "retention"),
        ({"dpo_contact": ""}, "dpo_contact"),
        ({"privacy_policy_url": "http://lumiere.fr/confidentialite"}, "privacy_policy"),
        ({"deletion_at_end": False}, "deletion_at_end"),
        ({"pupil_data": ["identity"], "gar_access": False}, "pupil_identity_gar"),
    ],
)
def test_each_blocker_refuses_the_submission(
    vendor: Vendor, changes: dict[str, Any], rule: str
) -> None:
    version = factories.product(vendor, state="draft", declaration=declaration(**changes)).latest

    submission = services.submit(None, version)

    assert not submission.accepted
    assert [f.rule for f in submission.findings if f.severity.value == "blocker"] == [rule]
    assert version.status is VersionStatus.DRAFT


def test_a_vendor_owned_by_an_excluded_group_is_blocked(vendor: Vendor) -> None:
    vendor.parent_company = "Google France"  # added to the exclusion list after registration
    version = factories.product(vendor, state="draft").latest

    submission = services.submit(None, version)

    assert not submission.accepted
    [finding] = [f for f in submission.findings if f.rule == "exclusion_list"]
    assert finding.severity.value == "blocker"


def test_a_compliant_version_goes_to_the_commission_queue(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User, reviewer: User
) -> None:
    product = factories.product(vendor, state="draft", title="Tangram géométrique")
    auth.login(member.email)

    client.post(product_page(product) + "/soumettre")

    version = product.latest
    assert version.status is VersionStatus.IN_REVIEW
    assert version.submitted_at is not None
    assert {f["severity"] for f in version.findings or []} <= {"ok", "warning"}
    assert actions(product) == ["product.created", "version.submitted"]
    text = page_text(client.get(product_page(product)))
    assert "Votre produit est soumis à la commission." in text
    assert "Soumettre à la commission" not in text  # nothing more to submit, nor to edit

    auth.logout()
    auth.login(reviewer.email)
    queue = page_text(client.get("/commission"))
    assert f'<a href="/commission/versions/{version.id}">Tangram géométrique</a>' in queue
    assert "Éditions Tangram SAS" in queue


def test_fixing_the_blockers_then_submitting_again_is_accepted(vendor: Vendor) -> None:
    version = factories.product(
        vendor, state="draft", declaration=declaration(advertising=True)
    ).latest
    assert not services.submit(None, version).accepted

    fixed = factories.product_draft(declaration=declaration(advertising=False))
    products.update_draft(None, version, fixed)  # type: ignore[arg-type]
    assert version.findings is None  # the old findings no longer describe the draft

    assert services.submit(None, version).accepted
    assert version.status is VersionStatus.IN_REVIEW


def test_a_submitted_version_cannot_be_submitted_again(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User
) -> None:
    product = factories.product(vendor, state="in_review")
    auth.login(member.email)

    assert client.post(product_page(product) + "/soumettre").status_code == 409
    assert actions(product) == ["product.created", "version.submitted"]


def test_a_suspended_vendor_cannot_submit(vendor: Vendor) -> None:
    version = factories.product(vendor, state="draft").latest
    vendor.status = VendorStatus.SUSPENDED
    db.session.flush()

    with pytest.raises(Conflict, match="suspendu"):
        services.submit(None, version)
    assert version.status is VersionStatus.DRAFT


def test_another_vendor_cannot_submit_this_product(
    client: FlaskClient, auth: AuthActions, vendor: Vendor
) -> None:
    product = factories.product(vendor, state="draft")
    stranger = factories.vendor_member(factories.VendorFactory())
    auth.login(stranger.email)

    assert client.post(product_page(product) + "/soumettre").status_code == 403
    other_vendor_id = stranger.grants[0].vendor_id
    url = f"/editeur/{other_vendor_id}/produits/{product.id}/soumettre"
    assert client.post(url).status_code == 404
    assert product.latest.status is VersionStatus.DRAFT


def test_a_vendor_waiting_for_approval_cannot_submit(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User
) -> None:
    version = factories.product(vendor, state="draft").latest
    vendor.status = VendorStatus.PENDING
    db.session.flush()

    with pytest.raises(services.VendorNotApproved, match="attend la validation"):
        services.submit(None, version)
    auth.login(member.email)
    response = client.post(product_page(version.product) + "/soumettre", follow_redirects=True)
    assert "vous pourrez soumettre ce produit à la commission dès" in page_text(response)
    assert version.status is VersionStatus.DRAFT
    assert version.findings is None
