"""The cookies page lists every cookie the service sets: the test walks a visitor's and a
teacher's way through the service (language, sign-in, purchase, receipt, sign-out) and
collects the name of every cookie a response sets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.orders.models import Order
from tests import factories
from tests.orders.helpers import confirmation, give_credit, on_sale
from tests.site.helpers import document, text_of, visible_text


class CookieNames:
    """The names of the cookies set by the responses of `client`."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.names: set[str] = set()

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, **kwargs)
        assert response.status_code < 400, (method, path, response.status_code)
        for header in response.headers.getlist("Set-Cookie"):
            self.names.add(header.split("=", 1)[0])
        return response


def listed_cookies(client: FlaskClient) -> set[str]:
    table = document(client.get("/cookies")).get_element_by_id("cookies")
    return {text_of(cell) for cell in table.xpath(".//tbody/tr/th")}


def test_the_page_lists_every_cookie_of_a_purchase(app: Flask, client: FlaskClient) -> None:
    teacher = factories.teacher()
    give_credit(teacher, 100_00)
    product = on_sale(title="Atlas des océans")
    db.session.commit()
    visit = CookieNames(client)

    visit("GET", "/")
    visit("GET", "/catalogue")
    visit("GET", "/langue/en?next=/catalogue")
    visit("GET", "/langue/fr?next=/catalogue")
    visit("GET", "/connexion")
    visit("POST", "/connexion", data={"email": teacher.email, "password": "password123"})
    visit("GET", "/mon-compte")
    visit("GET", f"/catalogue/{product.id}")
    visit("POST", f"/panier/ajouter/{product.id}", data={"plan": "school"})
    visit("GET", "/panier")
    visit("POST", "/panier/commander", data=confirmation(client))
    order = db.session.query(Order).filter_by(teacher_id=teacher.id).one()
    visit("GET", f"/mes-commandes/{order.id}")
    visit("GET", f"/mes-commandes/{order.id}/recu.pdf")
    visit("GET", "/mes-ressources")
    visit("GET", "/mon-profil/")
    visit("POST", "/deconnexion")

    assert app.config["SESSION_COOKIE_NAME"] in visit.names
    assert visit.names <= listed_cookies(client)


def test_the_forms_token_needs_no_cookie_of_its_own(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    visit = CookieNames(client)

    login = visit("GET", "/connexion")

    assert re.search(r'name="csrf_token"', login.get_data(as_text=True))
    assert visit.names == {app.config["SESSION_COOKIE_NAME"]}


def test_the_page_names_the_production_cookie(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SESSION_COOKIE_NAME", "__Host-session")

    assert listed_cookies(client) == {"__Host-session"}


def test_no_consent_is_asked_because_nothing_but_the_necessary_is_set(
    client: FlaskClient,
) -> None:
    text = visible_text(client.get("/cookies"))

    assert "strictement nécessaires" in text
    assert "aucun outil de mesure d’audience" in text
    assert "scheme" in text  # the DSFR's display preference, in local storage
