"""Settlement with the manual gateway: each settled order line paid once, after the
withdrawal period and up to the cut-off; refunds after a payout deducted from the next
one; a vendor owing more than it earned paid nothing until it is positive again."""

from __future__ import annotations

from datetime import date

import pytest

from app.ledger.models import EntryKind, JournalEntry
from app.payouts import services as payouts
from app.payouts.models import Payout, PayoutLine, PayoutStatus, SettlementRun
from app.payouts.services import NothingToPay
from tests.payouts.conftest import Market
from tests.payouts.helpers import (
    assert_books_agree,
    buy,
    cancel,
    count,
    entries,
    paid,
    paid_lines,
    paris,
    payable,
    payouts_of,
    settle,
)


def footprint() -> dict[str, int]:
    return {
        "entries": count(JournalEntry),
        "payouts": count(Payout),
        "payout_lines": count(PayoutLine),
    }


def test_a_run_pays_each_vendor_its_settled_sales_and_a_rerun_pays_nothing(
    market: Market,
) -> None:
    atlas = buy(market.teacher, market.atlas, paris(2026, 9, 10))
    lab = buy(market.teacher, market.lab, paris(2026, 9, 12))
    planets = buy(market.teacher, market.planets, paris(2026, 9, 15))

    run = settle(date(2026, 9, 30), now=paris(2026, 10, 5))

    [sea] = payouts_of(market.sea)
    assert (sea.sales_cents, sea.deductions_cents, sea.amount_cents) == (100_00, 0, 100_00)
    assert paid_lines(sea) == [("sale", atlas.id, 40_00), ("sale", lab.id, 60_00)]
    assert (sea.status, sea.gateway, sea.transfer_id) == (
        PayoutStatus.TRANSFERRED,
        "manual",
        f"manuel-{sea.id}",
    )
    [stars] = payouts_of(market.stars)
    assert paid_lines(stars) == [("sale", planets.id, 25_00)]
    assert [p.id for p in run.payouts] == [sea.id, stars.id]
    assert run.skipped == {}
    assert run.finished_at is not None
    assert (payable(market.sea), paid(market.sea)) == (0, 100_00)
    assert (payable(market.stars), paid(market.stars)) == (0, 25_00)
    assert entries(EntryKind.PAYOUT) == 2
    assert_books_agree(sea)
    assert_books_agree(stars)

    before = footprint()
    with pytest.raises(NothingToPay, match="Rien à payer pour les ventes jusqu'au 30/09/2026"):
        settle(date(2026, 9, 30), now=paris(2026, 10, 6))
    with pytest.raises(NothingToPay):
        settle(date(2026, 10, 31), now=paris(2026, 11, 20))

    assert footprint() == before
    assert count(SettlementRun) == 1  # no empty run written
    assert (payable(market.sea), paid(market.sea)) == (0, 100_00)


def test_only_lines_bought_by_the_cut_off_paris_time_and_past_withdrawal_are_paid(
    market: Market,
) -> None:
    early = buy(market.teacher, market.atlas, paris(2026, 9, 10))
    last_evening = buy(market.teacher, market.atlas, paris(2026, 9, 30, 23, 30))
    after_midnight = buy(market.teacher, market.atlas, paris(2026, 10, 1, 0, 30))
    recent = buy(market.teacher, market.lab, paris(2026, 10, 10))

    september = settle(date(2026, 9, 30), now=paris(2026, 10, 20))

    [first] = september.payouts
    assert paid_lines(first) == [("sale", early.id, 40_00), ("sale", last_evening.id, 40_00)]
    assert_books_agree(first)

    # Settled on 20 October: the line of the 10th is still in its withdrawal period.
    october = settle(date(2026, 10, 20), now=paris(2026, 10, 20))

    [second] = october.payouts
    assert paid_lines(second) == [("sale", after_midnight.id, 40_00)]
    assert payable(market.sea) == 60_00  # the recent line, still owed

    # Fourteen days after the order, to the minute.
    not_yet = payouts.preview(date(2026, 10, 24), now=paris(2026, 10, 24, 9, 59))
    assert not_yet.nothing_to_pay
    assert "rétractation" in dict(not_yet.skipped)[market.sea]
    with pytest.raises(NothingToPay):
        settle(date(2026, 10, 24), now=paris(2026, 10, 24, 9, 59))
    settled = settle(date(2026, 10, 24), now=paris(2026, 10, 24, 10, 0))

    [third] = settled.payouts
    assert paid_lines(third) == [("sale", recent.id, 60_00)]
    assert (payable(market.sea), paid(market.sea)) == (0, 180_00)
    assert_books_agree(third)


