"""« Télécharger mes données » (RGPD, right of access): everything the service holds about
the signed-in person, as a JSON file; nobody else's data, and no secret."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event, select

from app.accounts import personal_data, tokens
from app.accounts.models import User
from app.extensions import db
from app.notifications.models import Notification
from app.vendors import services as vendors
from tests import factories
from tests.conftest import AuthActions
from tests.orders.helpers import buy, give_credit, on_sale


def download(client: FlaskClient) -> tuple[Any, dict[str, Any]]:
    response = client.get("/mon-profil/mes-donnees.json")
    assert response.status_code == 200
    return response, json.loads(response.get_data(as_text=True))


def test_a_teacher_downloads_their_orders_and_nobody_elses(
    client: FlaskClient, auth: AuthActions
) -> None:
    school = factories.SchoolFactory()
    teacher = factories.teacher(school, name="Camille Durand", email="camille.durand@ac-paris.fr")
    neighbour = factories.teacher(school, name="Dominique Martin", email="d.martin@ac-paris.fr")
    give_credit(teacher, 100_00)
    give_credit(neighbour, 100_00)
    atlas = on_sale(title="Atlas des océans")
    lab = on_sale(title="Laboratoire de chimie")
    mine = buy(teacher, atlas)
    theirs = buy(neighbour, lab)
    auth.login(teacher.email)

    response, data = download(client)
    raw = response.get_data(as_text=True)

    assert response.headers["Content-Disposition"] == (
        'attachment; filename="mes-donnees-compte-ressources.json"'
    )
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert data["profile"]["email"] == "camille.durand@ac-paris.fr"
    assert data["profile"]["name"] == "Camille Durand"
    assert [role["role"] for role in data["roles"]] == ["teacher"]
    assert [order["number"] for order in data["orders"]] == [mine.number]
    assert [line["title"] for line in data["orders"][0]["lines"]] == ["Atlas des océans"]
    assert data["orders"][0]["total_cents"] == mine.total_cents
    assert [licence["title"] for licence in data["licences"]] == ["Atlas des océans"]
    movements = [movement["amount_cents"] for movement in data["credit_movements"]]
    assert movements == [100_00, -mine.total_cents]
    assert data["credit_accounts"][0]["balance_cents"] == 100_00 - mine.total_cents
    assert any(action["action"] == "order.placed" for action in data["actions"])
    assert any(action["action"] == "user.logged_in" for action in data["actions"])
    # nobody else
    assert theirs.number not in raw
    assert "Laboratoire de chimie" not in raw
    assert "d.martin@ac-paris.fr" not in raw
    assert "Dominique Martin" not in raw
    # no secret
    assert teacher.password_hash is not None
    assert teacher.password_hash not in raw
    assert "password_hash" not in raw
    assert "session_version" not in raw


def test_the_notifications_and_mail_choices_are_in_it(
    client: FlaskClient, auth: AuthActions
) -> None:
    teacher = factories.teacher()
    give_credit(teacher, 50_00)
    buy(teacher, on_sale(title="Atlas des océans"))
    auth.login(teacher.email)
    client.post("/mon-profil/courriels", data={"digests": "oui"})  # reminders off, digests on

    _, data = download(client)

    mine = db.session.scalars(select(Notification).where(Notification.user_id == teacher.id))
    assert sorted(n["event"] for n in data["notifications"]) == sorted(n.event for n in mine)
    assert data["notifications"]
    assert sorted((c["topic"], c["wanted"]) for c in data["mail_choices"]) == [
        ("digests", True),
        ("reminders", False),
    ]


def test_a_vendors_tokens_are_listed_without_their_secret(
    client: FlaskClient, auth: AuthActions
) -> None:
    member = factories.vendor_member()
    vendor = member.grants[0].vendor
    assert vendor is not None
    token, secret = tokens.create_token(member, vendor, "Synchronisation des commandes")
    vendors.invite_member(member, vendor, "collegue@editions.example", "Alex Collègue")
    db.session.commit()
    auth.login(member.email)

    response, data = download(client)
    raw = response.get_data(as_text=True)

    assert [(t["name"], t["prefix"]) for t in data["api_tokens"]] == [
        ("Synchronisation des commandes", token.prefix)
    ]
    assert secret not in raw
    assert token.token_sha256 not in raw
    invited = [a for a in data["actions"] if a["action"] == "vendor.member_invited"]
    assert invited  # what they did is there, but not the address of the person invited
    assert "collegue@editions.example" not in raw


def test_only_a_signed_in_person_can_download(client: FlaskClient) -> None:
    response = client.get("/mon-profil/mes-donnees.json")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_the_profile_page_offers_the_download(client: FlaskClient, auth: AuthActions) -> None:
    user: User = factories.teacher()
    db.session.commit()
    auth.login(user.email)

    page = client.get("/mon-profil/").get_data(as_text=True)

    assert 'href="/mon-profil/mes-donnees.json"' in page
    assert "Télécharger mes données" in page


def test_the_export_reads_each_table_once_however_many_orders(session: object) -> None:
    def statements(orders: int) -> int:
        teacher = factories.teacher()
        give_credit(teacher, 500_00)
        for _ in range(orders):
            buy(teacher, on_sale())
        db.session.refresh(teacher)
        run: list[str] = []
        connection = db.session.connection()
        note = lambda *args: run.append(str(args[2]))  # noqa: E731
        event.listen(connection, "before_cursor_execute", note)
        try:
            personal_data.export(teacher)
        finally:
            event.remove(connection, "before_cursor_execute", note)
        return len(run)

    assert statements(1) == statements(4)
