from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role, User
from app.core.audit import AuditEvent
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text


def test_login_lands_teacher_on_their_account(client: FlaskClient, auth: AuthActions) -> None:
    user = factories.teacher(email="anne.martin@ac-paris.fr")
    response = auth.login("Anne.Martin@AC-Paris.fr")  # emails are case-insensitive
    assert response.status_code == 302
    assert response.headers["Location"] == "/mon-compte"
    page = client.get("/mon-compte").get_data(as_text=True)
    assert "Mon compte ressources" in page
    assert user.name in page
    assert db.session.query(AuditEvent).filter_by(action="user.logged_in").count() == 1


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.ADMIN, "/admin/academies"),
        (Role.REVIEWER, "/commission"),
    ],
)
def test_global_roles_land_on_their_home(
    client: FlaskClient, auth: AuthActions, role: Role, home: str
) -> None:
    user = factories.with_role(role)
    response = auth.login(user.email)
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200


def test_academy_manager_and_vendor_land_on_their_home(
    client: FlaskClient, auth: AuthActions
) -> None:
    manager = factories.academy_manager("10")
    assert auth.login(manager.email).headers["Location"] == "/academies/10"
    assert "Lyon" in client.get("/academies/10").get_data(as_text=True)
    auth.logout()
    member = factories.vendor_member()
    assert auth.login(member.email).headers["Location"] == "/editeur"
    page = client.get("/editeur", follow_redirects=True).get_data(as_text=True)
    assert member.grants[0].vendor.legal_name in page


def test_wrong_password_shows_french_error(client: FlaskClient, auth: AuthActions) -> None:
    user = factories.teacher()
    response = auth.login(user.email, "mauvais-mot-de-passe")
    assert response.status_code == 200
    assert "Adresse électronique ou mot de passe incorrect." in page_text(response)
    assert client.get("/mon-compte").status_code == 302  # still anonymous


def test_unknown_email_gets_the_same_error(auth: AuthActions) -> None:
    response = auth.login("personne@ac-paris.fr", "whatever-password")
    assert "Adresse électronique ou mot de passe incorrect." in page_text(response)


def test_deactivated_user_cannot_log_in(auth: AuthActions) -> None:
    user = factories.teacher(active=False)
    assert auth.login(user.email).status_code == 200


