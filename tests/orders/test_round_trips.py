"""The statements each hot request of a teacher sends, counted: a change that adds a
round trip to the checkout, the cart or the product page fails here, not in a benchmark
(bench/checkout.py measures what they cost). Savepoints are not counted (the tests' own
transaction machinery). Each request starts with an empty session, as in production, so
flask-login's loading of the teacher (two statements) is counted."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.extensions import db
from app.orders import services as orders
from app.products.models import PlanKind
from tests.helpers import count_statements
from tests.orders.conftest import Shop
from tests.orders.helpers import confirmation, credit_of


def test_the_checkout_sends_this_many_statements(teacher_client: FlaskClient, shop: Shop) -> None:
    """The teacher's second purchase from the vendor (their accounts exist): the steady
    state bench/checkout.py measures."""
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.checkout(shop.teacher, "first")
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.TEACHER)
    db.session.commit()
    form = confirmation(teacher_client)

    db.session.expunge_all()  # a request of its own, as in production: nothing loaded yet
    with count_statements() as sent:
        response = teacher_client.post("/panier/commander", data=form)

    assert response.status_code == 302
    assert credit_of(shop.teacher) == 35_00
    assert len(sent) == 21, str(sent)


def test_adding_to_the_cart_sends_this_many_statements(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    lab = shop.lab.id
    db.session.expunge_all()  # a request of its own, as in production: nothing loaded yet
    with count_statements() as sent:
        response = teacher_client.post(
            f"/panier/ajouter/{lab}", data={"plan": "teacher", "seats": "1"}
        )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/panier")
    assert len(sent) == 5, str(sent)


def test_the_cart_page_sends_this_many_statements(teacher_client: FlaskClient, shop: Shop) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=20)
    db.session.commit()

    db.session.expunge_all()  # a request of its own, as in production: nothing loaded yet
    with count_statements() as sent:
        response = teacher_client.get("/panier")

    assert response.status_code == 200
    assert len(sent) == 6, str(sent)


def test_the_product_page_sends_this_many_statements(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    lab = shop.lab.id
    db.session.expunge_all()  # a request of its own, as in production: nothing loaded yet
    with count_statements() as sent:
        response = teacher_client.get(f"/catalogue/{lab}")

    assert response.status_code == 200
    assert len(sent) == 7, str(sent)
