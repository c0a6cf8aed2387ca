"""The pages of pooled purchases, through the test client: the product page's offer, the
start form, joining with an amount typed the French way, refusals naming the field, the
withdrawal, the list of the school's, and the statements a join sends."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from app.extensions import db
from app.ledger import services as ledger
from app.orders.models import Order
from app.pooled_purchases import services
from app.pooled_purchases.models import PooledPurchase, PooledShare, PooledStatus
from tests.conftest import AuthActions
from tests.documents.tagged import assert_tagged
from tests.helpers import count_statements, pdf_text
from tests.orders.helpers import count, credit_of, visible_text
from tests.pooled_purchases.conftest import Staff
from tests.pooled_purchases.helpers import assert_invariants


def _start(staff: Staff, cents: int = 10_00) -> PooledPurchase:
    deadline = services.today() + timedelta(days=10)
    pooled = services.start(staff.camille, staff.atlas.id, deadline=deadline, share_cents=cents)
    db.session.commit()
    return pooled


def _bought_together(staff: Staff) -> PooledPurchase:
    """Camille starts with 15 €, Dominique puts in the last 25 €: the 40 € licence is bought."""
    pooled = _start(staff, 15_00)
    services.join(staff.dominique, pooled.id, 25_00)
    db.session.commit()
    assert pooled.order_id is not None
    return pooled


def test_the_product_page_offers_to_start_then_to_join(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    auth.login(staff.camille.email)
    page = visible_text(client.get(f"/catalogue/{staff.atlas.id}"))
    assert "Lancer un achat groupé" in page

    response = client.post(
        f"/achats-groupes/lancer/{staff.atlas.id}",
        data={
            "school": str(staff.school.id),
            "deadline": (services.today() + timedelta(days=10)).isoformat(),
            "amount": "12,50",
        },
    )
    assert response.status_code == 302
    pooled = db.session.query(PooledPurchase).one()
    assert pooled.collected_cents == 12_50
    assert credit_of(staff.camille) == 87_50

    page = visible_text(client.get(f"/catalogue/{staff.atlas.id}"))
    assert "12,50 € réunis sur 40,00 €" in page
    assert "Participer" in page
    assert "1 participant" in page


def test_a_start_too_far_away_is_refused_naming_the_deadline(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    auth.login(staff.camille.email)
    response = client.post(
        f"/achats-groupes/lancer/{staff.atlas.id}",
        data={
            "school": str(staff.school.id),
            "deadline": (services.today() + timedelta(days=45)).isoformat(),
            "amount": "10",
        },
    )
    assert response.status_code == 422
    assert "Date limite : au plus 30 jours après aujourd'hui" in visible_text(response)
    assert count(PooledPurchase) == 0


def test_a_teacher_joins_with_an_amount_in_french_and_withdraws(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _start(staff)
    auth.login(staff.dominique.email)
    response = client.post(f"/achats-groupes/{pooled.id}/participer", data={"amount": "12,50"})
    assert response.status_code == 302
    page = visible_text(client.get(f"/achats-groupes/{pooled.id}"))
    assert "Votre participation : 12,50 €." in page
    assert "Dominique Martin (vous) : 12,50 €" in page
    assert "Retirer ma participation" in page
    assert credit_of(staff.dominique) == 87_50
    # A colleague sees who takes part, not how much each gave.
    auth.logout()
    auth.login(staff.sacha.email)
    seen = visible_text(client.get(f"/achats-groupes/{pooled.id}"))
    assert "Camille Durand" in seen
    assert "Dominique Martin" in seen
    assert "Dominique Martin :" not in seen
    auth.logout()
    auth.login(staff.dominique.email)

    response = client.post(f"/achats-groupes/{pooled.id}/retirer")
    assert response.status_code == 302
    assert credit_of(staff.dominique) == 100_00
    assert "Votre participation vous a été rendue." in visible_text(client.get(response.location))
    assert_invariants()


def test_mon_compte_names_the_pooled_purchase_of_each_share_and_refund(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _start(staff)
    auth.login(staff.dominique.email)
    client.post(f"/achats-groupes/{pooled.id}/participer", data={"amount": "12,50"})
    client.post(f"/achats-groupes/{pooled.id}/retirer")

    response = client.get("/mon-compte")
    page = visible_text(response)
    assert "Participation à l’achat groupé de « Atlas des océans » -12,50 €" in page
    assert (
        "Restitution de votre participation à l’achat groupé de « Atlas des océans » +12,50 €"
        in page
    )
    assert response.text.count(f'href="/achats-groupes/{pooled.id}"') == 2


def test_bad_shares_are_refused_naming_the_field_and_change_nothing(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _start(staff)
    auth.login(staff.dominique.email)
    for amount, message in (
        ("0,50", "Participation : au moins 1,00 €."),
        ("31", "Participation : au plus 30,00 €, ce qui reste à réunir."),
        ("douze", "« douze » n'est pas un montant en euros."),
        ("", "Participation : saisissez un montant."),
    ):
        response = client.post(f"/achats-groupes/{pooled.id}/participer", data={"amount": amount})
        assert response.status_code == 422, amount
        assert message in visible_text(response), amount
    assert count(PooledShare) == 1
    assert credit_of(staff.dominique) == 100_00


def test_a_teacher_of_another_school_does_not_see_it(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _start(staff)
    auth.login(staff.outsider.email)
    assert client.get(f"/achats-groupes/{pooled.id}").status_code == 404
    assert (
        client.post(f"/achats-groupes/{pooled.id}/participer", data={"amount": "5"}).status_code
        == 404
    )
    assert "Aucun achat groupé en cours" in visible_text(client.get("/achats-groupes"))


def test_the_list_of_my_school_and_the_navigation(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _start(staff, 40_00)
    assert pooled.status is PooledStatus.COMPLETED
    auth.login(staff.sacha.email)
    page = client.get("/achats-groupes")
    text = visible_text(page)
    assert "Achats groupés de mon établissement" in text
    assert "Financé" in text
    assert 'href="/achats-groupes"' in page.get_data(as_text=True)


def test_a_join_sends_this_many_statements(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    """A colleague's share that does not complete the purchase (their accounts exist)."""
    pooled = _start(staff)
    auth.login(staff.dominique.email)
    ledger.teacher_credit(staff.dominique.id, pooled.academy_code, pooled.school_year_code)
    db.session.commit()
    pooled_id, dominique_id = pooled.id, staff.dominique.id

    db.session.expunge_all()  # a request of its own, as in production: nothing loaded yet
    with count_statements() as sent:
        response = client.post(f"/achats-groupes/{pooled_id}/participer", data={"amount": "5"})

    assert response.status_code == 302
    shares = db.session.query(PooledShare).filter_by(teacher_id=dominique_id).all()
    assert [share.amount_cents for share in shares] == [5_00]
    assert len(sent) == 15, str(sent)


