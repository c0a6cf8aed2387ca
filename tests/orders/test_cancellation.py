"""Cancelling an order line: within 14 days (Paris dates) and as long as the resource has
not been opened, the licence is revoked and one refund entry gives the credit back;
otherwise it is neither offered nor done, and the order page says until when and why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from babel.dates import format_date
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.models import User
from app.core import dates, jobs
from app.core.errors import Conflict
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.licences import services as licences
from app.licences.models import LicenceStatus
from app.orders import services as orders
from app.orders.models import Order, OrderLine, OrderLineStatus
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from tests import factories
from tests.conftest import AuthActions
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, credit_of, footprint, on_sale, visible_text

TEACHER_PLAN = PlanDraft(PlanKind.TEACHER, 20_00, 550)


def buy_teacher_plan(teacher: User, product: Product) -> Order:
    orders.add_to_cart(teacher, product.id, PlanKind.TEACHER)
    order = orders.checkout(teacher, uuid4().hex)
    db.session.commit()
    return order


def run_jobs() -> None:
    """Run every queued job, as a worker would."""
    while (job_id := jobs.claim()) is not None:
        jobs.run(job_id)


@pytest.fixture
def order(shop: Shop) -> Order:
    """The atlas (40 €) and the lab for 25 pupils (60 €): the 100 € of credit spent."""
    return buy(shop.teacher, shop.atlas, shop.lab)


def _ordered_on(order: Order) -> date:
    return dates.local_date(order.created_at)


def _activate(line: OrderLine) -> None:
    assert line.licence is not None
    licences.confirm(None, line.licence, access_url="https://mer.example/acces", external_id=None)


def _payable(shop: Shop) -> int:
    return ledger.balance(ledger.vendor_payable(shop.vendor.id))


def test_a_cancelled_line_is_refunded_and_its_licence_revoked(shop: Shop, order: Order) -> None:
    atlas, lab = order.lines
    assert (credit_of(shop.teacher), _payable(shop)) == (0, 100_00)

    cancelled = orders.cancel_line(shop.teacher, atlas.id)

    assert cancelled.status is OrderLineStatus.CANCELLED
    assert cancelled.cancelled_at is not None
    assert atlas.licence is not None
    assert atlas.licence.status is LicenceStatus.REVOKED
    assert lab.status is OrderLineStatus.PAID
    assert lab.licence is not None
    assert lab.licence.status is LicenceStatus.PENDING
    assert credit_of(shop.teacher) == 40_00
    assert _payable(shop) == 60_00
    refund = db.session.get(JournalEntry, cancelled.refund_entry_id)
    assert refund is not None
    assert refund.kind is EntryKind.REFUND
    postings = db.session.scalars(select(Posting.amount_cents).where(Posting.entry_id == refund.id))
    assert sorted(postings) == [-40_00, 40_00]
    assert ledger.verify().ok


def test_cancelling_twice_refunds_once(shop: Shop, order: Order) -> None:
    atlas = order.lines[0]
    first = orders.cancel_line(shop.teacher, atlas.id).refund_entry_id
    after_first = footprint(shop.teacher)

    again = orders.cancel_line(shop.teacher, atlas.id)

    assert again.refund_entry_id == first
    assert footprint(shop.teacher) == after_first
    assert after_first["refunds"] == 1
    assert credit_of(shop.teacher) == 40_00


def test_the_withdrawal_period_ends_after_14_days(shop: Shop, order: Order) -> None:
    atlas = order.lines[0]
    last_day = _ordered_on(order) + timedelta(days=14)
    assert orders.cancellable(atlas, on=last_day)
    assert not orders.cancellable(atlas, on=last_day + timedelta(days=1))
    before = footprint(shop.teacher)

    with pytest.raises(Conflict, match="le délai de 14 jours a pris fin le"):
        orders.cancel_line(shop.teacher, atlas.id, on=last_day + timedelta(days=1))

    assert footprint(shop.teacher) == before
    assert atlas.status is OrderLineStatus.PAID


def test_an_activated_licence_not_yet_opened_can_be_cancelled(shop: Shop, order: Order) -> None:
    """Every channel activates a licence within a second: activation no longer ends the
    right to cancel, opening the resource does."""
    atlas = order.lines[0]
    _activate(atlas)

    assert orders.cancellable(atlas)
    orders.cancel_line(shop.teacher, atlas.id)

    assert credit_of(shop.teacher) == 40_00
    assert atlas.licence is not None
    assert atlas.licence.status is LicenceStatus.REVOKED


def test_an_opened_licence_cannot_be_cancelled(shop: Shop, order: Order) -> None:
    atlas = order.lines[0]
    _activate(atlas)
    assert atlas.licence is not None
    licences.open_resource(shop.teacher, atlas.licence.id, "link")
    before = footprint(shop.teacher)

    assert orders.cancellation(atlas).state is orders.CancelState.OPENED
    with pytest.raises(Conflict, match="la ressource a été ouverte le"):
        orders.cancel_line(shop.teacher, atlas.id)

    assert footprint(shop.teacher) == before
    assert atlas.licence.status is LicenceStatus.ACTIVE


def test_the_period_is_counted_in_paris_dates(shop: Shop, order: Order) -> None:
    """Ordered at 00:30 in Paris on 2 December (23:30 UTC on the 1st): the last day to
    cancel is 16 December, whatever the hour."""
    order.created_at = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    atlas = order.lines[0]

    on_last_day = orders.cancellation(atlas, on=date(2026, 12, 16))
    assert on_last_day.allowed
    assert on_last_day.until == date(2026, 12, 16)
    assert orders.cancellation(atlas, on=date(2026, 12, 17)).state is (
        orders.CancelState.PERIOD_OVER
    )


def test_a_licence_whose_delivery_failed_can_be_cancelled(shop: Shop, order: Order) -> None:
    atlas = order.lines[0]
    assert atlas.licence is not None
    licences.fail(atlas.licence, "Plus de codes d'activation.", None)

    orders.cancel_line(shop.teacher, atlas.id)

    assert credit_of(shop.teacher) == 40_00
    assert atlas.licence.status is LicenceStatus.REVOKED


# --- through the pages ------------------------------------------------------------------


def test_the_order_page_offers_the_cancellation_and_refunds(
    teacher_client: FlaskClient, shop: Shop, order: Order
) -> None:
    atlas = order.lines[0]
    page = teacher_client.get(f"/mes-commandes/{order.id}").get_data(as_text=True)
    assert f"/mes-commandes/lignes/{atlas.id}/annuler" in page

    response = teacher_client.post(
        f"/mes-commandes/lignes/{atlas.id}/annuler", follow_redirects=True
    )

    assert (
        "La licence établissement de « Atlas des océans » est annulée ; "
        "40,00 € ont été recrédités." in visible_text(response)
    )
    assert credit_of(shop.teacher) == 40_00
    assert f"/mes-commandes/lignes/{atlas.id}/annuler" not in response.get_data(as_text=True)


def test_the_cancellation_names_the_offer_of_two_lines_of_one_product(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.CLASS, seats=25)
    orders.add_to_cart(shop.teacher, shop.lab.id, PlanKind.TEACHER)
    order = orders.checkout(shop.teacher, uuid4().hex)
    db.session.commit()

    page = visible_text(teacher_client.get(f"/mes-commandes/{order.id}"))

    section = page[page.index("Annulation") :]
    assert "Laboratoire de chimie — Licence classe, 25 élèves Vous pouvez annuler" in section
    assert "Laboratoire de chimie — Licence enseignant Vous pouvez annuler" in section


def _fifteen_days_later(order: Order, monkeypatch: pytest.MonkeyPatch) -> None:
    later = _ordered_on(order) + timedelta(days=15)
    monkeypatch.setattr(orders, "today", lambda: later)


def _opened(order: Order, monkeypatch: pytest.MonkeyPatch) -> None:
    line = order.lines[0]
    _activate(line)
    assert line.licence is not None
    licences.open_resource(order.teacher, line.licence.id, "code")
    db.session.commit()


@pytest.mark.parametrize(
    "too_late", [_fifteen_days_later, _opened], ids=["after-14-days", "resource-opened"]
)
def test_too_late_the_page_offers_no_cancellation_and_a_forced_one_is_refused(
    teacher_client: FlaskClient,
    shop: Shop,
    order: Order,
    monkeypatch: pytest.MonkeyPatch,
    too_late: Callable[[Order, pytest.MonkeyPatch], None],
) -> None:
    atlas = order.lines[0]
    too_late(order, monkeypatch)
    before = footprint(shop.teacher)
    licence_status = atlas.licence.status if atlas.licence else None

    page = teacher_client.get(f"/mes-commandes/{order.id}").get_data(as_text=True)
    forced = teacher_client.post(f"/mes-commandes/lignes/{atlas.id}/annuler")

    assert f"/mes-commandes/lignes/{atlas.id}/annuler" not in page
    assert forced.status_code == 409
    assert "ne peut plus être annulée" in visible_text(forced)
    assert footprint(shop.teacher) == before
    db.session.refresh(atlas)
    assert atlas.status is OrderLineStatus.PAID
    assert atlas.licence is not None
    assert atlas.licence.status is licence_status


def test_the_vendor_sees_the_cancelled_line(
    client: FlaskClient, auth: AuthActions, shop: Shop, order: Order
) -> None:
    orders.cancel_line(shop.teacher, order.lines[0].id)
    member = factories.vendor_member(shop.vendor)
    db.session.commit()
    auth.login(member.email)

    page = visible_text(client.get(f"/editeur/{shop.vendor.id}/commandes"))

    assert "Atlas des océans Licence établissement 40,00 € Annulée · licence retirée" in page
    assert "Laboratoire de chimie Licence classe 25 60,00 € Payée" in page


# --- until when, and why: the order page ------------------------------------------------


def _french(day: date) -> str:
    return format_date(day, "long", locale="fr_FR")


def test_the_order_page_says_until_when_a_line_can_be_cancelled(
    teacher_client: FlaskClient, order: Order
) -> None:
    last_day = _french(_ordered_on(order) + timedelta(days=14))

    page = visible_text(teacher_client.get(f"/mes-commandes/{order.id}"))

    assert (
        f"Vous pouvez annuler cette ligne jusqu’au {last_day} inclus, tant que vous n’avez "
        "pas ouvert la ressource."
    ) in page


def test_the_order_page_says_why_a_line_can_no_longer_be_cancelled(
    teacher_client: FlaskClient, shop: Shop, order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    atlas, lab = order.lines
    _activate(atlas)
    assert atlas.licence is not None
    licences.open_resource(shop.teacher, atlas.licence.id, "link")
    orders.cancel_line(shop.teacher, lab.id)
    db.session.commit()
    opened_on = _french(dates.today())

    page = visible_text(teacher_client.get(f"/mes-commandes/{order.id}"))

    assert (
        f"Cette ligne ne peut plus être annulée : la ressource a été ouverte le {opened_on}."
        in page
    )
    assert f"Ligne annulée le {opened_on} : 60,00 € ont été rendus à votre crédit." in page
    html = teacher_client.get(f"/mes-commandes/{order.id}").get_data(as_text=True)
    assert f"/mes-commandes/lignes/{atlas.id}/annuler" not in html
    assert f"/mes-commandes/lignes/{lab.id}/annuler" not in html

    _fifteen_days_later(order, monkeypatch)
    last_day = _french(_ordered_on(order) + timedelta(days=14))
    db.session.refresh(atlas.licence)
    atlas.licence.opened_at = None  # not opened, but too late
    db.session.commit()
    page = visible_text(teacher_client.get(f"/mes-commandes/{order.id}"))
    assert (
        f"Cette ligne ne peut plus être annulée : le délai de 14 jours a pris fin le {last_day}."
        in page
    )


# --- opening the resource ends the right to cancel ----------------------------------------


def test_the_access_link_records_the_first_opening_then_goes_to_the_resource(
    teacher_client: FlaskClient, shop: Shop, order: Order
) -> None:
    atlas = order.lines[0]
    _activate(atlas)
    db.session.commit()
    licence = atlas.licence
    assert licence is not None

    resources = teacher_client.get("/mes-ressources").get_data(as_text=True)
    assert f'href="/mes-ressources/{licence.id}/ouvrir"' in resources
    assert "https://mer.example/acces" not in resources  # never the vendor's address directly
    assert "tant que vous n’avez pas ouvert la ressource." in visible_text(resources)

    opened = teacher_client.get(f"/mes-ressources/{licence.id}/ouvrir")

    assert opened.status_code == 302
    assert opened.headers["Location"] == "https://mer.example/acces"
    db.session.refresh(licence)
    first = licence.opened_at
    assert first is not None
    assert not orders.cancellable(atlas)

    teacher_client.get(f"/mes-ressources/{licence.id}/ouvrir")  # again: the first one is kept
    db.session.refresh(licence)
    assert licence.opened_at == first
    forced = teacher_client.post(f"/mes-commandes/lignes/{atlas.id}/annuler")
    assert forced.status_code == 409
    assert credit_of(shop.teacher) == 0


def test_someone_else_cannot_open_the_resource(
    client: FlaskClient, auth: AuthActions, shop: Shop, order: Order
) -> None:
    atlas = order.lines[0]
    _activate(atlas)
    colleague = factories.teacher(shop.school)
    db.session.commit()
    auth.login(colleague.email)
    assert atlas.licence is not None

    assert client.get(f"/mes-ressources/{atlas.licence.id}/ouvrir").status_code == 404
    assert client.post(f"/mes-ressources/{atlas.licence.id}/code").status_code == 404
    db.session.refresh(atlas.licence)
    assert atlas.licence.opened_at is None


def test_a_cancelled_resource_cannot_be_opened(
    teacher_client: FlaskClient, shop: Shop, order: Order
) -> None:
    atlas = order.lines[0]
    _activate(atlas)
    orders.cancel_line(shop.teacher, atlas.id)
    db.session.commit()
    assert atlas.licence is not None

    response = teacher_client.get(
        f"/mes-ressources/{atlas.licence.id}/ouvrir", follow_redirects=True
    )

    assert "Cette ressource a été annulée : elle ne peut plus être ouverte." in visible_text(
        response
    )
    db.session.refresh(atlas.licence)
    assert atlas.licence.opened_at is None


def test_an_activation_code_is_shown_once_revealed_and_that_ends_the_right_to_cancel(
    teacher_client: FlaskClient, shop: Shop
) -> None:
    product = on_sale(shop.vendor, title="Dictées en ligne", plans=[TEACHER_PLAN])
    licences.upload_codes(None, product, PlanKind.TEACHER, ["CODE-SECRET-1"])
    order = buy_teacher_plan(shop.teacher, product)
    run_jobs()
    (line,) = order.lines
    licence = line.licence
    assert licence is not None
    db.session.refresh(licence)
    assert licence.status is LicenceStatus.ACTIVE

    before = teacher_client.get("/mes-ressources").get_data(as_text=True)
    assert "CODE-SECRET-1" not in before
    assert "Révéler le code" in before
    assert "Révéler le code compte comme l’ouvrir." in visible_text(before)
    assert orders.cancellable(line)

    revealed = teacher_client.post(f"/mes-ressources/{licence.id}/code", follow_redirects=True)

    assert "CODE-SECRET-1" in revealed.get_data(as_text=True)
    db.session.refresh(licence)
    assert licence.opened_at is not None
    assert not orders.cancellable(line)
    page = visible_text(teacher_client.get(f"/mes-commandes/{order.id}"))
    assert "Cette ligne ne peut plus être annulée : la ressource a été ouverte le" in page
