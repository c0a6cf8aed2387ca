"""A pooled purchase in the academy's figures: the shares reserved in an open purchase are
still the teachers' unspent credit (« Restant »), a completed purchase is spending, the
same on the academy's budget page, the dashboards' summary and the fundings' overview."""

from __future__ import annotations

from datetime import timedelta

from app.budgets import services as budgets
from app.extensions import db
from app.pooled_purchases import services
from app.pooled_purchases.models import PooledStatus
from app.reporting import services as reporting
from tests.orders.helpers import on_sale, school_year
from tests.pooled_purchases.conftest import Staff
from tests.pooled_purchases.helpers import assert_invariants

PARIS = "01"


def figures(year: str) -> tuple[int, int, int, int]:
    """(spent, teachers' unspent, « Restant ») from the budget page, checked against the
    dashboards' summary and the fundings' overview, and the received."""
    summary = budgets.budget_summary(PARIS, year)
    reporting.refresh(year)
    dash = reporting.dashboard(year, PARIS, primary=True)
    overview = next(row for row in budgets.funding_overview(year) if row.academy.code == PARIS)
    remaining = budgets.remaining_cents(summary.pool_cents, summary.teachers_cents)
    assert dash.ledger["spent"] == summary.spent_cents
    assert dash.ledger["teachers"] == summary.teachers_cents
    assert dash.remaining_cents == remaining == overview.remaining_cents
    return summary.spent_cents, summary.teachers_cents, remaining, summary.received_cents


def test_reserved_shares_stay_unspent_and_a_completed_purchase_is_spent(staff: Staff) -> None:
    year = school_year()
    spent, teachers, remaining, received = figures(year)
    deadline = services.today() + timedelta(days=10)
    globe = on_sale(staff.vendor, title="Globe interactif")

    completed = services.start(staff.camille, staff.atlas.id, deadline=deadline, share_cents=15_00)
    services.join(staff.dominique, completed.id, 25_00)  # 40 €: the price
    still_open = services.start(staff.sacha, globe.id, deadline=deadline, share_cents=10_00)
    db.session.commit()
    assert completed.status is PooledStatus.COMPLETED
    assert still_open.status is PooledStatus.OPEN
    assert_invariants()

    # The 10 € reserved by Sacha are still the teachers' money; the 40 € paid are spent.
    assert figures(year) == (spent + 40_00, teachers - 40_00, remaining - 40_00, received)

    services.expire(still_open, on=deadline + timedelta(days=1))
    db.session.commit()
    assert figures(year) == (spent + 40_00, teachers - 40_00, remaining - 40_00, received)


def test_every_teacher_who_paid_a_share_counts_as_a_buyer(staff: Staff) -> None:
    """The order of a pooled purchase names one teacher; the dashboards' « enseignants
    ayant acheté » count each who paid a share, once, and not one who took theirs back."""
    year = school_year()
    reporting.refresh(year)
    before = [reporting.dashboard(year, code, primary=True).buyers for code in (PARIS, "*")]
    deadline = services.today() + timedelta(days=10)

    pooled = services.start(staff.camille, staff.atlas.id, deadline=deadline, share_cents=15_00)
    services.join(staff.sacha, pooled.id, 5_00)
    services.withdraw(staff.sacha, pooled.id)  # took the 5 € back: not a buyer
    services.join(staff.dominique, pooled.id, 25_00)  # 40 €: the price
    db.session.commit()
    assert pooled.status is PooledStatus.COMPLETED

    reporting.refresh(year)
    after = [reporting.dashboard(year, code, primary=True).buyers for code in (PARIS, "*")]
    assert after == [before[0] + 2, before[1] + 2]  # the academy's, the country's
