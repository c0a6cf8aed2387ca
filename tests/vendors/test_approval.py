"""A new vendor waits for the operator (issue 14, point 10): registered `pending` with the
terms of use accepted (version and date) and a link to confirm the registering person's
address; the operator's queue shows its identifiers and approves or refuses it (with a
reason), audited, the vendor's people told by mail; a pending vendor prepares products but
cannot submit them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.models import Role, User
from app.core import audit
from app.extensions import db
from app.products.models import VersionStatus
from app.vendors.models import Vendor, VendorStatus
from app.vendors.terms import TERMS_VERSION
from app.vetting import services as vetting
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.helpers import page_text
from tests.smtp import link as smtp_link
from tests.smtp import parts
from tests.vendors.helpers import account_form, company_form, count, field_errors

REGISTER = "/editeur/inscription"
PENDING = "/admin/editeurs/a-valider"
REGISTRANT = "camille.martin@cartable.example"

NOT_ADMINS: dict[str, Callable[[], User]] = {
    "teacher": factories.teacher,
    "vendor": factories.vendor_member,
    "reviewer": lambda: factories.with_role(Role.REVIEWER),
}


def register(client: FlaskClient, **overrides: str) -> Vendor:
    company = company_form(**overrides)
    response = client.post(REGISTER, data={**account_form(), **company})
    assert response.status_code == 302, page_text(response)
    vendor = db.session.scalar(select(Vendor).where(Vendor.siret == company["siret"]))
    assert vendor is not None
    return vendor


@pytest.fixture
def admin(session: object) -> User:
    return factories.with_role(Role.ADMIN, name="Odile Opératrice")


def test_a_new_vendor_is_pending_with_the_terms_it_accepted(client: FlaskClient) -> None:
    vendor = register(client)

    assert vendor.status is VendorStatus.PENDING
    assert not vendor.active
    assert vendor.terms_version == TERMS_VERSION
    assert vendor.terms_accepted_at is not None
    assert vendor.registered_by is not None
    assert vendor.registered_by.email == REGISTRANT
    assert vendor.registrant_email_confirmed_at is None
    space = page_text(client.get(f"/editeur/{vendor.id}"))
    assert "Votre inscription attend la validation de l’opérateur" in space
    assert "Nouveau produit" in space, "a pending vendor prepares its products"


def test_the_terms_must_be_accepted(client: FlaskClient) -> None:
    before = count(Vendor), count(User)
    company = company_form()
    del company["accept_terms"]

    response = client.post(REGISTER, data={**account_form(), **company})

    assert response.status_code == 422
    assert "acceptez les conditions d'utilisation" in field_errors(response, "accept_terms")
    assert (count(Vendor), count(User)) == before


def test_the_terms_are_a_page_linked_from_the_form(client: FlaskClient) -> None:
    form = page_text(client.get(REGISTER))
    assert 'href="/editeur/conditions-d-utilisation"' in form
    terms = client.get("/editeur/conditions-d-utilisation")
    assert terms.status_code == 200
    assert f"Version {TERMS_VERSION}" in page_text(terms)


def test_the_registration_page_is_linked_from_home_and_login(client: FlaskClient) -> None:
    assert f'href="{REGISTER}"' in page_text(client.get("/"))
    assert f'href="{REGISTER}"' in page_text(client.get("/connexion"))


def test_the_registrant_confirms_their_address_by_the_mailed_link(
    client: FlaskClient, auth: AuthActions, mailbox: Mailbox
) -> None:
    vendor = register(client)
    auth.logout()

    (message,) = mailbox.deliver().to(REGISTRANT)
    assert "Les Éditions du Cartable SAS" in parts(message)[0]
    link = smtp_link(message, "/editeur/confirmation/")
    assert client.get(link).status_code == 302

    assert vendor.registrant_email_confirmed_at is not None
    assert "vendor.email_confirmed" in [e.action for e in audit.history("vendor", vendor.id)]
    assert client.get(link[:-3] + "xyz").status_code == 422  # a spoiled link


def test_the_queue_shows_identifiers_address_confirmation_and_terms(
    client: FlaskClient, auth: AuthActions, admin: User
) -> None:
    vendor = register(client, legal_name="Cartable Malin SAS", parent_company="Groupe Malin")
    auth.logout()
    auth.login(admin.email)

    page = page_text(client.get(PENDING))

    assert "Cartable Malin SAS" in page
    for identifier in (vendor.siren, vendor.siret, vendor.vat_number, "Groupe Malin"):
        assert identifier in page
    assert REGISTRANT in page
    assert "Adresse non confirmée" in page
    assert f"Version {TERMS_VERSION} acceptée le" in page
    assert "Valider l’inscription : Cartable Malin SAS" in page  # not "de Cartable…"


def test_approving_lets_the_vendor_submit_and_tells_its_people(
    client: FlaskClient, auth: AuthActions, admin: User, mailbox: Mailbox
) -> None:
    vendor = register(client)
    colleague = factories.vendor_member(vendor, email="collegue@cartable.example")
    auth.logout()
    auth.login(admin.email)

    response = client.post(f"/admin/editeurs/{vendor.id}/valider", follow_redirects=True)

    assert "L’inscription de Les Éditions du Cartable SAS est validée" in page_text(response)
    assert vendor.status is VendorStatus.ACTIVE
    (event,) = [e for e in audit.history("vendor", vendor.id) if e.action == "vendor.approved"]
    assert event.actor_id == admin.id
    inbox = mailbox.deliver()
    for person in (REGISTRANT, colleague.email):
        (message,) = [m for m in inbox.to(person) if "validée" in str(m["Subject"])]
        assert "vous pouvez maintenant soumettre vos produits" in parts(message)[0]
    version = factories.product(vendor, state="draft").latest
    assert vetting.submit(None, version).accepted


def test_refusing_needs_a_reason_and_tells_the_vendor_why(
    client: FlaskClient, auth: AuthActions, admin: User, mailbox: Mailbox
) -> None:
    vendor = register(client)
    auth.logout()
    auth.login(admin.email)

    client.post(f"/admin/editeurs/{vendor.id}/refuser", data={"reason": " "})
    assert vendor.status is VendorStatus.PENDING

    reason = "Le SIRET appartient à une entreprise radiée."
    client.post(f"/admin/editeurs/{vendor.id}/refuser", data={"reason": reason})

    assert vendor.status is VendorStatus.REFUSED
    assert vendor.status_reason == reason
    (event,) = [e for e in audit.history("vendor", vendor.id) if e.action == "vendor.refused"]
    assert (event.actor_id, event.details["reason"]) == (admin.id, reason)
    (message,) = [m for m in mailbox.deliver().to(REGISTRANT) if "refusée" in str(m["Subject"])]
    assert reason in parts(message)[0]
    assert client.post(f"/admin/editeurs/{vendor.id}/valider").status_code == 409
    assert "Cartable" not in page_text(client.get(PENDING))


def test_a_pending_vendor_prepares_a_product_but_cannot_submit_it(
    client: FlaskClient, auth: AuthActions
) -> None:
    vendor = factories.VendorFactory(status=VendorStatus.PENDING)
    member = factories.vendor_member(vendor)
    product = factories.product(vendor, state="draft")
    auth.login(member.email)

    url = f"/editeur/{vendor.id}/produits/{product.id}/soumettre"
    response = client.post(url, follow_redirects=True)

    assert "Votre inscription attend la validation de l'opérateur" in page_text(response)
    assert product.latest.status is VersionStatus.DRAFT
    assert "version.submitted" not in [e.action for e in audit.history("product", product.id)]


def test_demo_and_factory_vendors_stay_active(session: object) -> None:
    assert factories.VendorFactory().status is VendorStatus.ACTIVE


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_admins_decide(client: FlaskClient, auth: AuthActions, who: str) -> None:
    vendor = factories.VendorFactory(status=VendorStatus.PENDING)
    auth.login(NOT_ADMINS[who]().email)
    assert client.get(PENDING).status_code == 403
    assert client.post(f"/admin/editeurs/{vendor.id}/valider").status_code == 403
    refusal = client.post(f"/admin/editeurs/{vendor.id}/refuser", data={"reason": "x"})
    assert refusal.status_code == 403
    assert vendor.status is VendorStatus.PENDING