def test_repeated_failures_are_rate_limited(auth: AuthActions) -> None:
    user = factories.teacher()
    statuses = [auth.login(user.email, "wrong-password").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    blocked = auth.login(user.email)  # from this address, even the right password waits now
    assert blocked.status_code == 429
    assert "Trop de tentatives en peu de temps. Réessayez dans 15 minutes." in page_text(blocked)
    assert 14 * 60 <= int(blocked.headers["Retry-After"]) <= 15 * 60
    # The person stays on the login page: the form is there, with the way to a new password.
    assert 'name="email"' in blocked.text
    assert "Se connecter à Compte Ressources" in page_text(blocked)
    assert "Mot de passe oublié ?" in page_text(blocked)


def test_an_attacker_cannot_lock_the_owner_out(app: Flask, client: FlaskClient) -> None:
    """Failures count per account and network address: ten wrong passwords from one
    address throttle that address, not the owner signing in from another one."""
    owner = factories.with_role(Role.ADMIN, email="admin@demo.test")
    attacker = AuthActions(client)
    from_attacker = {"REMOTE_ADDR": "198.51.100.7"}
    attempts = [
        attacker.login(owner.email, f"devine-{n}", environ_base=from_attacker) for n in range(10)
    ]
    assert [a.status_code for a in attempts] == [200] * 5 + [429] * 5
    at_home = AuthActions(app.test_client())
    signed_in = at_home.login(owner.email, environ_base={"REMOTE_ADDR": "203.0.113.20"})
    assert signed_in.status_code == 302
    assert attacker.login(owner.email, environ_base=from_attacker).status_code == 429


def test_an_ipv6_network_counts_as_one_address(auth: AuthActions) -> None:
    """A subscriber holds a whole /64: moving within it gives no fresh count."""
    user = factories.teacher()
    statuses = [
        auth.login(user.email, "devine", environ_base={"REMOTE_ADDR": f"2001:db8:5:7::{n}"})
        for n in range(1, 7)
    ]
    assert [s.status_code for s in statuses] == [200] * 5 + [429]
    elsewhere = auth.login(user.email, environ_base={"REMOTE_ADDR": "2001:db8:5:8::1"})
    assert elsewhere.status_code == 302


def test_successful_logins_are_not_counted_as_failures(
    client: FlaskClient, auth: AuthActions
) -> None:
    user = factories.teacher()
    for _ in range(7):
        assert auth.login(user.email).status_code == 302
        auth.logout()


def test_login_requires_csrf_token(app: Flask, client: FlaskClient) -> None:
    user = factories.teacher()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/connexion", data={"email": user.email, "password": "password123"})
        assert refused.status_code == 400
        assert "formulaire a expiré" in refused.get_data(as_text=True)
        form = client.get("/connexion").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        assert token is not None
        accepted = client.post(
            "/connexion",
            data={"email": user.email, "password": "password123", "csrf_token": token.group(1)},
        )
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_next_only_redirects_locally(auth: AuthActions) -> None:
    user = factories.teacher()
    response = auth.login(user.email, query_string={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/mon-compte"


def test_logout(client: FlaskClient, auth: AuthActions) -> None:
    user = factories.teacher()
    auth.login(user.email)
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/mon-compte").status_code == 302


def test_session_cookie_is_protected(client: FlaskClient, auth: AuthActions) -> None:
    user = factories.teacher()
    response = auth.login(user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_the_database_refuses_an_email_not_in_lower_case(session: object) -> None:
    with pytest.raises(IntegrityError, match="email_lower_case"):
        factories.UserFactory(email="Mixed.Case@ac-paris.fr")


def test_one_person_can_hold_several_roles(client: FlaskClient, auth: AuthActions) -> None:
    school = factories.SchoolFactory()
    user = factories.UserFactory(roles=[(Role.TEACHER, {"school": school}), (Role.REVIEWER, {})])
    assert isinstance(user, User)
    auth.login(user.email)
    page = client.get("/mon-compte").get_data(as_text=True)
    assert 'href="/commission"' in page
    assert client.get("/commission").status_code == 200


def test_a_whole_school_behind_one_address_can_sign_in(
    client: FlaskClient, auth: AuthActions
) -> None:
    """40 teachers of one school, one network address: successes never count."""
    teachers = [factories.teacher() for _ in range(40)]
    for teacher in teachers:
        assert auth.login(teacher.email).status_code == 302
        auth.logout()


def test_failures_from_one_address_are_limited_with_a_higher_ceiling(
    app: Flask, auth: AuthActions
) -> None:
    saved = app.config["LOGIN_FAILURES_PER_ADDRESS"]
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = "8 per 15 minutes"
    try:
        users = [factories.teacher() for _ in range(3)]
        # 3 failures on each of 3 accounts: under the per-account limit, over the address's.
        statuses = [auth.login(u.email, "mauvais-mot-de-passe").status_code for u in users * 3]
        assert statuses[:8] == [200] * 8
        assert statuses[8] == 429
    finally:
        app.config["LOGIN_FAILURES_PER_ADDRESS"] = saved


def test_signing_in_starts_a_new_session(client: FlaskClient, auth: AuthActions) -> None:
    """Whatever the cookie held before (an attacker's planted session) is dropped; the
    chosen language stays."""
    user = factories.teacher()
    with client.session_transaction() as before:
        before["planted"] = "by-an-attacker"
        before["lang"] = "en"
    assert auth.login(user.email).status_code == 302
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after["lang"] == "en"
        assert after["_user_id"] == f"{user.id}.{user.session_version}"


def test_state_staff_must_use_proconnect_when_it_is_set_up(app: Flask, auth: AuthActions) -> None:
    manager = factories.academy_manager("01")
    vendor = factories.vendor_member()
    saved = app.config["PROCONNECT_ISSUER"], app.config["PROCONNECT_REQUIRED_ROLES"]
    app.config["PROCONNECT_ISSUER"] = "http://127.0.0.1:9/proconnect"
    app.config["PROCONNECT_REQUIRED_ROLES"] = "academy_manager,reviewer,admin"
    try:
        refused = auth.login(manager.email)
        assert refused.status_code == 200
        assert "se connectent avec ProConnect" in page_text(refused)
        assert auth.login(vendor.email).status_code == 302  # vendors keep their password
    finally:
        app.config["PROCONNECT_ISSUER"], app.config["PROCONNECT_REQUIRED_ROLES"] = saved
