"""Vendor staff invite colleagues: an invitation, by mail, that the invited person accepts
or declines. Until they accept, they are not a member (no role, nothing of the vendor
applies to them — a reviewer may still review its products) and the team sees their
address only, never the name of an account that may exist for it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.accounts import services as accounts
from app.accounts.models import Role, RoleGrant, User
from app.core import audit
from app.extensions import db
from app.vendors.models import InvitationStatus, Vendor, VendorInvitation
from app.vetting import services as vetting
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
    db.session.commit()
    auth.login(user.email)
    return user


def invite(client: FlaskClient, vendor: Vendor, email: str, **kwargs: object) -> object:
    data = {"email": email, "name": "Nadia Colin"}
    return client.post(f"/editeur/{vendor.id}/equipe", data=data, **kwargs)


def vendor_grants(user: User) -> list[int | None]:
    return [grant.vendor_id for grant in user.grants if grant.role is Role.VENDOR]


def invitation_link(mailbox: Mailbox, email: str = COLLEAGUE) -> str:
    (message,) = mailbox.deliver().to(email)
    return smtp_link(message, "/editeur/invitation/")


def test_inviting_sends_an_invitation_and_makes_nobody_a_member(
    client: FlaskClient, staff: User, vendor: Vendor
) -> None:
    users, grants = count(User), count(RoleGrant)

    response = invite(client, vendor, "Nadia.Colin@cartable.example", follow_redirects=True)

    assert response.status_code == 200
    page = page_text(response)
    assert f"Invitation envoyée à {COLLEAGUE}" in page
    assert f"{COLLEAGUE} — invitation envoyée le" in page
    assert (count(User), count(RoleGrant)) == (users, grants)
    [invitation] = db.session.query(VendorInvitation).all()
    assert (invitation.email, invitation.status) == (COLLEAGUE, InvitationStatus.PENDING)
    events = audit.history("vendor", vendor.id)
    assert [(e.action, e.actor_id, e.details) for e in events] == [
        ("vendor.member_invited", staff.id, {"email": COLLEAGUE})
    ]


def test_the_team_never_learns_the_name_behind_an_address_before_acceptance(
    client: FlaskClient, staff: User, vendor: Vendor
) -> None:
    reviewer = factories.with_role(Role.REVIEWER, email=COLLEAGUE, name="Rachida Benali")
    db.session.commit()

    response = invite(client, vendor, COLLEAGUE, follow_redirects=True)

    page = page_text(response)
    assert "Rachida Benali" not in page
    assert f"{COLLEAGUE} — invitation envoyée le" in page
    assert vendor_grants(reviewer) == []


def test_a_reviewer_invited_keeps_reviewing_until_accepting(
    client: FlaskClient, auth: AuthActions, staff: User, vendor: Vendor, mailbox: Mailbox
) -> None:
    reviewer = factories.with_role(Role.REVIEWER, email=COLLEAGUE, name="Rachida Benali")
    version = factories.product(vendor, state="in_review").latest
    db.session.commit()
    invite(client, vendor, COLLEAGUE)
    auth.logout()

    assert not vetting.conflict_of_interest(reviewer, version)
    auth.login(COLLEAGUE)
    assert client.get(f"/commission/versions/{version.id}").status_code == 200
    auth.logout()

    assert client.post(f"{invitation_link(mailbox)}/accepter").status_code == 302

    db.session.refresh(reviewer)
    assert vetting.conflict_of_interest(reviewer, version)
    auth.login(staff.email)
    assert "Rachida Benali — nadia.colin@cartable.example" in page_text(
        client.get(f"/editeur/{vendor.id}/equipe")
    )


def test_inviting_twice_or_a_member_is_refused(
    client: FlaskClient, staff: User, vendor: Vendor
) -> None:
    invite(client, vendor, COLLEAGUE)

    again = invite(client, vendor, COLLEAGUE, follow_redirects=True)
    member = invite(client, vendor, staff.email.upper(), follow_redirects=True)

    assert f"Une invitation attend déjà la réponse de {COLLEAGUE}." in page_text(again)
    assert "fait déjà partie de l'équipe." in page_text(member)
    assert count(VendorInvitation) == 1


def test_a_malformed_address_is_refused(client: FlaskClient, staff: User, vendor: Vendor) -> None:
    response = invite(client, vendor, "pas-une-adresse", follow_redirects=True)
    assert response.status_code == 200
    assert "Adresse électronique non valide." in page_text(response)
    assert count(VendorInvitation) == 0


def test_a_new_person_accepts_then_chooses_a_password(
    client: FlaskClient,
    auth: AuthActions,
    staff: User,
    vendor: Vendor,
    other_vendor: Vendor,
    mailbox: Mailbox,
) -> None:
    invite(client, vendor, COLLEAGUE)
    auth.logout()
    (message,) = mailbox.deliver().to(COLLEAGUE)
    assert (
        "Camille Martin vous invite à rejoindre l’équipe de Les Éditions du Cartable SAS"
        in (parts(message)[0])
    )
    link = smtp_link(message, "/editeur/invitation/")

    page = page_text(client.get(link))
    assert "Camille Martin vous invite à rejoindre l’équipe de Les Éditions du Cartable SAS" in page
    assert accounts.find_user(COLLEAGUE) is None  # nothing made before the answer

    accepted = client.post(f"{link}/accepter")

    assert accepted.status_code == 302
    assert accepted.location.startswith("/activation/")
    password = {"password": "mon nouveau mot de passe", "confirmation": "mon nouveau mot de passe"}
    assert client.post(accepted.location, data=password).status_code == 302
    space = client.get("/editeur", follow_redirects=True)  # one vendor: straight to its space
    assert "Les Éditions du Cartable SAS" in page_text(space)
    assert client.get(f"/editeur/{other_vendor.id}").status_code == 403
    colleague = accounts.find_user(COLLEAGUE)
    assert colleague is not None
    assert colleague.name == "Nadia Colin"
    assert vendor_grants(colleague) == [vendor.id]
    assert client.get(link).status_code == 410  # answered: the link is spent


def test_a_person_with_an_account_accepts_and_keeps_it(
    client: FlaskClient, auth: AuthActions, staff: User, vendor: Vendor, mailbox: Mailbox
) -> None:
    teacher = factories.teacher(email=COLLEAGUE, name="Nadia Colin-Durand")
    password_hash = teacher.password_hash
    db.session.commit()
    invite(client, vendor, COLLEAGUE)
    auth.logout()

    accepted = client.post(f"{invitation_link(mailbox)}/accepter")

    assert accepted.location == "/connexion"
    db.session.refresh(teacher)
    assert teacher.has_role(Role.TEACHER)
    assert teacher.has_role(Role.VENDOR, vendor.id)
    assert teacher.password_hash == password_hash
    assert [e.action for e in audit.history("vendor", vendor.id)] == [
        "vendor.member_invited",
        "vendor.member_joined",
    ]


def test_declining_makes_nobody_a_member_and_the_invitation_disappears(
    client: FlaskClient, auth: AuthActions, staff: User, vendor: Vendor, mailbox: Mailbox
) -> None:
    teacher = factories.teacher(email=COLLEAGUE)
    db.session.commit()
    invite(client, vendor, COLLEAGUE)
    auth.logout()
    link = invitation_link(mailbox)

    declined = client.post(f"{link}/refuser", follow_redirects=True)

    assert "Invitation refusée" in page_text(declined)
    assert vendor_grants(teacher) == []
    assert client.post(f"{link}/accepter").status_code == 410
    assert vendor_grants(teacher) == []
    auth.login(staff.email)
    assert COLLEAGUE not in page_text(client.get(f"/editeur/{vendor.id}/equipe"))
    assert invite(client, vendor, COLLEAGUE).status_code == 302  # may be invited again


def test_a_forged_or_altered_link_is_refused(client: FlaskClient, session: object) -> None:
    response = client.get("/editeur/invitation/pas-un-jeton")
    assert response.status_code == 410
    assert "Cette invitation n'est pas valide" in page_text(response)
    assert client.post("/editeur/invitation/pas-un-jeton/accepter").status_code == 410


def test_someone_signed_in_with_another_address_is_told_whose_invitation_it_is(
    client: FlaskClient, auth: AuthActions, staff: User, vendor: Vendor, mailbox: Mailbox
) -> None:
    invite(client, vendor, COLLEAGUE)
    auth.logout()
    other = factories.teacher(email="quelquun.dautre@ac-paris.fr")
    db.session.commit()
    auth.login(other.email)

    text = page_text(client.get(invitation_link(mailbox)))

    assert "Vous êtes connecté avec l’adresse quelquun.dautre@ac-paris.fr" in text
    assert f"c’est le compte de {COLLEAGUE} qui rejoindra l’équipe" in text