def test_each_contributor_sees_the_order_with_their_share(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _bought_together(staff)
    auth.login(staff.dominique.email)

    orders_page = visible_text(client.get("/mes-commandes"))
    assert "Achat groupé — votre part : 25,00 €" in orders_page
    order_page = visible_text(client.get(f"/mes-commandes/{pooled.order_id}"))
    assert "votre part : 25,00 €." in order_page
    assert "payée par un achat groupé de plusieurs enseignants" in order_page
    assert "Atlas des océans" in visible_text(client.get("/mes-ressources"))


def test_each_participant_downloads_the_receipt_of_their_own_share(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _bought_together(staff)

    receipts = {}
    for teacher in (staff.camille, staff.dominique):
        auth.login(teacher.email)
        response = client.get(f"/mes-commandes/{pooled.order_id}/recu.pdf")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        receipts[teacher.name] = pdf_text(response.data)
        auth.logout()

    dominique = receipts["Dominique Martin"]
    assert "Participant : Dominique Martin" in dominique
    assert (
        "Achat groupé de l’établissement : une licence payée par plusieurs enseignants" in dominique
    )
    assert "Prix de la licence établissement 40,00 €" in dominique
    assert "Votre part, payée avec votre compte ressources 25,00 €" in dominique
    assert "ne peut pas être annulée" in dominique
    assert "Vous pouvez annuler" not in dominique
    assert "Crédit restant" not in dominique
    assert "Les autres participants ont payé le reste du prix." in dominique
    assert "15,00" not in dominique  # nothing of what a colleague gave
    camille = receipts["Camille Durand"]
    assert "Votre part, payée avec votre compte ressources 15,00 €" in camille
    assert "25,00" not in camille


def test_the_receipt_of_a_share_is_a_tagged_pdf(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _bought_together(staff)
    auth.login(staff.dominique.email)
    response = client.get(f"/mes-commandes/{pooled.order_id}/recu.pdf")
    order = db.session.get(Order, pooled.order_id)
    assert order is not None
    assert_tagged(response.data, title=f"Reçu de la commande {order.number}")


def test_who_started_then_withdrew_has_no_part_in_the_order(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _start(staff, 15_00)
    services.withdraw(staff.camille, pooled.id)
    services.join(staff.dominique, pooled.id, 40_00)
    db.session.commit()
    assert pooled.order_id is not None

    order = db.session.get(Order, pooled.order_id)
    assert order is not None
    assert order.teacher_id == staff.dominique.id  # the one who paid, not the starter
    auth.login(staff.camille.email)
    assert "Atlas des océans" not in visible_text(client.get("/mes-commandes"))
    assert "Atlas des océans" not in visible_text(client.get("/mes-ressources"))
    assert client.get(f"/mes-commandes/{pooled.order_id}").status_code == 404
    assert client.get(f"/mes-commandes/{pooled.order_id}/recu.pdf").status_code == 404
    auth.logout()
    auth.login(staff.dominique.email)
    receipt = pdf_text(client.get(f"/mes-commandes/{pooled.order_id}/recu.pdf").data)
    assert "Votre part, payée avec votre compte ressources 40,00 €" in receipt
    assert "Les autres participants" not in receipt  # she paid it all


def test_a_participant_who_moved_school_still_opens_it_from_mon_compte(
    client: FlaskClient, auth: AuthActions, staff: Staff
) -> None:
    pooled = _start(staff)
    services.join(staff.dominique, pooled.id, 5_00)
    grant = next(g for g in staff.dominique.grants if g.school_id == staff.school.id)
    grant.school_id = next(g.school_id for g in staff.outsider.grants)  # moved elsewhere
    db.session.commit()

    auth.login(staff.dominique.email)
    page = client.get(f"/achats-groupes/{pooled.id}")
    assert page.status_code == 200
    assert "Votre participation : 5,00 €." in visible_text(page)
    refused = client.post(f"/achats-groupes/{pooled.id}/participer", data={"amount": "5"})
    assert refused.status_code == 409
    assert "Vous n'enseignez plus dans cet établissement" in visible_text(refused)
    # The outsider, who never took part, does not see it.
    auth.logout()
    auth.login(staff.outsider.email)
    assert client.get(f"/achats-groupes/{pooled.id}").status_code == 404
