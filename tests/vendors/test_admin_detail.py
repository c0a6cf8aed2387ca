"""The operator's page of one vendor: identity, status and its history, team and
invitations, products and their label, payout account, sales; the actions its status
allows; linked from the list; for the operator only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts.models import Role, User
from app.extensions import db
from app.payouts.models import PayoutAccount
from app.vendors import services
from app.vendors.models import Vendor, VendorStatus
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.orders.helpers import buy, on_sale, teacher_with_credit

NOT_ADMINS: dict[str, Callable[[Vendor], User]] = {
    "teacher": lambda _: factories.teacher(),
    "own vendor member": factories.vendor_member,
    "reviewer": lambda _: factories.with_role(Role.REVIEWER),
    "academy_manager": lambda _: factories.academy_manager(),
}


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(
        legal_name="Éditions des Volcans SAS",
        siret="81234567800017",
        vat_number="FR12812345678",
        street="3 place de Jaude",
        postcode="63000",
        city="Clermont-Ferrand",
    )


@pytest.fixture
def admin(auth: AuthActions, vendor: Vendor) -> User:
    user = factories.with_role(Role.ADMIN, name="Alice Opératrice")
    auth.login(user.email)
    return user


def detail(client: FlaskClient, vendor: Vendor) -> str:
    response = client.get(f"/admin/editeurs/{vendor.id}")
    assert response.status_code == 200
    return page_text(response)


def test_identity_team_invitations_and_products(
    client: FlaskClient, admin: User, vendor: Vendor
) -> None:
    member = factories.vendor_member(vendor, name="Camille Martin")
    services.invite_member(member, vendor, "nouvelle@volcans.example", "Nina")
    factories.product(vendor, title="Atlas des volcans")
    factories.product(vendor, state="draft", title="Brouillon")
    page = detail(client, vendor)
    for expected in (
        "Éditions des Volcans SAS",
        "812345678",  # the SIREN
        "81234567800017",
        "FR12812345678",
        "3 place de Jaude, 63000 Clermont-Ferrand",
        "Actif",
        "Camille Martin",
        "nouvelle@volcans.example",
        "par Camille Martin",
        "Atlas des volcans",
        "Labellisé",
        "Pas au catalogue",
        "Aucune commande",
    ):
        if expected == "Aucune commande":
            expected = "Dernière commande : aucune"
        assert expected in page, expected
    assert f'href="/admin/utilisateurs/{member.id}"' in page


def test_status_history_from_the_audit_log(
    client: FlaskClient, admin: User, vendor: Vendor
) -> None:
    services.suspend(admin, vendor, "Données hébergées hors UE")
    services.reinstate(admin, vendor)
    page = detail(client, vendor)
    assert "Éditeur suspendu" in page
    assert "Motif : Données hébergées hors UE" in page
    assert "Éditeur rétabli" in page
    assert page.index("Éditeur rétabli") < page.index("Éditeur suspendu")  # newest first
    assert "Alice Opératrice" in page
    assert "vendor.suspended" not in page


def test_sales_totals_and_recent_lines(client: FlaskClient, admin: User, vendor: Vendor) -> None:
    product = on_sale(vendor, title="Atlas des volcans")
    teacher = teacher_with_credit(factories.SchoolFactory(), 100_00)
    buy(teacher, product)
    page = detail(client, vendor)
    assert "1 ligne de commande payée : 40,00" in page
    assert "0 lignes annulées et remboursées : 0,00" in page
    assert "Dernières lignes de commande" in page


def test_payout_state_with_the_manual_gateway(
    client: FlaskClient, admin: User, vendor: Vendor
) -> None:
    page = detail(client, vendor)
    assert "Mode de versement : virement manuel par l’agence comptable." in page
    assert "Coordonnées bancaires manquantes" in page


def test_payout_state_with_stripe_connect(
    app: Flask, monkeypatch: pytest.MonkeyPatch, client: FlaskClient, admin: User, vendor: Vendor
) -> None:
    monkeypatch.setitem(app.config, "PAYOUT_GATEWAY", "stripe")
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_compte_ressources")
    assert "Compte de versement Stripe non créé" in detail(client, vendor)
    db.session.add(
        PayoutAccount(vendor_id=vendor.id, stripe_account_id="acct_123", payouts_enabled=True)
    )
    db.session.flush()
    page = detail(client, vendor)
    assert "Mode de versement : Stripe Connect." in page
    assert "acct_123" in page
    assert "Virements possibles" in page


@pytest.mark.parametrize(
    ("status", "actions", "absent"),
    [
        (VendorStatus.PENDING, ["/valider", "/refuser"], ["/suspendre", "/retablir"]),
        (VendorStatus.ACTIVE, ["/suspendre"], ["/valider", "/retablir"]),
        (VendorStatus.SUSPENDED, ["/retablir"], ["/valider", "/suspendre"]),
        (VendorStatus.REFUSED, [], ["/valider", "/suspendre", "/retablir"]),
    ],
)
def test_the_actions_its_status_allows(
    client: FlaskClient,
    admin: User,
    vendor: Vendor,
    status: VendorStatus,
    actions: list[str],
    absent: list[str],
) -> None:
    vendor.status = status
    db.session.flush()
    page = detail(client, vendor)
    for action in actions:
        assert f'action="/admin/editeurs/{vendor.id}{action}"' in page
    for action in absent:
        assert f'action="/admin/editeurs/{vendor.id}{action}"' not in page


def test_suspending_from_the_page_works(client: FlaskClient, admin: User, vendor: Vendor) -> None:
    detail(client, vendor)
    response = client.post(f"/admin/editeurs/{vendor.id}/suspendre", data={"reason": "Fraude"})
    assert response.status_code == 302
    assert vendor.status is VendorStatus.SUSPENDED
    assert "Motif : Fraude" in detail(client, vendor)


def test_the_list_links_each_vendor(client: FlaskClient, admin: User, vendor: Vendor) -> None:
    page = page_text(client.get("/admin/editeurs"))
    assert f'href="/admin/editeurs/{vendor.id}">Éditions des Volcans SAS</a>' in page


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_other_roles_get_403(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, who: str
) -> None:
    auth.login(NOT_ADMINS[who](vendor).email)
    assert client.get(f"/admin/editeurs/{vendor.id}").status_code == 403


def test_anonymous_is_sent_to_login(client: FlaskClient, vendor: Vendor) -> None:
    response = client.get(f"/admin/editeurs/{vendor.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


def test_an_unknown_vendor_is_a_french_404(client: FlaskClient, admin: User) -> None:
    response = client.get("/admin/editeurs/999999")
    assert response.status_code == 404
    assert "Éditeur introuvable." in page_text(response)


def test_the_page_reads_a_bounded_number_of_queries(
    client: FlaskClient, admin: User, vendor: Vendor, monkeypatch: Any
) -> None:
    for number in range(5):
        factories.product(vendor, title=f"Produit {number}")
        factories.vendor_member(vendor)
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        detail(client, vendor)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    few = len(statements)
    for number in range(5, 10):
        factories.product(vendor, title=f"Produit {number}")
        factories.vendor_member(vendor)
    statements.clear()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        detail(client, vendor)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == few  # no query per product or member
