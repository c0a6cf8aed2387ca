"""Vendor staff invite colleagues: the colleague gets the vendor role for that vendor only,
and someone new activates their account through the first-login flow."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.accounts import services as accounts
from app.accounts.models import Role, RoleGrant, User
from app.core import audit
from app.extensions import db
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.helpers import page_text
from tests.smtp import link as smtp_link
from tests.smtp import parts
from tests.vendors.helpers import count

COLLEAGUE = "nadia.colin@cartable.example"


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Les Éditions du Cartable SAS")


@pytest.fixture
def other_vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Atelier Concurrent SAS")


@pytest.fixture
def staff(auth: AuthActions, vendor: Vendor, other_vendor: Vendor) -> User:
    user = factories.vendor_member(vendor, name="Camille Martin")
    auth.login(user.email)
    return user


def invite(client: FlaskClient, vendor: Vendor, email: str, **kwargs: object) -> object:
    data = {"email": email, "name": "Nadia Colin"}
    return client.post(f"/editeur/{vendor.id}/equipe", data=data, **kwargs)


def vendor_grants(user: User) -> list[int | None]:
    return [grant.vendor_id for grant in user.grants if grant.role is Role.VENDOR]


def test_an_invited_colleague_gets_the_vendor_role_for_this_vendor_only(
    client: FlaskClient, staff: User, vendor: Vendor, other_vendor: Vendor
) -> None:
    response = invite(client, vendor, "Nadia.Colin@cartable.example")

    assert response.status_code == 302
    assert response.location.endswith(f"/editeur/{vendor.id}")
    colleague = accounts.find_user(COLLEAGUE)
    assert colleague is not None
    assert colleague.password_hash is None, "the colleague chooses a password later"
    assert vendor_grants(colleague) == [vendor.id]
    assert not colleague.has_role(Role.VENDOR, other_vendor.id)
    events = audit.history("vendor", vendor.id)
    assert [(e.action, e.actor_id, e.details) for e in events] == [
        ("vendor.member_invited", staff.id, {"email": COLLEAGUE})
    ]
    assert "Nadia Colin — nadia.colin@cartable.example" in page_text(
        client.get(f"/editeur/{vendor.id}")
    )


def test_inviting_the_same_colleague_twice_is_refused(
    client: FlaskClient, staff: User, vendor: Vendor
) -> None:
    invite(client, vendor, COLLEAGUE)
    grants = count(RoleGrant)

    response = invite(client, vendor, COLLEAGUE, follow_redirects=True)

    assert f"{COLLEAGUE} fait déjà partie de l'équipe." in page_text(response)
    assert count(RoleGrant) == grants


def test_inviting_a_member_of_the_team_is_refused(
    client: FlaskClient, staff: User, vendor: Vendor
) -> None:
    response = invite(client, vendor, staff.email.upper(), follow_redirects=True)
    assert "fait déjà partie de l'équipe." in page_text(response)
    assert vendor_grants(staff) == [vendor.id]


def test_a_person_who_has_an_account_keeps_it_and_their_roles(
    client: FlaskClient, staff: User, vendor: Vendor
) -> None:
    teacher = factories.teacher(email=COLLEAGUE)
    password_hash = teacher.password_hash
    db.session.commit()
    users = count(User)

    assert invite(client, vendor, COLLEAGUE).status_code == 302

    assert count(User) == users
    assert teacher.has_role(Role.TEACHER)
    assert teacher.has_role(Role.VENDOR, vendor.id)
    assert teacher.password_hash == password_hash


def test_a_malformed_address_is_refused(client: FlaskClient, staff: User, vendor: Vendor) -> None:
    users = count(User)
    response = invite(client, vendor, "pas-une-adresse", follow_redirects=True)
    assert response.status_code == 200
    assert "Adresse électronique non valide." in page_text(response)
    assert count(User) == users


def test_the_invited_colleague_gets_the_activation_link_by_mail(
    client: FlaskClient,
    auth: AuthActions,
    staff: User,
    vendor: Vendor,
    other_vendor: Vendor,
    mailbox: Mailbox,
) -> None:
    response = invite(client, vendor, COLLEAGUE, follow_redirects=True)
    assert "un lien pour activer son compte vient de lui être envoyé" in page_text(response)
    auth.logout()
    assert auth.login(COLLEAGUE, "nimporte-quoi").status_code == 200  # no password yet

    (message,) = mailbox.deliver().to(COLLEAGUE)
    assert "Les Éditions du Cartable SAS vous a ajouté à son équipe" in parts(message)[0]
    link = smtp_link(message, "/activation/")
    password = {"password": "mon nouveau mot de passe", "confirmation": "mon nouveau mot de passe"}
    assert client.post(link, data=password).status_code == 302

    space = client.get("/editeur", follow_redirects=True)  # one vendor: straight to its space
    assert space.status_code == 200
    assert "Les Éditions du Cartable SAS" in page_text(space)
    assert client.get(f"/editeur/{other_vendor.id}").status_code == 403
    auth.logout()
    assert auth.login(COLLEAGUE, "mon nouveau mot de passe").status_code == 302
