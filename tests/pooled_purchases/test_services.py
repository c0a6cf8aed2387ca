"""Pooled purchases through their services: each rule and its French message, the money
of each flow (ledger verify and the hold account after each), and what each teacher sees."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.budgets import services as budgets
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, JournalEntry
from app.licences import services as licences
from app.licences.models import Licence
from app.notifications.models import Notification
from app.orders import services as orders
from app.orders.models import Order
from app.pooled_purchases import services
from app.pooled_purchases.models import PooledPurchase, PooledShare, PooledStatus
from app.products.models import PlanKind
from app.products.services import PlanDraft
from tests.orders.helpers import approve_new_version, credit_of, school_year
from tests.pooled_purchases.conftest import Staff
from tests.pooled_purchases.helpers import assert_invariants, hold_balance


def _soon(days: int = 10) -> date:
    return services.today() + timedelta(days=days)


def _start(staff: Staff, cents: int = 10_00, **kwargs: object) -> PooledPurchase:
    pooled = services.start(
        staff.camille, staff.atlas.id, deadline=_soon(), share_cents=cents, **kwargs
    )
    db.session.commit()
    return pooled


def _count(model: type, *where: object) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _told(event: str) -> set[int]:
    return set(db.session.scalars(select(Notification.user_id).where(Notification.event == event)))


def test_three_teachers_pay_a_school_licence_together(staff: Staff) -> None:
    pooled = _start(staff)
    assert pooled.status is PooledStatus.OPEN
    assert pooled.price_cents == 40_00
    assert hold_balance(pooled) == 10_00
    assert_invariants()

    services.join(staff.dominique, pooled.id, 20_00)
    db.session.commit()
    assert pooled.collected_cents == 30_00
    assert pooled.is_open
    assert_invariants()

    services.join(staff.sacha, pooled.id, 10_00)
    db.session.commit()

    assert pooled.status is PooledStatus.COMPLETED
    assert hold_balance(pooled) == 0
    assert_invariants()
    assert [credit_of(t) for t in (staff.camille, staff.dominique, staff.sacha)] == [
        90_00,
        80_00,
        90_00,
    ]
    order = db.session.get(Order, pooled.order_id)
    assert order is not None
    assert order.teacher_id == staff.camille.id
    assert order.school_id == staff.school.id
    assert order.total_cents == 40_00
    assert [line.plan_kind for line in order.lines] == [PlanKind.SCHOOL]
    assert _count(Order) == 1
    assert _count(Licence) == 1
    assert ledger.balance(ledger.vendor_payable(staff.vendor.id)) == 40_00
    purchase = db.session.get(JournalEntry, order.entry_id)
    assert purchase is not None
    assert purchase.kind is EntryKind.PURCHASE
    for teacher in (staff.camille, staff.dominique, staff.sacha):
        assert [lic.id for lic in licences.teacher_licences(teacher)] == [order.lines[0].licence.id]
        assert [o.id for o in orders.teacher_orders(teacher)] == [order.id]
        assert orders.teacher_order(teacher, order.id) is order
    assert orders.pooled_shares(staff.dominique, [order])[order.id].amount_cents == 20_00
    assert licences.teacher_licences(staff.outsider) == []
    with pytest.raises(NotFound):
        orders.teacher_order(staff.outsider, order.id)
    everyone = {staff.camille.id, staff.dominique.id, staff.sacha.id}
    assert _told("pooled_started") == everyone
    assert _told("pooled_joined") == {staff.camille.id, staff.dominique.id}
    assert _told("pooled_completed") == everyone


def test_a_pooled_order_cannot_be_cancelled_by_its_buyer(staff: Staff) -> None:
    pooled = _start(staff, 40_00)
    assert pooled.status is PooledStatus.COMPLETED
    order = db.session.get(Order, pooled.order_id)
    assert order is not None
    with pytest.raises(Conflict, match="payée par un achat groupé"):
        orders.cancel_line(staff.camille, order.lines[0].id)


@pytest.mark.parametrize(
    ("cents", "message"),
    [
        (99, "Participation : au moins 1,00\u00a0€."),
        (30_01, "Participation : au plus 30,00\u00a0€, ce qui reste à réunir."),
    ],
)
def test_a_share_out_of_bounds_is_refused_and_changes_nothing(
    staff: Staff, cents: int, message: str
) -> None:
    pooled = _start(staff)
    entries = _count(JournalEntry)
    with pytest.raises(ValidationFailed) as refused:
        services.join(staff.dominique, pooled.id, cents)
    assert refused.value.message == message
    assert "amount" in refused.value.details
    assert _count(JournalEntry) == entries
    assert _count(PooledShare) == 1
    assert pooled.collected_cents == 10_00
    assert_invariants()


def test_a_share_above_the_teachers_credit_is_refused(staff: Staff) -> None:
    pooled = services.start(staff.camille, staff.atlas.id, deadline=_soon(), share_cents=1_00)
    orders.add_to_cart(staff.dominique, staff.atlas.id, PlanKind.SCHOOL)
    orders.checkout(staff.dominique, "spend")  # 60 € left
    orders.add_to_cart(staff.dominique, staff.atlas.id, PlanKind.SCHOOL)
    orders.checkout(staff.dominique, "spend-again")  # 20 € left
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        services.join(staff.dominique, pooled.id, 25_00)
    assert refused.value.message == (
        "Participation : elle dépasse votre crédit disponible (20,00\u00a0€)."
    )


def test_the_deadline_rules(staff: Staff) -> None:
    today = services.today()
    with pytest.raises(ValidationFailed, match="au plus 30 jours après aujourd'hui"):
        services.start(
            staff.camille, staff.atlas.id, deadline=today + timedelta(days=31), share_cents=1_00
        )
    with pytest.raises(ValidationFailed, match="ne peut pas être déjà passée"):
        services.start(
            staff.camille, staff.atlas.id, deadline=today - timedelta(days=1), share_cents=1_00
        )
    end = date(int(school_year()[-4:]), 8, 31)
    with pytest.raises(ValidationFailed) as refused:
        services.start(
            staff.camille,
            staff.atlas.id,
            deadline=end + timedelta(days=2),
            share_cents=1_00,
            on=end - timedelta(days=10),
        )
    assert refused.value.message == (
        f"Date limite : au plus tard le 31 août {end.year}, fin de l'année scolaire."
    )
    assert refused.value.details == {"deadline": [f"au plus tard le {end.isoformat()}"]}
    assert _count(PooledPurchase) == 0


def test_only_teachers_of_the_school_see_and_join(staff: Staff) -> None:
    pooled = _start(staff)
    with pytest.raises(NotFound):
        services.join(staff.outsider, pooled.id, 5_00)
    with pytest.raises(Forbidden, match="vous n'enseignez pas dans cet établissement"):
        services.start(
            staff.outsider,
            staff.atlas.id,
            deadline=_soon(),
            share_cents=1_00,
            school_id=staff.school.id,
        )
    assert services.of_my_schools(staff.outsider) == []
    assert [p.id for p in services.of_my_schools(staff.sacha)] == [pooled.id]


def test_one_open_pooled_purchase_per_product_and_school(staff: Staff) -> None:
    _start(staff)
    with pytest.raises(Conflict, match="déjà en cours dans votre établissement"):
        services.start(staff.dominique, staff.atlas.id, deadline=_soon(), share_cents=1_00)


def test_a_product_not_on_sale_in_a_school_plan_cannot_be_pooled(staff: Staff) -> None:
    from tests.orders.helpers import CLASS_AND_TEACHER_PLANS, on_sale

    lab = on_sale(staff.vendor, title="Laboratoire", plans=CLASS_AND_TEACHER_PLANS)
    with pytest.raises(DomainError, match="pas \\(ou plus\\) proposée en licence établissement"):
        services.start(staff.camille, lab.id, deadline=_soon(), share_cents=1_00)


def test_joining_twice_is_refused(staff: Staff) -> None:
    pooled = _start(staff)
    services.join(staff.dominique, pooled.id, 5_00)
    with pytest.raises(Conflict, match="Vous participez déjà"):
        services.join(staff.dominique, pooled.id, 5_00)
    assert pooled.collected_cents == 15_00


def test_a_share_is_withdrawn_once(staff: Staff) -> None:
    pooled = _start(staff)
    services.join(staff.dominique, pooled.id, 15_00)
    db.session.commit()
    assert credit_of(staff.dominique) == 85_00

    share = services.withdraw(staff.dominique, pooled.id)
    db.session.commit()
    assert share.withdrawn_at is not None
    assert share.refund_entry_id is not None
    assert credit_of(staff.dominique) == 100_00
    assert pooled.collected_cents == 10_00
    assert hold_balance(pooled) == 10_00
    with pytest.raises(Conflict, match="pas \\(ou plus\\) de participation"):
        services.withdraw(staff.dominique, pooled.id)
    assert_invariants()
    # and joins again, with another share
    services.join(staff.dominique, pooled.id, 5_00)
    assert pooled.collected_cents == 15_00
    assert_invariants()


def test_at_the_deadline_every_share_goes_back(staff: Staff) -> None:
    pooled = _start(staff)
    services.join(staff.dominique, pooled.id, 20_00)
    db.session.commit()
    after = pooled.deadline + timedelta(days=1)

    assert services.end_due(pooled.deadline) == services.Ended(0, 0)  # the last day still counts
    assert services.end_due(after) == services.Ended(1, 0)
    db.session.commit()

    assert pooled.status is PooledStatus.EXPIRED
    assert credit_of(staff.camille) == 100_00
    assert credit_of(staff.dominique) == 100_00
    assert _told("pooled_refunded") == {staff.camille.id, staff.dominique.id}
    assert_invariants()
    assert services.end_due(after) == services.Ended(0, 0)  # run again: nothing more
    with pytest.raises(Conflict, match="Cet achat groupé est terminé"):
        services.join(staff.sacha, pooled.id, 5_00)
    with pytest.raises(Conflict, match="ne peut plus être retirée"):
        services.withdraw(staff.camille, pooled.id)


def test_a_join_after_the_deadline_is_refused(staff: Staff) -> None:
    pooled = _start(staff)
    with pytest.raises(Conflict, match="la date limite est passée"):
        services.join(staff.sacha, pooled.id, 5_00, on=pooled.deadline + timedelta(days=1))


def test_a_new_price_cancels_the_purchase_and_gives_the_shares_back(staff: Staff) -> None:
    pooled = _start(staff)
    services.join(staff.dominique, pooled.id, 5_00)
    db.session.commit()

    approve_new_version(staff.atlas, [PlanDraft(PlanKind.SCHOOL, 50_00, 2000)])
    db.session.commit()

    assert pooled.status is PooledStatus.CANCELLED
    assert pooled.end_reason == (
        "Achat groupé annulé : le prix de la licence établissement a changé "
        "(40,00\u00a0€ → 50,00\u00a0€)."
    )
    assert credit_of(staff.camille) == 100_00
    assert credit_of(staff.dominique) == 100_00
    assert _told("pooled_refunded") == {staff.camille.id, staff.dominique.id}
    assert_invariants()


def test_a_new_version_at_the_same_price_keeps_it_open(staff: Staff) -> None:
    pooled = _start(staff)
    approve_new_version(staff.atlas, [PlanDraft(PlanKind.SCHOOL, 40_00, 2000)])
    db.session.commit()
    assert pooled.status is PooledStatus.OPEN
    services.join(staff.dominique, pooled.id, 30_00)
    assert pooled.status is PooledStatus.COMPLETED
    assert_invariants()


def test_suspending_the_vendor_cancels_it_at_once(staff: Staff) -> None:
    from app.vendors import services as vendors
    from tests import factories

    pooled = _start(staff)
    vendors.suspend(factories.with_role(factories.Role.ADMIN), staff.vendor, "Contrôle")
    db.session.commit()

    assert pooled.status is PooledStatus.CANCELLED
    assert "n'est plus proposée au catalogue" in (pooled.end_reason or "")
    assert credit_of(staff.camille) == 100_00
    assert_invariants()


def test_a_label_that_ends_cancels_it_at_the_next_join_or_hourly_task(staff: Staff) -> None:
    first = _start(staff)
    listed = staff.atlas.listed
    assert listed is not None
    listed.label_expires_on = services.today() - timedelta(days=1)  # nothing is called
    db.session.commit()

    assert services.join(staff.dominique, first.id, 5_00) is None  # cancelled instead
    db.session.commit()
    assert first.status is PooledStatus.CANCELLED
    assert credit_of(staff.dominique) == 100_00
    assert credit_of(staff.camille) == 100_00

    listed.label_expires_on = services.today() + timedelta(days=100)
    second = _start(staff)
    listed.label_expires_on = services.today() - timedelta(days=1)
    db.session.commit()
    assert services.end_due() == services.Ended(0, 1)
    assert second.status is PooledStatus.CANCELLED
    assert services.end_due() == services.Ended(0, 0)
    assert_invariants()


def test_closing_the_year_gives_the_shares_back_first(staff: Staff) -> None:
    pooled = _start(staff)
    services.join(staff.dominique, pooled.id, 20_00)
    db.session.commit()

    list(budgets.close_year(None, pooled.school_year_code))
    db.session.commit()

    assert pooled.status is PooledStatus.EXPIRED
    assert "Clôture de l'année scolaire" in (pooled.end_reason or "")
    assert hold_balance(pooled) == 0
    assert credit_of(staff.camille) == 0  # given back, then expired with the year
    assert budgets.pool_balance(staff.school.academy_code, pooled.school_year_code) >= 200_00
    assert_invariants()
