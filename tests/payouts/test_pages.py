"""Who sees what: a vendor its own payouts and statements only; the operator's settlement
pages, reconciliation and CSV export for admins only; `flask payouts run` on the command
line, safe to run again."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core import audit, dates
from app.extensions import db
from app.payouts.models import Payout, PayoutStatus, SettlementRun
from tests import factories
from tests.conftest import AuthActions
from tests.payouts.conftest import Market
from tests.payouts.helpers import (
    buy,
    count,
    paid,
    paris,
    payouts_of,
    settle,
    today_in_paris,
    visible_text,
)


@pytest.fixture
def both_paid(market: Market) -> tuple[Payout, Payout]:
    """One payout to each vendor: 100 € to the sea vendor, 25 € to the stars vendor."""
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.lab, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 9, 10))
    sea, stars = settle(date(2026, 9, 30), now=paris(2026, 10, 5)).payouts
    return sea, stars


def log_in_member_of(market: Market, auth: AuthActions) -> None:
    member = factories.vendor_member(market.sea)
    db.session.commit()
    auth.login(member.email)


# --- the vendor ------------------------------------------------------------------------


def test_a_vendor_sees_its_own_payouts_only(
    market: Market, both_paid: tuple[Payout, Payout], client: FlaskClient, auth: AuthActions
) -> None:
    sea, stars = both_paid
    log_in_member_of(market, auth)

    page = visible_text(client.get(f"/editeur/{market.sea.id}/versements"))

    assert sea.number in page
    assert stars.number not in page
    assert "100,00 €" in page
    assert "Enregistré, virement manuel" in page
    assert client.get(f"/editeur/{market.stars.id}/versements").status_code == 403


def test_a_vendor_downloads_its_own_statements_only(
    market: Market, both_paid: tuple[Payout, Payout], client: FlaskClient, auth: AuthActions
) -> None:
    sea, stars = both_paid
    log_in_member_of(market, auth)
    own = f"/editeur/{market.sea.id}/versements"
    other = f"/editeur/{market.stars.id}/versements"

    assert client.get(f"{own}/{sea.id}/releve.pdf").status_code == 200
    assert client.get(f"{own}/{stars.id}/releve.pdf").status_code == 404
    assert client.get(f"{own}/999999/releve.pdf").status_code == 404
    assert client.get(f"{other}/{stars.id}/releve.pdf").status_code == 403


def test_the_vendor_pages_need_a_login(market: Market, client: FlaskClient) -> None:
    response = client.get(f"/editeur/{market.sea.id}/versements")

    assert response.status_code == 302
    assert "/connexion" in response.location


# --- the operator ----------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin/versements",
    "/admin/versements/reglements/{run}",
    "/admin/versements/rapprochement",
    "/admin/versements/a-payer.csv",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_the_operator_pages_are_for_admins_only(
    market: Market,
    both_paid: tuple[Payout, Payout],
    admin: User,
    client: FlaskClient,
    auth: AuthActions,
    url: str,
) -> None:
    url = url.format(run=both_paid[0].run_id)
    member = factories.vendor_member(market.sea)
    reviewer = factories.with_role(Role.REVIEWER)
    manager = factories.academy_manager("01")
    db.session.commit()

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert "/connexion" in anonymous.location
    for user in (market.teacher, member, reviewer, manager):
        auth.login(user.email)
        assert client.get(url).status_code == 403, user.email
        auth.logout()
    auth.login(admin.email)
    assert client.get(url).status_code == 200


def test_a_settlement_cannot_be_started_but_by_an_admin(
    market: Market, client: FlaskClient, auth: AuthActions
) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    log_in_member_of(market, auth)

    response = client.post("/admin/versements", data={"until": "2026-09-30"})

    assert response.status_code == 403
    assert count(SettlementRun) == 0


def confirmation_of(summary: Any) -> str:
    """The fingerprint the summary page asks to confirm (its hidden field)."""
    found = re.search(r'name="confirmed" type="hidden" value="([0-9a-f]+)"', summary.text)
    assert found is not None, summary.text
    return found.group(1)


def test_the_admin_confirms_a_summary_then_runs_the_settlement_and_reads_it(
    market: Market, admin: User, client: FlaskClient, auth: AuthActions
) -> None:
    today = today_in_paris()
    settled = buy(market.teacher, market.atlas, paris(2026, 9, 10))
    waiting = buy(market.teacher, market.planets, paris(today.year, today.month, today.day))
    auth.login(admin.email)

    summary = client.post("/admin/versements", data={"until": today.isoformat()})

    assert summary.status_code == 200
    assert count(SettlementRun) == 0
    assert count(Payout) == 0
    shown = visible_text(summary)
    assert "Rien n’est encore payé." in shown
    assert "Éditions de la Mer SAS 40,00 € 0,00 € 40,00 €" in shown
    assert "Total 40,00 €" in shown
    assert (
        "Ludo Sciences SAS : Ventes encore dans le délai de rétractation (réglables à partir du"
        in shown
    )
    assert "Confirmer le paiement" in shown

    response = client.post(
        "/admin/versements",
        data={"until": today.isoformat(), "confirmed": confirmation_of(summary)},
    )

    [run] = db.session.query(SettlementRun).all()
    assert response.status_code == 302
    assert response.location == f"/admin/versements/reglements/{run.id}"
    [payout] = run.payouts
    assert (payout.vendor_id, payout.amount_cents) == (market.sea.id, settled.price_cents)
    page = visible_text(client.get(response.location))
    assert f"Règlement {run.id} terminé." in page
    assert f"{payout.number} Éditions de la Mer SAS 40,00 € 0,00 € 40,00 €" in page
    assert "Éditeurs non payés" in page
    assert (
        "Ludo Sciences SAS : Ventes encore dans le délai de rétractation (réglables à partir du"
        in page
    )
    assert waiting.id not in {line.order_line_id for line in payout.lines}
    listing = visible_text(client.get("/admin/versements"))
    assert "Mode de versement : virement manuel par l’agence comptable." in listing
    assert "1 40,00 € 1" in listing  # one payout, its total, one vendor not paid

    # The same date again: nothing is due, it says so and no (empty) run is written.
    again = client.post("/admin/versements", data={"until": today.isoformat()})

    assert again.status_code == 200
    assert "Rien à payer pour les ventes jusqu'au" in visible_text(again)
    assert "Confirmer le paiement" not in visible_text(again)
    assert count(SettlementRun) == 1
    assert payouts_of(market.sea) == [payout]


def test_a_settlement_after_today_is_refused_and_writes_nothing(
    market: Market, admin: User, client: FlaskClient, auth: AuthActions
) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    tomorrow = (today_in_paris() + timedelta(days=1)).isoformat()
    auth.login(admin.email)

    summary = client.post("/admin/versements", data={"until": tomorrow})
    confirmed = client.post("/admin/versements", data={"until": tomorrow, "confirmed": "x"})

    for response in (summary, confirmed):
        assert response.status_code == 422
        assert "La date ne peut pas être après aujourd'hui" in visible_text(response)
    assert count(SettlementRun) == 0
    assert count(Payout) == 0


def test_a_summary_that_changed_before_it_was_confirmed_is_shown_again(
    market: Market, admin: User, client: FlaskClient, auth: AuthActions
) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    auth.login(admin.email)
    summary = client.post("/admin/versements", data={"until": "2026-09-30"})
    buy(market.teacher, market.planets, paris(2026, 9, 10))  # a sale settles meanwhile

    response = client.post(
        "/admin/versements", data={"until": "2026-09-30", "confirmed": confirmation_of(summary)}
    )

    assert response.status_code == 200
    page = visible_text(response)
    assert "Les montants ont changé depuis le récapitulatif" in page
    assert "Ludo Sciences SAS 25,00 € 0,00 € 25,00 €" in page
    assert "Total 65,00 €" in page
    assert count(SettlementRun) == 0


def test_a_settlement_without_a_date_is_refused(
    admin: User, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(admin.email)

    response = client.post("/admin/versements", data={"until": ""})

    assert response.status_code == 422
    assert "Indiquez la date limite." in visible_text(response)
    assert count(SettlementRun) == 0


def test_the_export_of_payouts_to_pay_is_a_french_excel_csv(
    market: Market,
    both_paid: tuple[Payout, Payout],
    admin: User,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    sea, stars = both_paid
    auth.login(admin.email)

    response = client.get("/admin/versements/a-payer.csv")

    assert response.mimetype == "text/csv"
    assert "versements-a-payer.csv" in response.headers["Content-Disposition"]
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    made_on = dates.local_date(sea.created_at).isoformat()
    assert rows == [
        [
            "Versement",
            "Date",
            "Éditeur",
            "SIRET",
            "Titulaire du compte",
            "IBAN",
            "BIC",
            "Montant (€)",
        ],
        [
            sea.number,
            made_on,
            "Éditions de la Mer SAS",
            market.sea.siret,
            "Éditions de la Mer SAS",
            "FR7630006000011234567890189",
            "AGRIFRPP",
            "100,00",
        ],
        [
            stars.number,
            made_on,
            "Ludo Sciences SAS",
            market.stars.siret,
            "Ludo Sciences SAS",
            "FR1420041010050500013M02606",
            "PSSTFRPPPAR",
            "25,00",
        ],
    ]
    # the identifiers quoted (kept as text on import), the amount a number
    assert (
        f'"{sea.number}";{made_on};Éditions de la Mer SAS;"{market.sea.siret}";'
        'Éditions de la Mer SAS;"FR7630006000011234567890189";"AGRIFRPP";100,00\r\n'
    ) in body


def test_the_accounting_office_marks_a_manual_payout_paid_and_it_leaves_the_csv(
    market: Market,
    both_paid: tuple[Payout, Payout],
    admin: User,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    sea, stars = both_paid
    url = f"/admin/versements/{sea.id}/paye"
    log_in_member_of(market, auth)
    assert client.post(url, data={"bank_reference": "VIR-1"}).status_code == 403
    auth.logout()
    auth.login(admin.email)
    run_page = f"/admin/versements/reglements/{sea.run_id}"
    assert visible_text(client.get(run_page)).count("Marquer comme payé") == 2

    empty = client.post(url, data={"bank_reference": "  "}, follow_redirects=True)

    assert "Indiquez la référence du virement donnée par la banque." in visible_text(empty)
    assert sea.paid_at is None

    response = client.post(url, data={"bank_reference": " VIR 2026-10-0001 "})

    assert response.status_code == 302
    assert response.location == run_page
    db.session.refresh(sea)
    assert sea.bank_reference == "VIR 2026-10-0001"
    assert sea.paid_at is not None
    assert sea.paid_by == admin.id
    [event] = [e for e in audit.history("payout", sea.id) if e.action == "payout.marked_paid"]
    assert event.actor_id == admin.id
    assert event.details["bank_reference"] == "VIR 2026-10-0001"
    assert event.details["iban"] == "FR7630006000011234567890189"
    page = visible_text(client.get(run_page))
    assert "Payé par virement" in page
    assert "référence VIR 2026-10-0001" in page
    assert page.count("Marquer comme payé") == 1
    body = client.get("/admin/versements/a-payer.csv").data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert [row[0] for row in rows[1:]] == [stars.number]

    again = client.post(url, data={"bank_reference": "VIR-AUTRE"}, follow_redirects=True)

    assert f"Le versement {sea.number} est déjà marqué payé" in visible_text(again)
    db.session.refresh(sea)
    assert sea.bank_reference == "VIR 2026-10-0001"


def test_the_reconciliation_page_shows_agreement_then_differences(
    market: Market,
    both_paid: tuple[Payout, Payout],
    admin: User,
    client: FlaskClient,
    auth: AuthActions,
) -> None:
    sea, _stars = both_paid
    auth.login(admin.email)
    today = today_in_paris()
    period = f"?du={(today - timedelta(days=1)).isoformat()}&au={(today + timedelta(days=1))}"

    page = visible_text(client.get(f"/admin/versements/rapprochement{period}"))

    assert "Grand livre, virements et relevés concordent." in page
    assert "Grand livre (écritures de versement de la période) 125,00 €" in page

    sea.status = PayoutStatus.FAILED
    db.session.commit()
    page = visible_text(client.get(f"/admin/versements/rapprochement{period}"))

    assert "Des écarts sont listés ci-dessous." in page
    assert "virement non effectué" in page


# --- the command line ------------------------------------------------------------------


def test_flask_payouts_run_prints_progress_and_is_safe_to_run_again(
    app: Flask, market: Market
) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 9, 10))
    runner = app.test_cli_runner()

    first = runner.invoke(args=["payouts", "run", "--until", "2026-09-30"])

    assert first.exit_code == 0, first.output
    sea, stars = (payouts_of(market.sea)[0], payouts_of(market.stars)[0])
    output = first.output.replace("\u202f", " ").replace("\xa0", " ")
    assert "Éditions de la Mer SAS : 40,00 € (En attente de virement)" in output
    assert "Éditions de la Mer SAS : 40,00 € (Enregistré, virement manuel)" in output
    assert "Ludo Sciences SAS : 25,00 € (Enregistré, virement manuel)" in output
    run_id = sea.run_id
    assert f"Règlement {run_id} terminé." in output
    assert (paid(market.sea), paid(market.stars)) == (40_00, 25_00)

    again = runner.invoke(args=["payouts", "run", "--until", "2026-09-30"])

    assert again.exit_code == 0, again.output
    assert "Rien à payer pour les ventes jusqu'au 30/09/2026" in again.output
    assert "Aucun règlement n'a été enregistré." in again.output
    assert "€" not in again.output
    assert count(SettlementRun) == 1
    assert count(Payout) == 2
    assert (paid(market.sea), paid(market.stars)) == (40_00, 25_00)
    assert stars.status is PayoutStatus.TRANSFERRED


def test_flask_payouts_run_refuses_a_malformed_date(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["payouts", "run", "--until", "30/09/2026"])

    assert result.exit_code != 0
    assert "--until" in result.output
    assert count(SettlementRun) == 0


def test_flask_payouts_run_refuses_a_date_after_today(app: Flask, market: Market) -> None:
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    tomorrow = (today_in_paris() + timedelta(days=1)).isoformat()

    result = app.test_cli_runner().invoke(args=["payouts", "run", "--until", tomorrow])

    assert result.exit_code != 0
    assert "--until" in result.output
    assert "La date ne peut pas être après aujourd'hui" in result.output
    assert count(SettlementRun) == 0
    assert count(Payout) == 0
