"""A vendor never sees or changes another vendor's products, declarations or team.

With the other vendor's id in the address the guard answers 403; with its own vendor id
and another vendor's product id, 404 (no hint the product exists). Either way, nothing
changes in the database. The same requests by the product's own vendor succeed, so the
refusals come from the guards and not from a broken request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts.models import RoleGrant
from app.core.audit import AuditEvent
from app.extensions import db
from app.products.models import Product, ProductVersion
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.vendors.helpers import product_form

DRAFT_TITLE = "Brouillon secret de B"
LISTED_TITLE = "Atlas en vente chez B"


@dataclass
class Vendors:
    a: Vendor
    b: Vendor
    b_draft: Product
    b_listed: Product


@pytest.fixture
def vendors(session: object) -> Vendors:
    a = factories.VendorFactory(legal_name="Éditeur A SAS")
    b = factories.VendorFactory(legal_name="Éditeur B SAS")
    factories.product(a, title="Produit de A")
    return Vendors(
        a=a,
        b=b,
        b_draft=factories.product(b, state="draft", title=DRAFT_TITLE),
        b_listed=factories.product(b, title=LISTED_TITLE),
    )


def request(client: FlaskClient, app: Flask, method: str, path: str) -> Any:
    """Send what the page would: a valid product form, a colleague's address."""
    data: Any = None
    if method == "post" and path.endswith(("modifier", "nouveau")):
        data = product_form(app, title="Titre réécrit")
    elif method == "post" and path.endswith("equipe"):
        data = {"email": "intrus@autre.example", "name": "Intrus"}
    return getattr(client, method)(path, data=data)


def database_state() -> tuple[Any, ...]:
    """Every product version, team membership and audit event, read from the database."""
    versions = db.session.execute(
        select(
            ProductVersion.product_id,
            ProductVersion.number,
            ProductVersion.status,
            ProductVersion.title,
        ).order_by(ProductVersion.id)
    ).all()
    grants = db.session.execute(
        select(RoleGrant.user_id, RoleGrant.vendor_id).order_by(RoleGrant.id)
    ).all()
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    return versions, grants, events, db.session.scalar(select(func.count(Product.id)))


# Routes under another vendor's id: the guard refuses them whatever the product.
ROUTES_OF_B = [
    ("get", "/editeur/{b}"),
    ("get", "/editeur/{b}/produits/{draft}"),
    ("get", "/editeur/{b}/produits/{draft}/modifier"),
    ("post", "/editeur/{b}/produits/{draft}/modifier"),
    ("post", "/editeur/{b}/produits/{listed}/nouvelle-version"),
    ("post", "/editeur/{b}/produits/{draft}/soumettre"),
    ("get", "/editeur/{b}/equipe"),
    ("post", "/editeur/{b}/equipe"),
    ("get", "/editeur/{b}/produits/nouveau"),
    ("post", "/editeur/{b}/produits/nouveau"),
]
# A's own vendor id with one of B's products.
B_PRODUCT_UNDER_A = [
    ("get", "/editeur/{a}/produits/{draft}"),
    ("get", "/editeur/{a}/produits/{listed}"),
    ("get", "/editeur/{a}/produits/{draft}/modifier"),
    ("post", "/editeur/{a}/produits/{draft}/modifier"),
    ("post", "/editeur/{a}/produits/{listed}/nouvelle-version"),
    ("post", "/editeur/{a}/produits/{draft}/soumettre"),
]


def url(path: str, vendors: Vendors) -> str:
    return path.format(
        a=vendors.a.id, b=vendors.b.id, draft=vendors.b_draft.id, listed=vendors.b_listed.id
    )


@pytest.mark.parametrize(("method", "path"), ROUTES_OF_B)
def test_a_member_of_a_gets_403_on_every_route_of_b(
    app: Flask, client: FlaskClient, auth: AuthActions, vendors: Vendors, method: str, path: str
) -> None:
    auth.login(factories.vendor_member(vendors.a).email)
    before = database_state()

    response = request(client, app, method, url(path, vendors))

    assert response.status_code == 403
    assert DRAFT_TITLE not in page_text(response)
    assert database_state() == before


@pytest.mark.parametrize(("method", "path"), B_PRODUCT_UNDER_A)
def test_a_member_of_a_gets_404_for_a_product_of_b_under_their_own_vendor_id(
    app: Flask, client: FlaskClient, auth: AuthActions, vendors: Vendors, method: str, path: str
) -> None:
    auth.login(factories.vendor_member(vendors.a).email)
    before = database_state()

    response = request(client, app, method, url(path, vendors))

    assert response.status_code == 404
    page = page_text(response)
    assert DRAFT_TITLE not in page
    assert LISTED_TITLE not in page
    assert database_state() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [pytest.param(*route) for route in ROUTES_OF_B],
)
def test_the_same_requests_succeed_for_a_member_of_b(
    app: Flask, client: FlaskClient, auth: AuthActions, vendors: Vendors, method: str, path: str
) -> None:
    auth.login(factories.vendor_member(vendors.b).email)
    before = database_state()

    response = request(client, app, method, url(path, vendors))

    assert response.status_code == (200 if method == "get" else 302)
    assert (database_state() == before) == (method == "get"), "only the forms change something"
