"""The same "Ajouter au panier" sent several times at once (a double click, two tabs):
one cart line, every request answered normally (PostgreSQL only, real commits).

Each request is a real one, through its own test client and session, in its own thread;
they wait at a barrier so they all reach the database together.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.orders.models import CartLine
from tests import factories
from tests.conftest import requires_postgres
from tests.orders.helpers import on_sale

pytestmark = [requires_postgres, pytest.mark.committed]

PARALLEL = 8


def test_adding_the_same_plan_at_once_makes_one_cart_line(committed: Flask) -> None:
    app = committed
    with app.app_context():
        teacher = factories.teacher(email="camille.durand@ac-paris.fr")
        product = on_sale(title="Atlas des océans")
        db.session.commit()
        teacher_id, product_id = teacher.id, product.id
    clients = [app.test_client() for _ in range(PARALLEL)]
    for client in clients:
        client.post(
            "/connexion", data={"email": "camille.durand@ac-paris.fr", "password": "password123"}
        )
    barrier = threading.Barrier(PARALLEL, timeout=30)

    def add(client: object) -> int:
        barrier.wait()
        response = client.post(f"/panier/ajouter/{product_id}", data={"plan": "school"})  # type: ignore[attr-defined]
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = list(pool.map(add, clients))

    assert statuses == [302] * PARALLEL  # each one back to the cart, none a 500
    with app.app_context():
        lines = db.session.scalar(
            select(func.count()).select_from(CartLine).where(CartLine.teacher_id == teacher_id)
        )
        assert lines == 1
