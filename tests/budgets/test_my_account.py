"""The teacher's account page: each movement names what it comes from (an order, with a
link to it, or the academy's allocation); the page says until when the credit can be
spent and what becomes of what is left, as the year closing does it."""

from __future__ import annotations

import re
from datetime import date

from babel.dates import format_date
from flask.testing import FlaskClient

from app.budgets import services as budgets
from app.extensions import db
from app.ledger import services as ledger
from app.orders import services as orders
from tests import factories
from tests.conftest import AuthActions
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, school_year, visible_text


def account_text(client: FlaskClient, **query: str) -> str:
    return visible_text(client.get("/mon-compte", query_string=query))


def last_day(year: str) -> str:
    return format_date(date(int(year[5:]), 8, 31), "long", locale="fr")


def test_each_movement_names_its_order_or_its_allocation(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    order = buy(shop.teacher, shop.atlas, shop.lab)
    orders.cancel_line(shop.teacher, order.lines[0].id)
    db.session.commit()

    response = teacher_client.get("/mon-compte")

    html = response.get_data(as_text=True)
    link = (
        f'<a class="cr-nowrap" href="/mes-commandes/{order.id}">Commande n°\u00a0{order.number}</a>'
    )
    assert html.count(link) == 2  # the purchase and the refund
    text = visible_text(response)
    movements = re.findall(
        r"((?:Remboursement|Achat) — Commande n° \S+|Dotation de l’académie de Paris)", text
    )
    assert movements == [
        f"Remboursement — Commande n° {order.number}",
        f"Achat — Commande n° {order.number}",
        "Dotation de l’académie de Paris",
    ]


def test_the_page_says_until_when_the_credit_is_spent_and_where_the_rest_goes(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    year = school_year()

    text = account_text(teacher_client)

    assert (
        f"Ce crédit est à utiliser jusqu’au {last_day(year)} inclus, fin de l’année scolaire "
        f"{year}. Il n’est pas reporté sur l’année suivante : à la clôture de l’année, ce qui "
        "reste est rendu à l’académie qui vous l’a attribué."
    ) in text


def test_once_the_year_is_closed_the_page_says_the_rest_went_back_to_the_academy(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    year = school_year()
    pool_before = ledger.balance(ledger.academy_pool("01", year))

    list(budgets.close_year(None, year))
    db.session.commit()

    # What the sentence says is what closing did: the 100 € left went back to the pool.
    assert budgets.teacher_balance(shop.teacher.id, year) == 0
    assert ledger.balance(ledger.academy_pool("01", year)) == pool_before + 100_00
    text = account_text(teacher_client)
    assert (
        f"L’année scolaire {year} est close : le crédit que vous n’aviez pas utilisé a été "
        "rendu à l’académie qui vous l’avait attribué."
    ) in text
    assert "Crédit non utilisé rendu à l'académie (clôture de l'année)" in text


def test_a_year_is_over_after_its_31_august_and_closed_only_once_closing_ran(
    shop: Shop,
) -> None:
    year = school_year()
    ends_on = date(int(year[5:]), 8, 31)

    assert budgets.credit_expiry(year, ends_on) == budgets.CreditExpiry(
        year, ends_on, ended=False, closed=False
    )
    after = date(ends_on.year, 9, 1)
    assert budgets.credit_expiry(year, after).ended
    # A purchase draws on the credit of the school year of its day: from 1 September,
    # the next year's.
    assert budgets.school_year_code(after) != year
    list(budgets.close_year(None, year))
    assert budgets.credit_expiry(year, after).closed


def test_an_academy_s_several_domains_are_named_as_a_french_list(
    client: FlaskClient, auth: AuthActions, session: object
) -> None:
    auth.login(factories.academy_manager("70").email)

    text = visible_text(client.get("/academies/70/repartitions/fichier"))

    assert (
        "Des adresses de l’académie seulement (@ac-normandie.fr, @ac-caen.fr ou @ac-rouen.fr)"
    ) in text
