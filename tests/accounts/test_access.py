from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.accounts.models import Role, RoleGrant
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text


@pytest.mark.parametrize(
    "path", ["/mon-compte", "/academies/01", "/admin/academies", "/editeur", "/commission"]
)
def test_anonymous_is_sent_to_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


@pytest.mark.parametrize("path", ["/academies/01", "/admin/academies", "/editeur", "/commission"])
def test_user_without_the_role_gets_403(client: FlaskClient, auth: AuthActions, path: str) -> None:
    auth.login(factories.teacher().email)
    response = client.get(path)
    assert response.status_code == 403
    assert "Vous n'avez pas accès à cette page." in page_text(response)


def test_academy_manager_sees_nothing_of_another_academy(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(factories.academy_manager("01").email)
    assert client.get("/academies/01").status_code == 200
    lyon = client.get("/academies/10")
    assert lyon.status_code == 403
    assert "Lyon" not in lyon.get_data(as_text=True)


def test_json_clients_get_a_json_error(client: FlaskClient, auth: AuthActions) -> None:
    auth.login(factories.teacher().email)
    response = client.get("/admin/academies", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json() == {
        "error": {
            "code": "forbidden",
            "message": "Vous n'avez pas accès à cette page.",
            "details": {},
        }
    }


def test_unknown_page_is_a_french_404(client: FlaskClient) -> None:
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_a_grant_without_its_scope_is_refused_by_the_database(session: object) -> None:
    user = factories.UserFactory()
    db.session.add(RoleGrant(user=user, role=Role.TEACHER))
    with pytest.raises(Exception, match="teacher_has_school"):
        db.session.flush()
