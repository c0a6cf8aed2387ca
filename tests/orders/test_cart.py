"""The cart: adding plans (class seats checked), changing seats, removing, the total and
the credit before and after, lines that can no longer be bought, and other people's lines."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from app.accounts.models import Role
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.orders import services as orders
from app.orders.models import CartLine
from app.products.models import PlanKind
from app.vendors import services as vendors
from tests import factories
from tests.conftest import AuthActions
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, school_year, visible_text


@pytest.mark.parametrize("seats", [0, 31, -2])
def test_a_class_plan_takes_from_1_to_max_pupils(shop: Shop, seats: int) -> None:
    assert orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=1).seats == 1
    assert orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=30).seats == 30

    with pytest.raises(ValidationFailed) as refused:
        orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=seats)

    assert refused.value.message == (
        f"Nombre d'élèves : {seats} n'est pas possible, la licence classe couvre de 1 à 30 élèves."
    )
    assert refused.value.details == {"seats": ["entre 1 et 30"]}


def test_a_class_plan_without_a_number_of_pupils_is_refused(shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as refused:
        orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=None)

    assert refused.value.message.startswith("Nombre d'élèves : indiquez combien d'élèves")
    assert "seats" in refused.value.details
    assert orders.cart_size(shop.teacher) == 0


def test_seats_only_count_for_a_class_plan(shop: Shop) -> None:
    line = orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL, seats=500)
    assert line.seats == 1


def test_a_plan_the_product_does_not_offer_is_refused(shop: Shop) -> None:
    with pytest.raises(orders.NotPurchasable):
        orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.CLASS, seats=10)


def test_a_teacher_plan_already_held_is_refused(shop: Shop) -> None:
    buy_teacher_plan = [orders.Item(shop.lab.id, PlanKind.TEACHER, 1, 25_00)]
    orders.place_order(shop.teacher, buy_teacher_plan, "first")

    with pytest.raises(Conflict, match="Vous disposez déjà de cette ressource."):
        orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.TEACHER)


def test_adding_from_the_product_page(teacher_client: FlaskClient, shop: Shop) -> None:
    added = teacher_client.post(
        f"/panier/ajouter/{shop.lab.id}", data={"plan": "class", "seats": "24"}
    )
    assert added.status_code == 302
    assert added.headers["Location"] == "/panier"
    (line,) = orders.cart(shop.teacher, school_year()).items
    assert (line.line.plan_kind, line.line.seats) == (PlanKind.CLASS, 24)

    too_many = teacher_client.post(
        f"/panier/ajouter/{shop.atlas.id}", data={"plan": "class", "seats": "5"}
    )
    assert too_many.headers["Location"] == f"/catalogue/{shop.atlas.id}?offre=class&eleves=5"
    page = teacher_client.get(too_many.headers["Location"])
    assert "Cette offre n'est pas (ou plus) proposée au catalogue." in visible_text(page)
    assert orders.cart_size(shop.teacher) == 1


def test_too_many_pupils_from_the_product_page_is_refused(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    refused = teacher_client.post(
        f"/panier/ajouter/{shop.lab.id}",
        data={"plan": "class", "seats": "31"},
        follow_redirects=True,
    )

    assert (
        "Nombre d'élèves : 31 n'est pas possible, la licence classe couvre de 1 à 30 élèves."
        in visible_text(refused)
    )
    assert orders.cart_size(shop.teacher) == 0


def test_a_refused_number_of_pupils_keeps_what_the_teacher_chose(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    refused = teacher_client.post(
        f"/panier/ajouter/{shop.lab.id}",
        data={"plan": "class", "seats": "31"},
        follow_redirects=True,
    )

    page = refused.get_data(as_text=True)
    assert re.search(r'<input type="radio" id="plan-class"[^>]*checked>', page)
    assert not re.search(r'<input type="radio" id="plan-teacher"[^>]*checked>', page)
    assert re.search(r'<input[^>]*id="seats"[^>]*value="31"', page)


def test_zero_pupils_from_the_product_page_is_refused_naming_the_pupils(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    refused = teacher_client.post(
        f"/panier/ajouter/{shop.lab.id}",
        data={"plan": "class", "seats": "0"},
        follow_redirects=True,
    )

    assert orders.cart_size(shop.teacher) == 0
    assert (
        "Nombre d'élèves : 0 n'est pas possible, la licence classe couvre de 1 à 30 élèves."
        in visible_text(refused)
    )


def test_pupils_that_are_not_a_number_are_refused_naming_the_field(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    refused = teacher_client.post(
        f"/panier/ajouter/{shop.lab.id}",
        data={"plan": "class", "seats": "vingt"},
        follow_redirects=True,
    )

    assert orders.cart_size(shop.teacher) == 0
    assert "Nombre d’élèves : indiquez un nombre entier." in visible_text(refused)


def test_the_product_page_asks_the_pupils_and_the_cart_keeps_them(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    """The field was never shown (the template looked the class plan up with a string), so
    every class licence was bought for 1 pupil."""
    page = teacher_client.get(f"/catalogue/{shop.lab.id}").get_data(as_text=True)

    assert 'name="seats"' in page
    assert 'max="30"' in page
    assert "Nombre d’élèves" in visible_text(page)
    assert "Pour la licence classe : de 1 à 30 élèves." in visible_text(page)

    teacher_client.post(f"/panier/ajouter/{shop.lab.id}", data={"plan": "class", "seats": "27"})
    cart_page = teacher_client.get("/panier").get_data(as_text=True)

    (item,) = orders.cart(shop.teacher, school_year()).items
    assert item.line.seats == 27
    assert 'name="seats" value="27"' in cart_page


def test_a_product_without_a_class_plan_does_not_ask_for_pupils(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    page = teacher_client.get(f"/catalogue/{shop.atlas.id}").get_data(as_text=True)

    assert 'name="seats"' not in page


def test_changing_the_seats_then_removing_the_line(teacher_client: FlaskClient, shop: Shop) -> None:
    line = orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=10)
    db.session.commit()

    changed = teacher_client.post(f"/panier/{line.id}/eleves", data={"seats": "22"})
    assert changed.status_code == 302
    db.session.refresh(line)
    assert line.seats == 22

    refused = teacher_client.post(f"/panier/{line.id}/eleves", data={"seats": "31"})
    assert refused.status_code == 422
    assert "Nombre d'élèves : 31 n'est pas possible" in visible_text(refused)
    zero = teacher_client.post(f"/panier/{line.id}/eleves", data={"seats": "0"})
    assert zero.status_code == 422
    assert "Nombre d'élèves : 0 n'est pas possible" in visible_text(zero)
    db.session.refresh(line)
    assert line.seats == 22

    removed = teacher_client.post(f"/panier/{line.id}/retirer", follow_redirects=True)
    assert "Retiré du panier." in visible_text(removed)
    assert "Votre panier est vide." in visible_text(removed)
    assert orders.cart_size(shop.teacher) == 0


def test_the_cart_shows_the_total_and_the_credit_before_and_after(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.TEACHER)
    db.session.commit()

    page = visible_text(teacher_client.get("/panier"))

    assert "Atlas des océans Licence établissement 40,00 €" in page
    assert "Laboratoire de chimie Licence enseignant 25,00 €" in page
    assert "Total 65,00 € Votre crédit 100,00 € Crédit après la commande 35,00 €" in page
    assert "Vérifier ma commande" in page


def test_a_line_no_longer_on_sale_is_flagged_and_the_checkout_not_offered(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    other = factories.product(title="Carte du ciel")  # another vendor, still on sale
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(shop.teacher, other.id, PlanKind.TEACHER)
    vendors.suspend(factories.with_role(Role.ADMIN), shop.vendor, "Contrôle en cours.")
    db.session.commit()

    response = teacher_client.get("/panier")

    page = visible_text(response)
    assert "Atlas des océans Retiré du catalogue : cette offre ne peut plus être achetée." in page
    assert "Vérifier ma commande" not in page
    assert "/panier/recapitulatif" not in response.get_data(as_text=True)
    cart = orders.cart(shop.teacher, school_year())
    assert not cart.ready
    assert [item.problem is None for item in cart.items] == [False, True]


def test_a_teacher_cannot_touch_another_teachers_cart_line(
    client: FlaskClient, auth: AuthActions, shop: Shop
) -> None:
    line = orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=10)
    colleague = factories.teacher(shop.school)
    db.session.commit()
    auth.login(colleague.email)

    assert client.post(f"/panier/{line.id}/eleves", data={"seats": "3"}).status_code == 404
    assert client.post(f"/panier/{line.id}/retirer").status_code == 404

    assert db.session.get(CartLine, line.id) is not None
    db.session.refresh(line)
    assert line.seats == 10


def test_the_cart_is_emptied_by_the_checkout_only(shop: Shop) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    colleague = factories.teacher(shop.school)
    orders.add_to_cart(colleague, shop.atlas.id, PlanKind.SCHOOL)

    buy(shop.teacher)

    assert orders.cart_size(shop.teacher) == 0
    assert orders.cart_size(colleague) == 1
