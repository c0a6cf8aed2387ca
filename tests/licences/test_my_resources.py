"""The teacher's "Mes ressources": each resource's title above its buttons; a cancelled or
expired licence shown as such, without its validity; the rule for cancelling said beside
the button that cancels."""

from __future__ import annotations

from datetime import timedelta

from babel.dates import format_date
from flask.testing import FlaskClient

from app.core import dates
from app.extensions import db
from app.licences import services as licences
from app.licences.models import LicenceStatus
from app.orders import services as orders
from app.orders.models import Order, OrderLine
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, visible_text


def french(day: object) -> str:
    return format_date(day, "long", locale="fr")


def card(page: str, line: OrderLine) -> str:
    """The HTML of the line's licence card."""
    assert line.licence is not None
    after = page.split(f'id="licence-{line.licence.id}"')[1]
    return after.split('id="licence-')[0].split("</main>")[0]


def activated(order: Order) -> OrderLine:
    line = order.lines[0]
    assert line.licence is not None
    licences.confirm(None, line.licence, access_url="https://mer.example/acces", external_id=None)
    db.session.commit()
    return line


def test_the_title_comes_before_the_buttons_and_the_rule_to_cancel_beside_them(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    order = buy(shop.teacher, shop.atlas)
    line = activated(order)
    until = french(dates.local_date(order.created_at) + timedelta(days=orders.WITHDRAWAL_DAYS))

    html = card(teacher_client.get("/mes-ressources").get_data(as_text=True), line)

    title = html.index('<h2 class="fr-card__title">Atlas des océans</h2>')
    footer = html.index('class="fr-card__footer"')
    assert title < footer  # buttons after the title, in the card's footer
    assert html.index(">Accéder</a>") > footer
    assert html.index(f'action="/mes-commandes/lignes/{line.id}/annuler"') > footer
    text = visible_text(html)
    assert (
        f"Vous pouvez annuler cette commande et être remboursé jusqu’au {until} inclus "
        "(14 jours après la commande), tant que vous n’avez pas ouvert la ressource."
    ) in text
    assert "Annuler et être remboursé" in text
    assert "Valable du" in text


def test_an_opened_resource_says_nothing_of_cancelling(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    line = activated(buy(shop.teacher, shop.atlas))
    assert line.licence is not None
    teacher_client.get(f"/mes-ressources/{line.licence.id}/ouvrir")

    text = visible_text(card(teacher_client.get("/mes-ressources").get_data(as_text=True), line))

    assert "Vous pouvez annuler" not in text
    assert "Annuler et être remboursé" not in text


def test_a_cancelled_licence_shows_when_it_was_cancelled_not_its_validity(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    line = activated(buy(shop.teacher, shop.atlas))
    cancelled = teacher_client.post(f"/mes-commandes/lignes/{line.id}/annuler")
    assert cancelled.status_code == 302

    text = visible_text(card(teacher_client.get("/mes-ressources").get_data(as_text=True), line))

    assert f"Annulée le {french(dates.today())}" in text
    assert "Valable du" not in text
    assert "Vous pouvez annuler" not in text
    assert "Accéder" not in text


def test_an_expired_licence_shows_when_it_expired_not_its_validity(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    line = activated(buy(shop.teacher, shop.atlas))
    licence = line.licence
    assert licence is not None
    licence.status = LicenceStatus.EXPIRED
    db.session.commit()

    text = visible_text(card(teacher_client.get("/mes-ressources").get_data(as_text=True), line))

    assert f"Expirée le {french(licence.valid_until)}" in text
    assert "Valable du" not in text
    assert "Accéder" not in text
