"""Where manual payouts go: a member of the vendor gives the bank details (IBAN and BIC
checked with python-stdnum), every change is audited and mailed to the vendor's team with
only the IBAN's last 4 characters; a manual run skips a vendor without valid bank details
and says why."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient

from app.accounts.models import User
from app.core import audit
from app.extensions import db
from app.payouts import services as payouts
from app.payouts.models import BankDetails
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.payouts.conftest import Market
from tests.payouts.helpers import buy, count, on_sale, paris, settle, visible_text
from tests.smtp import link as smtp_link
from tests.smtp import parts

IBAN = "FR76 3000 1007 9412 3456 7890 185"
IBAN_COMPACT = "FR7630001007941234567890185"


def test_a_member_gives_bank_details_checked_audited_and_mailed_to_the_team(
    client: FlaskClient, auth: AuthActions, mailbox: Mailbox, market: Market
) -> None:
    vendor = factories.VendorFactory(legal_name="Les Cartes du Ciel SAS")
    author = factories.vendor_member(vendor, name="Inès Martin", email="ines@cartes-ciel.fr")
    colleague = factories.vendor_member(vendor, name="Paul Roy", email="paul@cartes-ciel.fr")
    stranger = factories.vendor_member(market.sea, email="compta@editions-mer.fr")
    db.session.commit()
    auth.login(author.email)
    url = f"/editeur/{vendor.id}/coordonnees-bancaires"
    assert "Coordonnées bancaires" in visible_text(client.get(f"/editeur/{vendor.id}"))
    assert "Aucun compte enregistré" in visible_text(client.get(url))

    refused = client.post(
        url,
        data={"holder": "Les Cartes du Ciel", "iban": IBAN[:-1] + "4", "bic": "AGRIFRP"},
    )

    assert refused.status_code == 422
    page = visible_text(refused)
    assert "La clé de contrôle ne correspond pas : vérifiez chaque caractère." in page
    assert "Ce n'est pas un BIC" in page
    assert db.session.get(BankDetails, vendor.id) is None

    saved = client.post(
        url, data={"holder": " Les Cartes  du Ciel ", "iban": IBAN.lower(), "bic": "agrifrpp"}
    )

    assert saved.status_code == 302
    details = db.session.get(BankDetails, vendor.id)
    assert details is not None
    assert (details.holder, details.iban, details.bic) == (
        "Les Cartes du Ciel",
        IBAN_COMPACT,
        "AGRIFRPP",
    )
    [event] = audit.history("vendor", vendor.id)
    assert (event.action, event.actor_id) == ("payout.bank_details_changed", author.id)
    assert event.details["iban"] == IBAN_COMPACT
    page = visible_text(client.get(url))
    assert "FR76 •••• •••• •••• 0185" in page
    assert IBAN_COMPACT not in page
    assert "Modifié le" in page
    assert "par Inès Martin" in page

    inbox = mailbox.deliver()
    assert inbox.to(stranger.email) == []
    for member in (author, colleague):
        (message,) = inbox.to(member.email)
        assert message["Subject"] == "Coordonnées bancaires modifiées pour Les Cartes du Ciel SAS"
        text, html = parts(message)
        assert "Les coordonnées bancaires de l’entreprise Les Cartes du Ciel SAS" in text
        assert "ont été modifiées le" in text
        assert "par Inès Martin." in text
        assert "l’IBAN se termine par 0185" in text
        assert "Si ce n’est pas vous ni un collègue de votre équipe" in text
        for part in (text, html):
            assert IBAN_COMPACT not in part
            assert "30001007941234567890" not in part
        assert smtp_link(message, "/editeur/") == url

    # The same details again change nothing: no audit event, no mail.
    assert (
        client.post(
            url, data={"holder": "Les Cartes du Ciel", "iban": IBAN, "bic": "AGRIFRPP"}
        ).status_code
        == 302
    )
    assert len(audit.history("vendor", vendor.id)) == 1
    assert len(mailbox.deliver().to(colleague.email)) == 1


def test_only_the_vendors_own_members_see_and_change_its_bank_details(
    client: FlaskClient, auth: AuthActions, market: Market, admin: User
) -> None:
    outsider = factories.vendor_member(market.stars)
    db.session.commit()
    url = f"/editeur/{market.sea.id}/coordonnees-bancaires"
    assert client.get(url).status_code == 302  # to the login page

    for user in (outsider, admin, market.teacher):
        auth.login(user.email)
        assert client.get(url).status_code == 403
        data = {"holder": "Escroc", "iban": IBAN, "bic": "AGRIFRPP"}
        assert client.post(url, data=data).status_code == 403
        auth.logout()

    details = db.session.get(BankDetails, market.sea.id)
    assert details is not None
    assert details.holder == "Éditions de la Mer SAS"


def test_a_manual_run_skips_a_vendor_without_valid_bank_details_and_says_why(
    client: FlaskClient, auth: AuthActions, market: Market, admin: User
) -> None:
    invalid = factories.VendorFactory(legal_name="Ardoise Magique SARL")
    db.session.add(
        BankDetails(vendor_id=invalid.id, holder="Ardoise", iban="FR76300010079412", bic="X")
    )
    missing = db.session.get(BankDetails, market.stars.id)
    db.session.delete(missing)
    db.session.commit()
    buy(market.teacher, market.atlas, paris(2026, 9, 10))
    buy(market.teacher, market.planets, paris(2026, 9, 10))
    buy(market.teacher, on_sale(invalid, "Ardoise en classe", 12_00), paris(2026, 9, 10))
    auth.login(admin.email)

    summary = visible_text(client.post("/admin/versements", data={"until": "2026-09-30"}))
    assert "Éditions de la Mer SAS 40,00 € 0,00 € 40,00 €" in summary
    assert "Total 40,00 €" in summary
    assert "Ludo Sciences SAS : Coordonnées bancaires manquantes" in summary
    assert "Ardoise Magique SARL : Coordonnées bancaires invalides" in summary

    run = settle(date(2026, 9, 30), now=paris(2026, 10, 5))

    [payout] = run.payouts
    assert payout.vendor_id == market.sea.id
    assert run.skipped[str(market.stars.id)].startswith("Coordonnées bancaires manquantes")
    assert run.skipped[str(invalid.id)].startswith("Coordonnées bancaires invalides")
    page = visible_text(client.get(f"/admin/versements/reglements/{run.id}"))
    assert "Ludo Sciences SAS : Coordonnées bancaires manquantes : l'éditeur doit indiquer" in page
    assert "Ardoise Magique SARL : Coordonnées bancaires invalides" in page

    # The vendor is told on its payouts page, with the way to fix it.
    member = factories.vendor_member(market.stars)
    db.session.commit()
    auth.logout()
    auth.login(member.email)
    page = visible_text(client.get(f"/editeur/{market.stars.id}/versements"))
    assert "indiquez les coordonnées bancaires de votre entreprise" in page
    assert (
        f'href="/editeur/{market.stars.id}/coordonnees-bancaires"'
        in client.get(f"/editeur/{market.stars.id}/versements").text
    )

    # Once given, the next run pays what waited.
    payouts.save_bank_details(member, market.stars, "Ludo Sciences", IBAN, "AGRIFRPP")
    db.session.commit()
    [later] = settle(date(2026, 9, 30), now=paris(2026, 10, 6)).payouts
    assert (later.vendor_id, later.amount_cents) == (market.stars.id, 25_00)
    assert count(BankDetails) == 3
