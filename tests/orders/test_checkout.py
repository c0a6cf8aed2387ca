"""Checkout: one transaction that re-checks the cart, debits the credit and writes the
order, its licences and their provisioning jobs — or, refused or failing, writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import Role
from app.core.errors import Conflict
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.ledger import services as ledger
from app.licences import services as licences
from app.licences.models import LicenceStatus
from app.orders import services as orders
from app.orders.models import OrderLineStatus
from app.products import services as products
from app.products.models import PlanKind
from app.products.services import PlanDraft
from app.vendors import services as vendors
from tests import factories
from tests.orders.conftest import Shop
from tests.orders.helpers import (
    approve_new_version,
    buy,
    confirmation,
    credit_of,
    footprint,
    forced_checkout,
    give_credit,
    school_year,
    teacher_with_credit,
    visible_text,
)


def test_a_checkout_debits_the_credit_and_writes_order_licences_and_jobs(shop: Shop) -> None:
    teacher = shop.teacher
    orders.add_to_cart(teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(teacher, shop.lab.id, PlanKind.CLASS, seats=28)

    order = orders.checkout(teacher, "checkout-1")

    assert order.total_cents == 100_00
    assert order.credit_after_cents == 0 == credit_of(teacher)
    assert (order.school_id, order.academy_code, order.school_year_code) == (
        shop.school.id,
        "01",
        school_year(),
    )
    atlas, lab = order.lines
    assert (atlas.title, atlas.plan_kind, atlas.seats) == ("Atlas des océans", PlanKind.SCHOOL, 1)
    assert (atlas.price_cents, atlas.vat_rate_bp, atlas.vat_cents) == (40_00, 2000, 6_67)
    assert (lab.plan_kind, lab.seats, lab.price_cents, lab.vat_cents) == (
        PlanKind.CLASS,
        28,
        60_00,
        3_13,
    )
    assert all(line.status is OrderLineStatus.PAID for line in order.lines)
    licences_bought = [line.licence for line in order.lines if line.licence is not None]
    assert [licence.seats for licence in licences_bought] == [1, 28]
    assert all(licence.status is LicenceStatus.PENDING for licence in licences_bought)
    assert all(licence.teacher_id == teacher.id for licence in licences_bought)
    provisioning = db.session.scalars(select(Job).where(Job.kind == licences.PROVISION)).all()
    assert sorted(job.payload["licence_id"] for job in provisioning) == sorted(
        licence.id for licence in licences_bought
    )
    assert all(job.status is JobStatus.QUEUED for job in provisioning)
    assert ledger.balance(ledger.vendor_payable(shop.vendor.id)) == 100_00
    entry = ledger.find_entry(f"order:{order.id}")
    assert entry is not None
    assert entry.id == order.entry_id
    assert orders.cart_size(teacher) == 0
    assert ledger.verify().ok


def test_through_the_page_the_order_is_placed_and_confirmed(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    db.session.commit()

    response = teacher_client.post(
        "/panier/commander", data=confirmation(teacher_client), follow_redirects=True
    )

    assert response.status_code == 200
    (order,) = orders.teacher_orders(shop.teacher)
    text = visible_text(response)
    assert f"Commande {order.number} validée : vos ressources arrivent." in text
    assert credit_of(shop.teacher) == 60_00


# --- the summary before paying ----------------------------------------------------------


def test_the_cart_leads_to_a_summary_that_pays_nothing_until_confirmed(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=28)
    db.session.commit()
    before = footprint(shop.teacher)

    cart = teacher_client.get("/panier").get_data(as_text=True)
    assert 'action="/panier/recapitulatif"' in cart
    assert 'method="get"' in cart
    response = teacher_client.get(f"/panier/recapitulatif?school={shop.school.id}")

    assert response.status_code == 200
    page = visible_text(response)
    assert "Récapitulatif de la commande" in page
    assert "Atlas des océans Licence établissement — 40,00 €" in page
    assert "Laboratoire de chimie Licence classe 28 60,00 €" in page
    assert (
        "Établissement Collège Jean Moulin — Paris "
        f"({shop.school.uai}) Total 100,00 € Votre crédit 100,00 € "
        "Crédit après la commande 0,00 €"
    ) in page
    assert "Confirmer et payer 100,00 €" in page
    assert footprint(shop.teacher) == before  # nothing paid, nothing written

    paid = teacher_client.post("/panier/commander", data=confirmation(teacher_client))

    assert paid.status_code == 302
    assert credit_of(shop.teacher) == 0


def test_the_summary_shows_the_credit_of_the_school_s_academy(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    lyon = factories.SchoolFactory(name="Lycée du Parc", uai="0690001B", academy_code="10")
    accounts.grant_role(None, shop.teacher, Role.TEACHER, school=lyon)
    shop.teacher.email = "moved.to.lyon@ac-lyon.fr"  # Lyon credits Lyon addresses only
    give_credit(shop.teacher, 30_00, school=lyon)  # 100 € in Paris, 30 € in Lyon
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    db.session.commit()

    page = visible_text(teacher_client.get(f"/panier/recapitulatif?school={lyon.id}"))

    assert "Lycée du Parc" in page
    assert "Votre crédit 30,00 € Crédit après la commande -10,00 €" in page.replace("−", "-")
    assert "Crédit insuffisant : il vous manque 10,00 €." in page
    assert "Confirmer et payer" not in page


def test_a_cart_changed_after_the_summary_is_not_paid_without_a_new_confirmation(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    db.session.commit()
    confirmed = confirmation(teacher_client)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.TEACHER)  # in another tab
    db.session.commit()
    before = footprint(shop.teacher)

    refused = teacher_client.post("/panier/commander", data=confirmed)

    assert refused.status_code == 409
    page = visible_text(refused)
    assert "Votre panier a changé depuis le récapitulatif" in page
    assert "Laboratoire de chimie Licence enseignant — 25,00 € " in page  # the new summary
    assert footprint(shop.teacher) == before
    paid = teacher_client.post("/panier/commander", data=confirmation(teacher_client))
    assert paid.status_code == 302
    assert credit_of(shop.teacher) == 35_00


def test_the_confirmation_sent_twice_pays_once(teacher_client: FlaskClient, shop: Shop) -> None:
    """A double click on "Confirmer et payer": one order, and both answers lead to it."""
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    db.session.commit()
    confirmed = confirmation(teacher_client)

    first = teacher_client.post("/panier/commander", data=confirmed)
    written = footprint(shop.teacher)
    second = teacher_client.post("/panier/commander", data=confirmed)

    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert footprint(shop.teacher) == written
    assert written["orders"] == 1
    assert credit_of(shop.teacher) == 60_00


def test_a_checkout_without_the_summary_is_refused(teacher_client: FlaskClient, shop: Shop) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    db.session.commit()
    before = footprint(shop.teacher)

    refused = teacher_client.post(
        "/panier/commander", data={"token": "no-summary", "school": shop.school.id}
    )

    assert refused.status_code == 422
    assert footprint(shop.teacher) == before


def test_the_same_checkout_sent_again_returns_the_first_order(shop: Shop) -> None:
    teacher = shop.teacher
    orders.add_to_cart(teacher, shop.atlas.id, PlanKind.SCHOOL)
    first = orders.checkout(teacher, "double-click")
    written = footprint(teacher)

    orders.add_to_cart(teacher, shop.lab.id, PlanKind.CLASS, seats=10)  # the cart changed since
    again = orders.checkout(teacher, "double-click")

    assert again.id == first.id
    assert footprint(teacher) == written | {"cart_lines": 1}
    assert credit_of(teacher) == 60_00


def test_someone_elses_checkout_key_is_refused(shop: Shop) -> None:
    buy(shop.teacher, shop.atlas, key="shared-key")
    colleague = teacher_with_credit(shop.school, 50_00)
    orders.add_to_cart(colleague, shop.atlas.id, PlanKind.SCHOOL)

    with pytest.raises(Conflict):
        orders.checkout(colleague, "shared-key")


# --- a product that changed between the cart and the checkout ---------------------------


def _suspend_vendor(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = factories.with_role(Role.ADMIN)
    vendors.suspend(admin, shop.vendor, "Déclaration de données mensongère.")


def _let_label_expire(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    version = shop.atlas.listed
    assert version is not None
    assert version.label_expires_on is not None
    the_day_after = version.label_expires_on + timedelta(days=1)
    monkeypatch.setattr(products, "today", lambda: the_day_after)


def _drop_the_school_plan(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    approve_new_version(shop.atlas, [PlanDraft(PlanKind.TEACHER, 12_00, 2000)])


@pytest.mark.parametrize(
    "withdraw",
    [_suspend_vendor, _let_label_expire, _drop_the_school_plan],
    ids=["vendor-suspended", "label-expired", "plan-dropped-by-new-version"],
)
def test_a_product_withdrawn_since_the_cart_is_refused_and_nothing_is_written(
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
    withdraw: Callable[[Shop, pytest.MonkeyPatch], None],
) -> None:
    teacher = shop.teacher
    orders.add_to_cart(teacher, shop.atlas.id, PlanKind.SCHOOL)
    db.session.commit()
    before = footprint(teacher)
    withdraw(shop, monkeypatch)

    with pytest.raises(orders.NotPurchasable) as refused:
        orders.checkout(teacher, "checkout-withdrawn")
    db.session.rollback()

    assert refused.value.message == (
        "Une ressource du panier a été retirée du catalogue : Atlas des océans."
    )
    assert footprint(teacher) == before  # no order, entry, licence, job; cart kept


def test_a_new_price_must_be_confirmed_before_the_checkout_goes_through(shop: Shop) -> None:
    teacher = shop.teacher
    orders.add_to_cart(teacher, shop.atlas.id, PlanKind.SCHOOL)
    db.session.commit()
    approve_new_version(shop.atlas, [PlanDraft(PlanKind.SCHOOL, 45_00, 2000)])
    db.session.commit()
    before = footprint(teacher)

    with pytest.raises(orders.PriceChanged) as refused:
        orders.checkout(teacher, "checkout-new-price")
    db.session.rollback()

    assert "Le prix a changé depuis l'ajout au panier" in refused.value.message
    assert "Atlas des océans : 40,00\u00a0€ → 45,00\u00a0€" in refused.value.message
    assert footprint(teacher) == before

    orders.confirm_prices(teacher)
    order = orders.checkout(teacher, "checkout-new-price")

    assert order.total_cents == 45_00
    assert credit_of(teacher) == 55_00


def test_the_cart_page_refuses_a_changed_price_until_it_is_confirmed(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    approve_new_version(shop.atlas, [PlanDraft(PlanKind.SCHOOL, 45_00, 2000)])
    db.session.commit()
    before = footprint(shop.teacher)

    forced = teacher_client.post(
        "/panier/commander", data=forced_checkout(shop.teacher, "t-1", shop.school)
    )

    assert forced.status_code == 422
    assert "Atlas des océans : 40,00 € → 45,00 €" in visible_text(forced)
    assert footprint(shop.teacher) == before
    page = teacher_client.get("/panier")
    assert "Le prix a changé : 40,00 € → 45,00 €. Confirmez le nouveau prix." in visible_text(page)
    assert "Vérifier ma commande" not in page.get_data(as_text=True)

    teacher_client.post("/panier/confirmer-prix")
    page = teacher_client.get("/panier")

    assert "Vérifier ma commande" in visible_text(page)
    assert "Confirmer et payer 45,00 €" in visible_text(teacher_client.get("/panier/recapitulatif"))
    placed = teacher_client.post("/panier/commander", data=confirmation(teacher_client))
    assert placed.status_code == 302
    assert credit_of(shop.teacher) == 55_00


# --- failures in the middle of the checkout ---------------------------------------------


def test_a_failure_after_the_debit_rolls_everything_back(
    teacher_client: FlaskClient, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=20)
    db.session.commit()
    before = footprint(shop.teacher)
    real_create_licence = licences.create_licence
    created = []

    def create_then_fail(**kwargs: object) -> object:
        created.append(real_create_licence(**kwargs))  # type: ignore[arg-type]
        raise RuntimeError("le disque est plein")  # the debit, a licence and its job are written

    monkeypatch.setattr(licences, "create_licence", create_then_fail)
    checkout = confirmation(teacher_client)

    response = teacher_client.post("/panier/commander", data=checkout)

    assert response.status_code == 500
    assert created  # it did fail after the debit and the first licence
    assert footprint(shop.teacher) == before

    monkeypatch.setattr(licences, "create_licence", real_create_licence)
    retried = teacher_client.post("/panier/commander", data=checkout)  # the same form again

    assert retried.status_code == 302
    assert credit_of(shop.teacher) == 0
    assert ledger.verify().ok


def test_a_licence_insert_refused_by_the_database_rolls_everything_back(shop: Shop) -> None:
    """The teacher plan was bought in another tab (or is in the cart again): the
    one-teacher-plan index refuses the second licence, and the whole order goes."""
    teacher = shop.teacher
    orders.add_to_cart(teacher, shop.lab.id, PlanKind.TEACHER)
    orders.checkout(teacher, "first-tab")
    db.session.commit()
    before = footprint(teacher)
    second_tab = [orders.Item(shop.lab.id, PlanKind.TEACHER, 1, 25_00)]

    with pytest.raises(Conflict) as refused:
        orders.place_order(teacher, second_tab, "second-tab")
    db.session.rollback()

    assert refused.value.message == "Vous disposez déjà de « Laboratoire de chimie »."
    assert footprint(teacher) == before
    assert credit_of(teacher) == 75_00


# --- not enough credit ------------------------------------------------------------------


def test_too_little_credit_is_refused_with_the_missing_amount(shop: Shop) -> None:
    teacher = shop.teacher
    orders.add_to_cart(teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(teacher, shop.lab.id, PlanKind.CLASS, seats=30)
    orders.add_to_cart(teacher, shop.lab.id, PlanKind.TEACHER)
    db.session.commit()
    before = footprint(teacher)

    with pytest.raises(orders.CreditTooLow) as refused:
        orders.checkout(teacher, "checkout-too-much")
    db.session.rollback()

    assert refused.value.message == (
        "Crédit insuffisant : il vous manque 25,00\u00a0€ pour cette commande."
    )
    assert footprint(teacher) == before
    assert before["credit"] == 100_00


def test_a_teacher_of_two_academies_is_told_what_is_missing_where_the_order_is_paid(
    shop: Shop,
) -> None:
    lyon = factories.SchoolFactory(name="Lycée du Parc", uai="0690001B", academy_code="10")
    accounts.grant_role(None, shop.teacher, Role.TEACHER, school=lyon)
    shop.teacher.email = "moved.to.lyon@ac-lyon.fr"  # Lyon credits Lyon addresses only
    give_credit(shop.teacher, 30_00, school=lyon)  # 100 € in Paris, 30 € in Lyon
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=30)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.TEACHER)

    with pytest.raises(orders.CreditTooLow) as refused:
        orders.checkout(shop.teacher, "paris-order", school_id=shop.school.id)

    assert "il vous manque 25,00\u00a0€" in refused.value.message


def test_the_cart_page_shows_the_missing_credit_and_refuses_a_forced_checkout(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=30)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.TEACHER)
    db.session.commit()
    before = footprint(shop.teacher)

    page = teacher_client.get("/panier")

    assert "Crédit insuffisant : il vous manque 25,00 €." in visible_text(page)
    assert "Vérifier ma commande" not in page.get_data(as_text=True)
    assert "Confirmer et payer" not in visible_text(teacher_client.get("/panier/recapitulatif"))

    forced = teacher_client.post(
        "/panier/commander", data=forced_checkout(shop.teacher, "t", shop.school)
    )

    assert forced.status_code == 422
    assert "il vous manque 25,00 € pour cette commande" in visible_text(forced)
    assert footprint(shop.teacher) == before