def test_a_vendor_not_paid_is_told_the_true_reason(market: Market) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 10, 10))
    settle(date(2026, 9, 30), now=paris(2026, 10, 5))
    buy(market.teacher, market.atlas, paris(2026, 10, 20))

    again = payouts.preview(date(2026, 9, 30), now=paris(2026, 10, 25))
    waiting = payouts.preview(date(2026, 10, 20), now=paris(2026, 10, 25))

    assert dict(again.skipped) == {
        market.sea: "Déjà payé jusqu'à cette date.",
        market.stars: "Aucune vente jusqu'au 30/09/2026.",
    }
    assert again.nothing_to_pay_message.startswith(
        "Rien à payer pour les ventes jusqu'au 30/09/2026 : aucune vente réglée n'attend"
    )
    assert dict(waiting.skipped)[market.sea] == (
        "Ventes encore dans le délai de rétractation (réglables à partir du 03/11/2026)."
    )
    assert [due.vendor for due in waiting.due] == [market.stars]


def test_a_line_cancelled_before_payout_is_neither_paid_nor_deducted(market: Market) -> None:
    kept = buy(market.teacher, market.atlas, paris(2026, 9, 10))
    cancelled = buy(market.teacher, market.lab, paris(2026, 9, 10))
    cancel(cancelled, on=date(2026, 9, 12))

    run = settle(date(2026, 9, 30), now=paris(2026, 10, 5))

    [payout] = run.payouts
    assert paid_lines(payout) == [("sale", kept.id, 40_00)]
    assert (payout.sales_cents, payout.deductions_cents, payout.amount_cents) == (40_00, 0, 40_00)
    assert (payable(market.sea), paid(market.sea)) == (0, 40_00)
    assert_books_agree(payout)
    with pytest.raises(NothingToPay):
        settle(date(2026, 10, 31), now=paris(2026, 11, 20))
    assert count(PayoutLine, PayoutLine.order_line_id == cancelled.id) == 0


def test_a_refund_after_payout_is_deducted_from_the_next_payout(market: Market) -> None:
    refunded = buy(market.teacher, market.atlas, paris(2026, 9, 10))
    # Paid on the 14th day after the order, when the teacher may still cancel.
    first = settle(date(2026, 9, 24), now=paris(2026, 9, 24, 12, 0))
    cancel(refunded, on=date(2026, 9, 24))
    assert (payable(market.sea), paid(market.sea)) == (-40_00, 40_00)  # the vendor owes 40 €
    sold = buy(market.teacher, market.lab, paris(2026, 10, 1))

    second = settle(date(2026, 10, 31), now=paris(2026, 11, 1))

    [paid_first] = first.payouts
    [payout] = second.payouts
    assert (payout.sales_cents, payout.deductions_cents, payout.amount_cents) == (
        60_00,
        40_00,
        20_00,
    )
    assert paid_lines(payout) == [("sale", sold.id, 60_00), ("refund", refunded.id, -40_00)]
    assert (payable(market.sea), paid(market.sea)) == (0, 60_00)
    assert_books_agree(paid_first)
    assert_books_agree(payout)

    # The refund is deducted once.
    buy(market.teacher, market.atlas, paris(2026, 11, 2))
    [third] = settle(date(2026, 11, 30), now=paris(2026, 12, 1)).payouts
    assert (third.sales_cents, third.deductions_cents, third.amount_cents) == (40_00, 0, 40_00)


def test_a_vendor_owing_more_than_it_earned_is_paid_nothing_until_positive_again(
    market: Market,
) -> None:
    refunded = buy(market.teacher, market.lab, paris(2026, 9, 10))
    settle(date(2026, 9, 24), now=paris(2026, 9, 24, 12, 0))
    cancel(refunded, on=date(2026, 9, 24))
    october = buy(market.teacher, market.atlas, paris(2026, 10, 1))
    entries_before = count(JournalEntry)

    negative = payouts.preview(date(2026, 10, 31), now=paris(2026, 11, 1))
    with pytest.raises(NothingToPay):
        settle(date(2026, 10, 31), now=paris(2026, 11, 1))

    assert negative.nothing_to_pay
    reason = dict(negative.skipped)[market.sea]
    assert "Solde négatif ou nul (-20,00 €)" in reason
    assert "rien n'est versé" in reason
    assert count(JournalEntry) == entries_before
    assert payable(market.sea) == -20_00
    assert count(PayoutLine, PayoutLine.order_line_id == october.id) == 0

    november = buy(market.teacher, market.atlas, paris(2026, 11, 5))
    positive = settle(date(2026, 11, 30), now=paris(2026, 12, 1))

    [payout] = positive.payouts
    assert paid_lines(payout) == [
        ("sale", october.id, 40_00),
        ("sale", november.id, 40_00),
        ("refund", refunded.id, -60_00),
    ]
    assert payout.amount_cents == 20_00
    assert (payable(market.sea), paid(market.sea)) == (0, 80_00)
    assert_books_agree(payout)
