"""The teacher's orders: the history, one order with the status of each licence, and
nobody else's orders."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.extensions import db
from app.licences import services as licences
from app.orders import services as orders
from app.orders.models import OrderLine
from tests import factories
from tests.conftest import AuthActions
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, footprint, teacher_with_credit, visible_text


def _activate(line: OrderLine) -> None:
    assert line.licence is not None
    licences.confirm(None, line.licence, access_url="https://mer.example/acces", external_id=None)


def test_the_history_lists_the_teachers_orders_newest_first(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    first = buy(shop.teacher, shop.atlas)
    second = buy(shop.teacher, shop.lab)
    someone_else = buy(teacher_with_credit(shop.school, 100_00), shop.atlas)

    page = visible_text(teacher_client.get("/mes-commandes"))

    assert second.number in page
    assert page.index(second.number) < page.index(first.number)
    assert "Atlas des océans" in page
    assert "Laboratoire de chimie" in page
    assert "40,00 €" in page
    assert "60,00 €" in page
    assert someone_else.number not in page


def test_the_history_shows_the_status_of_each_licence(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    order = buy(shop.teacher, shop.atlas, shop.lab)
    _activate(order.lines[0])
    db.session.commit()

    page = visible_text(teacher_client.get("/mes-commandes"))

    assert "Active" in page
    assert "En cours de livraison" in page


def test_an_order_shows_each_line_and_its_licence_status(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    order = buy(shop.teacher, shop.atlas, shop.lab)
    atlas, lab = order.lines
    _activate(atlas)
    db.session.commit()

    response = teacher_client.get(f"/mes-commandes/{order.id}")

    assert response.status_code == 200
    page = visible_text(response)
    assert f"Commande {order.number}" in page
    assert "Collège Jean Moulin" in page
    assert shop.school.uai in page
    assert "Total : 100,00 €" in page
    assert "Atlas des océans Licence établissement 40,00 € Active" in page
    assert "Laboratoire de chimie Licence classe, 25 élèves 60,00 € En cours de livraison" in page
    assert f"/mes-commandes/{order.id}/recu.pdf" in response.get_data(as_text=True)

    teacher_client.post(f"/mes-commandes/lignes/{lab.id}/annuler")
    page = visible_text(teacher_client.get(f"/mes-commandes/{order.id}"))

    assert "Laboratoire de chimie Licence classe, 25 élèves 60,00 € Annulée, remboursée" in page


def test_another_teachers_order_receipt_and_cancellation_are_not_found(
    client: FlaskClient, auth: AuthActions, shop: Shop
) -> None:
    order = buy(shop.teacher, shop.atlas)
    (line,) = order.lines
    colleague = factories.teacher(shop.school)
    db.session.commit()
    before = footprint(shop.teacher)
    auth.login(colleague.email)

    assert client.get(f"/mes-commandes/{order.id}").status_code == 404
    assert client.get(f"/mes-commandes/{order.id}/recu.pdf").status_code == 404
    assert client.post(f"/mes-commandes/lignes/{line.id}/annuler").status_code == 404

    assert footprint(shop.teacher) == before
    db.session.refresh(order)
    assert order.receipt_key is None
    assert orders.teacher_orders(colleague) == []
