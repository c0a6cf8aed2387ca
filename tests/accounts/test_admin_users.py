"""The operator's pages of users: the list (search by name or address, any case, accents
ignored; filter by role; pages), a person's page, giving and removing roles (refusals in
French naming the field; each change in the audit log with its actor, before and after)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from app.accounts import services
from app.accounts.models import Role, RoleGrant, User
from app.core.audit import AuditEvent
from app.core.errors import Conflict
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions, is_postgres
from tests.helpers import page_text

NOT_ADMINS: dict[str, Callable[[], User]] = {
    "teacher": factories.teacher,
    "vendor": factories.vendor_member,
    "reviewer": lambda: factories.with_role(Role.REVIEWER),
    "academy_manager": factories.academy_manager,
}


@pytest.fixture
def helene(session: object) -> User:
    return factories.teacher(name="Hélène Dupré-Lefèvre", email="helene.dupre@ac-lyon.fr")


@pytest.fixture
def admin(auth: AuthActions, helene: User) -> User:
    """Signed in (which commits: the data made before survives a refused request's
    rollback; data made later is committed by the test when a request may roll back)."""
    user = factories.with_role(Role.ADMIN, name="Alice Opératrice")
    auth.login(user.email)
    return user


def events(user: User, action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(
        AuditEvent.object_type == "user",
        AuditEvent.object_id == str(user.id),
        AuditEvent.action == action,
    )
    return list(db.session.scalars(query))


def names_listed(client: FlaskClient, **query: Any) -> str:
    response = client.get("/admin/utilisateurs", query_string=query)
    assert response.status_code == 200
    return page_text(response)


# --- who sees the pages ---------------------------------------------------------------------


def test_the_admin_sees_the_list_and_a_person(
    client: FlaskClient, admin: User, helene: User
) -> None:
    listed = names_listed(client)
    assert "Hélène Dupré-Lefèvre" in listed
    assert "Enseignant — Collège Test" in listed  # the role and its scope
    page = client.get(f"/admin/utilisateurs/{helene.id}")
    assert page.status_code == 200
    assert "helene.dupre@ac-lyon.fr" in page_text(page)


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_other_roles_get_403(
    client: FlaskClient, auth: AuthActions, helene: User, role: str
) -> None:
    auth.login(NOT_ADMINS[role]().email)
    assert client.get("/admin/utilisateurs").status_code == 403
    assert client.get(f"/admin/utilisateurs/{helene.id}").status_code == 403
    posted = client.post(f"/admin/utilisateurs/{helene.id}/roles", data={"role": "admin"})
    assert posted.status_code == 403
    assert not helene.has_role(Role.ADMIN)


def test_anonymous_is_sent_to_login(client: FlaskClient, helene: User) -> None:
    for path in ("/admin/utilisateurs", f"/admin/utilisateurs/{helene.id}"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion?next=")


def test_an_unknown_user_is_a_french_404(client: FlaskClient, admin: User) -> None:
    response = client.get("/admin/utilisateurs/999999")
    assert response.status_code == 404
    assert "Utilisateur introuvable." in page_text(response)


def test_the_admin_navigation_links_the_new_pages(client: FlaskClient, admin: User) -> None:
    page = page_text(client.get("/admin/utilisateurs"))
    assert 'href="/admin/utilisateurs"' in page
    assert 'href="/admin/journal"' in page


# --- search, filter, pages ------------------------------------------------------------------


@pytest.mark.parametrize(
    "search", ["HELENE", "hélène", "dupre", "DUPRÉ lefevre", "lefèvre hélène", "dupre@ac-ly"]
)
def test_search_ignores_case_and_accents(
    client: FlaskClient, admin: User, helene: User, search: str
) -> None:
    factories.teacher(name="Marc Martin")
    listed = names_listed(client, q=search)
    assert "Hélène Dupré-Lefèvre" in listed
    assert "Marc Martin" not in listed


def test_search_treats_wildcards_as_text(client: FlaskClient, admin: User, helene: User) -> None:
    assert "Aucun utilisateur ne correspond" in names_listed(client, q="%")
    assert "Aucun utilisateur ne correspond" in names_listed(client, q="h_l")


def test_filter_by_role(client: FlaskClient, admin: User, helene: User) -> None:
    factories.with_role(Role.REVIEWER, name="Rémi Relecteur")
    listed = names_listed(client, role="reviewer")
    assert "Rémi Relecteur" in listed
    assert "Hélène Dupré-Lefèvre" not in listed
    assert "Hélène Dupré-Lefèvre" in names_listed(client, role="teacher", q="helene")


def test_an_unknown_role_filter_is_a_french_400(client: FlaskClient, admin: User) -> None:
    response = client.get("/admin/utilisateurs?role=pirate")
    assert response.status_code == 400
    assert "Paramètre « role » : rôle inconnu." in page_text(response)


def test_pages_of_fifty_by_name(client: FlaskClient, admin: User) -> None:
    for number in range(55):
        factories.UserFactory(name=f"Zoé Pagination {number:02d}")
    first = names_listed(client, q="zoe pagination")
    assert "55 utilisateurs." in first
    assert "Zoé Pagination 49" in first
    assert "Zoé Pagination 50" not in first
    assert "page=2" in first
    assert "q=zoe+pagination" in first
    second = names_listed(client, q="zoe pagination", page=2)
    assert "Zoé Pagination 54" in second
    assert "Zoé Pagination 49" not in second
    assert "Zoé Pagination 54" in names_listed(client, q="zoe pagination", page=999)


@pytest.mark.skipif(not is_postgres(), reason="the trigram index is PostgreSQL's")
def test_the_search_uses_the_trigram_index(session: Any) -> None:
    query = select(User.id).where(services.matching_users("dupre"))
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_user_search" in plan


# --- giving a role --------------------------------------------------------------------------


def test_the_admin_gives_a_scoped_role_audited_with_before_and_after(
    client: FlaskClient, admin: User, helene: User
) -> None:
    response = client.post(
        f"/admin/utilisateurs/{helene.id}/roles", data={"role": "academy_manager", "academy": "10"}
    )
    assert response.status_code == 302
    assert helene.has_role(Role.ACADEMY_MANAGER, "10")
    [event] = events(helene, "role.granted")
    assert event.actor_id == admin.id
    assert event.details["role"] == "academy_manager"
    assert event.details["scope"] == "Académie de Lyon"
    assert [held["role"] for held in event.details["before"]] == ["teacher"]
    assert [held["role"] for held in event.details["after"]] == ["teacher", "academy_manager"]
    page = page_text(client.get(response.headers["Location"]))
    assert "Rôle « Gestionnaire académique » donné à Hélène Dupré-Lefèvre." in page
    assert "Rôles après" in page
    assert "Gestionnaire académique (Académie de Lyon)" in page


def test_the_admin_gives_a_teacher_and_a_vendor_role(
    client: FlaskClient, admin: User, helene: User
) -> None:
    school = factories.SchoolFactory()
    vendor = factories.VendorFactory()
    url = f"/admin/utilisateurs/{helene.id}/roles"
    uai = school.uai.lower()  # any case
    assert client.post(url, data={"role": "teacher", "school": uai}).status_code == 302
    assert client.post(url, data={"role": "vendor", "vendor": vendor.siret}).status_code == 302
    assert client.post(url, data={"role": "reviewer"}).status_code == 302
    assert helene.has_role(Role.TEACHER, school.id)
    assert helene.has_role(Role.VENDOR, vendor.id)
    assert helene.has_role(Role.REVIEWER)
    assert len(events(helene, "role.granted")) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "academy_manager", "academy": "99"}, "Académie : académie inconnue (« 99 »)."),
        ({"role": "academy_manager", "academy": ""}, "Académie : choisissez l'académie."),
        (
            {"role": "teacher", "school": "9999999Z"},
            "Établissement : aucun établissement n'a l'UAI « 9999999Z ».",
        ),
        (
            {"role": "vendor", "vendor": "12345678900000"},
            "Éditeur : aucun éditeur inscrit n'a le SIRET « 12345678900000 ».",
        ),
        ({"role": "pirate"}, "Rôle : choisissez un rôle de la liste."),
        ({"role": ""}, "Rôle : choisissez un rôle de la liste."),
    ],
)
def test_a_bad_grant_is_refused_in_french_naming_the_field(
    client: FlaskClient, admin: User, helene: User, data: dict[str, str], message: str
) -> None:
    response = client.post(f"/admin/utilisateurs/{helene.id}/roles", data=data)
    assert response.status_code == 422
    assert message in page_text(response)
    assert helene.roles == {Role.TEACHER}
    assert events(helene, "role.granted") == []


def test_a_role_already_held_is_refused(client: FlaskClient, admin: User, helene: User) -> None:
    school = helene.grants[0].school
    assert school is not None
    response = client.post(
        f"/admin/utilisateurs/{helene.id}/roles", data={"role": "teacher", "school": school.uai}
    )
    assert response.status_code == 422
    assert f"Rôle : Hélène Dupré-Lefèvre a déjà ce rôle pour {school}." in page_text(response)
    assert len(helene.grants) == 1
    assert events(helene, "role.granted") == []


def test_the_grant_form_needs_its_csrf_token(
    app: Any, client: FlaskClient, admin: User, helene: User
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/admin/utilisateurs/{helene.id}/roles", data={"role": "admin"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code in (400, 422)
    assert not helene.has_role(Role.ADMIN)


# --- removing a role ------------------------------------------------------------------------


def grant_id(user: User, role: Role) -> int:
    return next(grant.id for grant in user.grants if grant.role == role)


def test_the_admin_removes_a_role_audited(client: FlaskClient, admin: User, helene: User) -> None:
    services.grant_role(admin, helene, Role.REVIEWER)
    removed = grant_id(helene, Role.TEACHER)
    response = client.post(f"/admin/utilisateurs/{helene.id}/roles/{removed}/retirer")
    assert response.status_code == 302
    assert helene.roles == {Role.REVIEWER}
    [event] = events(helene, "role.revoked")
    assert event.actor_id == admin.id
    assert event.details["role"] == "teacher"
    assert {held["role"] for held in event.details["before"]} == {"teacher", "reviewer"}
    assert [held["role"] for held in event.details["after"]] == ["reviewer"]
    assert "Le rôle a été retiré à Hélène Dupré-Lefèvre." in page_text(
        client.get(response.headers["Location"])
    )


def test_an_admin_cannot_remove_their_own_admin_role(client: FlaskClient, admin: User) -> None:
    factories.with_role(Role.ADMIN)  # not the last one: the rule is about oneself
    db.session.commit()  # the refused request rolls back
    own = grant_id(admin, Role.ADMIN)
    response = client.post(f"/admin/utilisateurs/{admin.id}/roles/{own}/retirer")
    page = page_text(client.get(response.headers["Location"]))
    assert "Rôle : vous ne pouvez pas retirer votre propre rôle d'opérateur national" in page
    assert admin.has_role(Role.ADMIN)
    assert events(admin, "role.revoked") == []


def test_an_admin_removes_another_admins_role(client: FlaskClient, admin: User) -> None:
    other = factories.with_role(Role.ADMIN)
    response = client.post(
        f"/admin/utilisateurs/{other.id}/roles/{grant_id(other, Role.ADMIN)}/retirer"
    )
    assert response.status_code == 302
    assert not other.has_role(Role.ADMIN)


def test_removing_the_last_admin_is_refused(session: object) -> None:
    """An operator removing another's role is never the last; the rule guards two removals
    at once (each waits for the other's lock, then counts) and any other caller."""
    for grant in db.session.scalars(select(RoleGrant).where(RoleGrant.role == Role.ADMIN)):
        db.session.delete(grant)
    db.session.flush()
    last = factories.with_role(Role.ADMIN)
    someone = factories.with_role(Role.REVIEWER)
    with pytest.raises(Conflict, match="c'est le dernier opérateur national"):
        services.remove_role(someone, last, grant_id(last, Role.ADMIN))
    assert last.has_role(Role.ADMIN)


def test_removing_a_role_of_another_user_is_a_404(
    client: FlaskClient, admin: User, helene: User
) -> None:
    other = factories.teacher()
    db.session.commit()  # the refused request rolls back
    response = client.post(
        f"/admin/utilisateurs/{helene.id}/roles/{grant_id(other, Role.TEACHER)}/retirer"
    )
    page = page_text(client.get(response.headers["Location"]))
    assert "Ce rôle n'est pas (ou plus) attribué à cette personne." in page
    assert other.has_role(Role.TEACHER)
