"""An admin suspends a vendor: its products leave the storefront at once and come back
when it is reinstated; both are in the vendor's history."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from app.accounts.models import Role, User
from app.core import audit
from app.products.models import Product
from app.vendors.models import Vendor, VendorStatus
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text

ADMIN_ROUTES = [
    ("get", "/admin/editeurs"),
    ("post", "/admin/editeurs/{vendor}/suspendre"),
    ("post", "/admin/editeurs/{vendor}/retablir"),
]
NOT_ADMINS: dict[str, Callable[[], User]] = {
    "teacher": factories.teacher,
    "vendor": factories.vendor_member,
    "reviewer": lambda: factories.with_role(Role.REVIEWER),
}


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions des Volcans SAS")


@pytest.fixture
def volcanoes(vendor: Vendor) -> Product:
    return factories.product(vendor, title="Atlas des volcans")


@pytest.fixture
def fractions(session: object) -> Product:
    """A product of another vendor, which stays on sale throughout."""
    return factories.product(title="Fractions en jeu")


@pytest.fixture
def admin(auth: AuthActions, volcanoes: Product, fractions: Product) -> User:
    user = factories.with_role(Role.ADMIN)
    auth.login(user.email)
    return user


def storefront(client: FlaskClient) -> str:
    response = client.get("/catalogue")
    assert response.status_code == 200
    return page_text(response)


def suspend(client: FlaskClient, vendor: Vendor, reason: str) -> object:
    return client.post(f"/admin/editeurs/{vendor.id}/suspendre", data={"reason": reason})


def test_a_suspended_vendor_leaves_the_storefront_and_comes_back_when_reinstated(
    client: FlaskClient, admin: User, vendor: Vendor, volcanoes: Product
) -> None:
    assert "Atlas des volcans" in storefront(client)
    assert client.get(f"/catalogue/{volcanoes.id}").status_code == 200

    response = suspend(client, vendor, "Codes d'activation non livrés depuis un mois.")

    assert response.status_code == 302
    assert vendor.status is VendorStatus.SUSPENDED
    page = storefront(client)
    assert "Atlas des volcans" not in page
    assert "Fractions en jeu" in page
    assert client.get(f"/catalogue/{volcanoes.id}").status_code == 404

    assert client.post(f"/admin/editeurs/{vendor.id}/retablir").status_code == 302

    assert vendor.status is VendorStatus.ACTIVE
    assert vendor.status_reason == ""
    assert "Atlas des volcans" in storefront(client)
    assert client.get(f"/catalogue/{volcanoes.id}").status_code == 200


def test_suspension_and_reinstatement_are_recorded_with_who_and_why(
    client: FlaskClient, admin: User, vendor: Vendor
) -> None:
    suspend(client, vendor, "Codes d'activation non livrés.")
    client.post(f"/admin/editeurs/{vendor.id}/retablir")

    events = [(e.action, e.actor_id, e.details) for e in audit.history("vendor", vendor.id)]
    assert events == [
        ("vendor.suspended", admin.id, {"reason": "Codes d'activation non livrés."}),
        ("vendor.reinstated", admin.id, {}),
    ]


def test_the_vendor_staff_read_why_they_are_suspended(
    client: FlaskClient, auth: AuthActions, admin: User, vendor: Vendor
) -> None:
    suspend(client, vendor, "Codes d'activation non livrés.")
    auth.logout()
    auth.login(factories.vendor_member(vendor).email)

    page = page_text(client.get(f"/editeur/{vendor.id}"))

    assert "Votre compte est suspendu" in page
    assert "Motif : Codes d'activation non livrés." in page


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_a_suspension_without_a_reason_is_refused(
    client: FlaskClient, admin: User, vendor: Vendor, volcanoes: Product, reason: str
) -> None:
    response = suspend(client, vendor, reason)

    assert response.status_code == 302
    assert "Indiquez le motif de la suspension." in page_text(client.get(response.location))
    assert vendor.status is VendorStatus.ACTIVE
    assert audit.history("vendor", vendor.id) == []
    assert client.get(f"/catalogue/{volcanoes.id}").status_code == 200


def test_the_admin_list_shows_each_vendor_and_its_status(
    client: FlaskClient, admin: User, vendor: Vendor
) -> None:
    suspend(client, vendor, "Codes d'activation non livrés.")
    page = page_text(client.get("/admin/editeurs"))
    assert "Éditions des Volcans SAS" in page
    assert "Suspendu" in page
    assert f'action="/admin/editeurs/{vendor.id}/retablir"' in page


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_admins_suspend_or_reinstate(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, who: str, method: str, path: str
) -> None:
    auth.login(NOT_ADMINS[who]().email)
    response = getattr(client, method)(path.format(vendor=vendor.id), data={"reason": "Motif"})
    assert response.status_code == 403
    assert vendor.status is VendorStatus.ACTIVE
    assert audit.history("vendor", vendor.id) == []


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_anonymous_visitors_are_sent_to_login(
    client: FlaskClient, vendor: Vendor, method: str, path: str
) -> None:
    response = getattr(client, method)(path.format(vendor=vendor.id), data={"reason": "Motif"})
    assert response.status_code == 302
    assert response.location.startswith("/connexion")
    assert vendor.status is VendorStatus.ACTIVE
