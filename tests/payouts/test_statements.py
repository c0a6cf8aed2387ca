"""Statements and reconciliation: the PDF statement lists what was paid, its totals equal
the ledger's, and `reconcile()` matches ledger, gateway and statements — or lists where
they differ."""

from __future__ import annotations

from datetime import date, timedelta

from flask.testing import FlaskClient

from app.core import storage
from app.extensions import db
from app.payouts import services as payouts
from app.payouts.models import PayoutStatus
from tests import factories
from tests.conftest import AuthActions
from tests.documents.tagged import assert_tagged
from tests.helpers import pdf_text
from tests.payouts.conftest import Market, connect
from tests.payouts.helpers import (
    assert_books_agree,
    buy,
    cancel,
    euros,
    paris,
    settle,
    today_in_paris,
)
from tests.payouts.stripe_transport import StripeTransport


def recent() -> tuple[date, date]:
    """A period holding every payout made by the test (payouts are dated when made)."""
    today = today_in_paris()
    return today - timedelta(days=1), today + timedelta(days=1)


def test_the_statement_lists_each_line_with_its_order_school_product_and_amount(
    market: Market, client: FlaskClient, auth: AuthActions
) -> None:
    refunded = buy(market.teacher, market.atlas, paris(2026, 9, 10))
    settle(date(2026, 9, 24), now=paris(2026, 9, 24, 12, 0))
    cancel(refunded, on=date(2026, 9, 24))
    lab = buy(market.teacher, market.lab, paris(2026, 10, 1))
    atlas = buy(market.teacher, market.atlas, paris(2026, 10, 2))
    [payout] = settle(date(2026, 10, 31), now=paris(2026, 11, 1)).payouts
    member = factories.vendor_member(market.sea)
    db.session.commit()
    auth.login(member.email)

    response = client.get(f"/editeur/{market.sea.id}/versements/{payout.id}/releve.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f"releve-{payout.number}.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert f"Relevé du versement {payout.number}" in text
    assert "Éditeur : Éditions de la Mer SAS" in text
    uai = market.school.uai
    for line, day, amount in [
        (lab, "1 octobre 2026", 60_00),
        (atlas, "2 octobre 2026", 40_00),
        (refunded, "10 septembre 2026", -40_00),
    ]:
        row = f"{line.order.number} {day} {uai} {line.title} Licence établissement {euros(amount)}"
        assert row in text
    assert f"Total des ventes {euros(100_00)}" in text
    assert f"Total déduit -{euros(40_00)}" in text
    assert f"Montant versé {euros(60_00)}" in text
    assert_books_agree(payout)


def test_the_statement_is_rendered_once_and_kept(market: Market) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    [payout] = settle(date(2026, 9, 30), now=paris(2026, 10, 5)).payouts

    key = payout.statement_key  # rendered when the transfer went through

    assert key is not None
    assert payouts.statement_key(payout) == key
    assert storage.read(key).startswith(b"%PDF")


def test_the_statement_is_a_tagged_pdf_in_french_with_its_title(market: Market) -> None:
    refunded = buy(market.teacher, market.atlas, paris(2026, 9, 10))
    settle(date(2026, 9, 24), now=paris(2026, 9, 24, 12, 0))
    cancel(refunded, on=date(2026, 9, 24))
    buy(market.teacher, market.lab, paris(2026, 10, 1))
    [payout] = settle(date(2026, 10, 31), now=paris(2026, 11, 1)).payouts

    pdf = storage.read(payouts.statement_key(payout))

    kinds = assert_tagged(pdf, title=f"Relevé du versement {payout.number}")
    assert kinds.count("H2") == 2  # the sales, the deductions
    assert kinds.count("Table") == 3


def test_statement_totals_equal_the_ledger_over_several_runs(market: Market) -> None:
    refunded = buy(market.teacher, market.lab, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 9, 10))
    settle(date(2026, 9, 24), now=paris(2026, 9, 24, 12, 0))
    cancel(refunded, on=date(2026, 9, 24))
    for day in (1, 2, 3):
        buy(market.teacher, market.atlas, paris(2026, 10, day))
    buy(market.teacher, market.planets, paris(2026, 10, 4))
    settle(date(2026, 10, 31), now=paris(2026, 11, 1))

    report = payouts.reconcile(*recent())

    assert len(report.lines) == 4
    for line in report.lines:
        assert line.differences == []
        assert line.ledger_cents == line.statement_cents == line.payout.amount_cents
        assert_books_agree(line.payout)
    assert report.ok
    assert report.ledger_total_cents == report.payouts_total_cents == 60_00 + 25_00 + 60_00 + 25_00
    assert report.transferred_total_cents == report.statements_total_cents == 170_00


def test_reconciliation_lists_a_payout_left_not_transferred(
    market: Market, stripe_api: StripeTransport
) -> None:
    connect(market.sea)
    connect(market.stars)
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 9, 10))
    stripe_api.refuse("POST", "/v1/transfers", "Your card was declined.", status=402)
    settle(date(2026, 9, 30), now=paris(2026, 10, 5))

    report = payouts.reconcile(*recent())

    assert not report.ok
    failed, transferred = report.lines
    assert failed.payout.status is PayoutStatus.FAILED
    assert failed.differences == ["virement non effectué"]
    assert (failed.ledger_cents, failed.transferred_cents, failed.statement_cents) == (
        40_00,
        0,
        40_00,
    )
    assert transferred.differences == []
    assert report.ledger_total_cents == 65_00
    assert report.transferred_total_cents == 25_00

    # The next run transfers it: the books agree again.
    settle(date(2026, 9, 30), now=paris(2026, 10, 6))
    assert payouts.reconcile(*recent()).ok


def test_reconciliation_lists_tampered_payouts(market: Market) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.lab, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 9, 10))
    sea, stars = settle(date(2026, 9, 30), now=paris(2026, 10, 5)).payouts
    assert payouts.reconcile(*recent()).ok

    sea.status = PayoutStatus.PENDING  # marked as not transferred behind the books' back
    stars.lines[0].amount_cents = 24_00  # a statement line altered
    db.session.flush()

    report = payouts.reconcile(*recent())

    assert not report.ok
    assert [line.differences for line in report.lines] == [
        ["virement non effectué"],
        ["grand livre ≠ relevé"],
    ]
    assert report.statements_total_cents == 100_00 + 24_00
