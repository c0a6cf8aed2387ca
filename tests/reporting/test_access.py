"""Who sees which figures: an academy's dashboard, exports and report are for its own
managers only; the national dashboard is for admins."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.reporting import services
from tests import factories
from tests.conftest import AuthActions
from tests.reporting.conftest import LYON, PARIS, World
from tests.reporting.helpers import YEAR, visible_text


def academy_pages(code: str) -> list[str]:
    """Every page with an academy's figures."""
    return [
        f"/academies/{code}/tableau-de-bord?annee={YEAR}",
        f"/academies/{code}/exports/allocations.csv?annee={YEAR}",
        f"/academies/{code}/exports/achats.csv?annee={YEAR}",
        f"/academies/{code}/exports/remboursements.csv?annee={YEAR}",
        f"/academies/{code}/rapport.pdf?mois=2026-10",
    ]


NATIONAL_PAGE = f"/admin/tableau-de-bord?annee={YEAR}"


def test_a_manager_is_refused_every_page_of_another_academy(
    session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(factories.academy_manager(PARIS).email)

    for url in academy_pages(LYON):
        assert client.get(url).status_code == 403, url


def test_a_manager_is_refused_the_national_dashboard(
    session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(factories.academy_manager(PARIS).email)

    assert client.get(NATIONAL_PAGE).status_code == 403


@pytest.mark.parametrize("role", [Role.TEACHER, Role.VENDOR, Role.REVIEWER])
def test_other_roles_are_refused_every_figure(
    session: Session, client: FlaskClient, auth: AuthActions, role: Role
) -> None:
    user = {
        Role.TEACHER: factories.teacher,
        Role.VENDOR: factories.vendor_member,
        Role.REVIEWER: lambda: factories.with_role(Role.REVIEWER),
    }[role]()
    auth.login(user.email)

    for url in [*academy_pages(PARIS), NATIONAL_PAGE]:
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_the_login_page(
    session: Session, client: FlaskClient
) -> None:
    for url in [*academy_pages(PARIS), NATIONAL_PAGE]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/connexion?next="), url


def test_the_national_dashboard_is_open_to_admins(
    session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(factories.with_role(Role.ADMIN).email)

    assert client.get(NATIONAL_PAGE).status_code == 200


def test_a_managers_own_pages_show_nothing_of_another_academy(
    world: World, paris_manager: FlaskClient
) -> None:
    services.refresh(YEAR)

    page = visible_text(paris_manager.get(academy_pages(PARIS)[0]))
    exports = [
        paris_manager.get(url, buffered=True).get_data(as_text=True)
        for url in academy_pages(PARIS)[1:4]
    ]

    assert "Tableau de bord — Paris" in page
    assert "Collège Jean Moulin" in page
    for text in [page, *exports]:
        assert "Lumière" not in text
        assert "ac-lyon.fr" not in text
        assert "500,00" not in text  # Lyon's budget
