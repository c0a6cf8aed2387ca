"""The site map: the public and information pages for everyone, and the pages of each role
the signed-in person holds; every link on it opens, for that person."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.accounts.models import Role, User
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.site.helpers import document, text_of

PEOPLE = {
    "teacher": lambda: factories.teacher(),
    "vendor": lambda: factories.vendor_member(),
    "reviewer": lambda: factories.with_role(Role.REVIEWER),
    "academy_manager": lambda: factories.academy_manager("01"),
    "admin": lambda: factories.with_role(Role.ADMIN),
}


def site_map_links(client: FlaskClient) -> dict[str, str]:
    main = document(client.get("/plan-du-site")).get_element_by_id("contenu")
    return {link.get("href"): text_of(link) for link in main.xpath(".//a")}


def assert_every_link_opens(client: FlaskClient, links: dict[str, str]) -> None:
    """Each link opens a page (a role's home may lead on to its one space), never the
    sign-in page nor a refusal."""
    for href in links:
        assert href.startswith("/"), href  # only the service's own pages
        response = client.get(href, follow_redirects=True)
        assert response.status_code == 200, (href, links[href])
        if href != "/connexion":
            assert response.request.path != "/connexion", (href, links[href])


def test_a_visitor_sees_the_public_and_information_pages(client: FlaskClient) -> None:
    links = site_map_links(client)

    assert {"/", "/catalogue", "/connexion", "/editeur/inscription"} <= set(links)
    assert {"/accessibilite", "/donnees-personnelles", "/cookies", "/aide"} <= set(links)
    assert "/mon-profil/" not in links
    assert_every_link_opens(client, links)


@pytest.mark.parametrize("role", PEOPLE)
def test_a_signed_in_person_sees_the_pages_of_their_role_and_each_opens(
    client: FlaskClient, auth: AuthActions, role: str
) -> None:
    person: User = PEOPLE[role]()
    db.session.commit()
    auth.login(person.email)

    links = site_map_links(client)
    headings = [text_of(h2) for h2 in document(client.get("/plan-du-site")).xpath("//main//h2")]

    assert Role(role).label in headings
    assert "/mon-profil/" in links
    assert "/accessibilite" in links
    assert_every_link_opens(client, links)


def test_the_pages_of_a_role_come_from_the_navigation(
    client: FlaskClient, auth: AuthActions
) -> None:
    teacher = factories.teacher()
    db.session.commit()
    auth.login(teacher.email)

    links = site_map_links(client)

    for path, label in {
        "/mon-compte": "Mon compte ressources",
        "/mes-ressources": "Mes ressources",
        "/mes-commandes": "Mes commandes",
        "/panier": "Panier",
    }.items():
        assert links[path] == label
    assert not any(path.startswith("/admin") for path in links)
