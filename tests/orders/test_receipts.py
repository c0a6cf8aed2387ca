"""Receipts: what the PDF says (read from the HTML it is printed from, and from the PDF
itself), rendered once on the first download and kept."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from flask_babel import format_date
from pypdf import PdfReader

from app.core import storage
from app.documents import services as documents
from app.extensions import db
from app.orders.models import Order
from tests.documents.tagged import assert_tagged
from tests.helpers import pdf_text
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, give_credit, visible_text


class RenderSpy:
    """Stands in for `render_pdf`: keeps the HTML of each rendering, then renders for real."""

    def __init__(self, real: Callable[..., bytes]) -> None:
        self.real = real
        self.pages: list[str] = []

    def __call__(self, template: str, **context: Any) -> bytes:
        self.pages.append(documents.render_html(template, **context))
        return self.real(template, **context)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> RenderSpy:
    spy = RenderSpy(documents.render_pdf)
    monkeypatch.setattr(documents, "render_pdf", spy)
    return spy


@pytest.fixture
def order(shop: Shop) -> Order:
    """Atlas (school plan, 40 €, VAT 20 %) and the lab for 25 pupils (60 €, VAT 5,5 %),
    bought with 150 € of credit."""
    give_credit(shop.teacher, 50_00)
    return buy(shop.teacher, shop.atlas, shop.lab)


def test_the_receipt_says_who_bought_what_where_for_how_much_in_french(
    teacher_client: FlaskClient, shop: Shop, order: Order, renders: RenderSpy
) -> None:
    teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    (html,) = renders.pages
    receipt = visible_text(html)
    paris_time = order.created_at.astimezone(ZoneInfo("Europe/Paris"))
    assert f"Reçu de la commande {order.number}" in receipt
    assert f"Date : {paris_time:%d/%m/%Y %H:%M}" in receipt
    assert "Enseignant : Camille Durand (camille.durand@ac-paris.fr)" in receipt
    assert f"Établissement : Collège Jean Moulin, Paris — UAI {shop.school.uai}" in receipt
    assert "Académie de Paris · année scolaire 2026-2027" in receipt
    assert (
        "Atlas des océans Éditions de la Mer SAS Licence établissement 20,0 % — 6,67 € 40,00 €"
    ) in receipt
    assert (
        "Laboratoire de chimie Éditions de la Mer SAS Licence classe (25 élèves) "
        "5,5 % — 3,13 € 60,00 €"
    ) in receipt
    assert "Total payé avec le compte ressources 100,00 €" in receipt
    assert "Dont TVA : 9,80 €." in receipt
    assert "Crédit restant après cette commande : 50,00 €" in receipt
    assert '<html lang="fr">' in html


def test_the_receipt_says_until_when_a_line_can_be_cancelled_and_that_opening_ends_it(
    teacher_client: FlaskClient, order: Order, renders: RenderSpy
) -> None:
    order.created_at = datetime(2026, 10, 1, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))
    db.session.commit()

    teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    (html,) = renders.pages
    receipt = visible_text(html)
    assert (
        "Vous pouvez annuler chaque ligne de cette commande jusqu’au 15 octobre 2026 inclus "
        "(date de Paris), tant que vous n’avez pas ouvert la ressource."
    ) in receipt
    assert "activée" not in receipt


def test_the_pdf_opens_and_carries_the_order_number_and_total(
    teacher_client: FlaskClient, order: Order
) -> None:
    response = teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f"recu-{order.number}.pdf" in response.headers["Content-Disposition"]
    pdf = PdfReader(io.BytesIO(response.data))
    assert len(pdf.pages) >= 1
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert order.number in text
    assert "100,00" in text


def test_the_receipt_is_rendered_once_and_kept(
    teacher_client: FlaskClient, order: Order, renders: RenderSpy
) -> None:
    first = teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")
    second = teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    assert len(renders.pages) == 1
    assert first.data == second.data
    db.session.refresh(order)
    assert order.receipt_key is not None
    assert order.receipt_key.startswith("receipts/")
    assert storage.read(order.receipt_key) == first.data


def test_the_receipt_is_a_tagged_pdf_in_french_with_its_title(
    teacher_client: FlaskClient, order: Order
) -> None:
    response = teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    kinds = assert_tagged(response.data, title=f"Reçu de la commande {order.number}")
    assert kinds.count("TH") == 5 + len(order.lines) + 1  # columns, each line, the total


def test_the_receipt_shows_a_cancelled_line_the_amount_refunded_and_the_net_paid(
    teacher_client: FlaskClient, shop: Shop, order: Order, renders: RenderSpy
) -> None:
    teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")  # printed before
    atlas = order.lines[0]
    teacher_client.post(f"/mes-commandes/lignes/{atlas.id}/annuler")
    db.session.refresh(atlas)

    response = teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    assert len(renders.pages) == 2  # printed again after the cancellation
    receipt = visible_text(renders.pages[-1])
    cancelled_on = format_date(atlas.cancelled_at, "long")
    assert f"Atlas des océans Annulée le {cancelled_on} : 40,00 € remboursés" in receipt
    assert "Laboratoire de chimie Éditions de la Mer SAS" in receipt
    assert "Annulée" not in receipt.split("Laboratoire de chimie")[1]
    assert "Total de la commande 100,00 €" in receipt
    assert "Remboursé (lignes annulées) -40,00 €" in receipt
    assert "Net payé avec le compte ressources 60,00 €" in receipt
    assert "Dont TVA : 3,13 €." in receipt  # the lab's only
    assert "Net payé avec le compte ressources 60,00" in pdf_text(response.data)
