"""An academy's exports, for a French spreadsheet: UTF-8 with a BOM, `;` between fields,
a decimal comma, a header row; exactly the academy's rows of the period asked
(`?du=…&au=…`, Paris days; the school year by default), nothing of another academy."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.extensions import db
from app.orders.models import OrderLine, OrderLineStatus
from app.products.models import PlanKind
from app.products.services import PlanDraft
from tests import factories
from tests.conftest import AuthActions
from tests.reporting.conftest import LYON, PARIS, World
from tests.reporting.helpers import (
    PARIS_TIME,
    YEAR,
    allocate,
    at,
    buy,
    csv_rows,
    fund,
    stored_moment,
)

PURCHASE_HEADER = [
    "Date",
    "Commande",
    "UAI",
    "Enseignant",
    "Ressource",
    "Éditeur",
    "Offre",
    "Montant (€)",
    "Statut",
]


def export(client: FlaskClient, kind: str, academy: str = PARIS, **period: str) -> list[list[str]]:
    query = "&".join(f"{name}={day}" for name, day in period.items()) or f"annee={YEAR}"
    response = client.get(f"/academies/{academy}/exports/{kind}.csv?{query}", buffered=True)
    assert response.status_code == 200
    return csv_rows(response)


def local(moment: datetime) -> str:
    return moment.astimezone(PARIS_TIME).strftime("%Y-%m-%d %H:%M")


def purchase_row(line: OrderLine, moment: datetime | None = None) -> list[str]:
    """The row of a line, as an accountant reads it: amounts with a decimal comma."""
    order = line.order
    status = "Annulée" if line.status is OrderLineStatus.CANCELLED else "Payée"
    return [
        local(moment or order.created_at),
        order.number,
        order.school.uai,
        order.teacher.email,
        line.title,
        line.vendor.legal_name,
        "Licence établissement",
        f"{line.price_cents // 100},{line.price_cents % 100:02d}",
        status,
    ]


def lines_of(world: World, *orders: str) -> list[OrderLine]:
    return [line for name in orders for line in world.orders[name].lines]


def test_an_export_is_made_for_a_french_spreadsheet(
    world: World, paris_manager: FlaskClient
) -> None:
    response = paris_manager.get(
        f"/academies/{PARIS}/exports/achats.csv?du=2026-10-01&au=2026-10-31", buffered=True
    )

    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=achats-{PARIS}-2026-10-01-2026-10-31.csv"
    )
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM, so that the spreadsheet reads UTF-8
    first_lines = body.decode("utf-8-sig").splitlines()[:2]
    assert first_lines[0] == ";".join(PURCHASE_HEADER)
    assert first_lines[1].endswith(";Licence établissement;12,50;Payée")  # Alice's quiz, 12,50 €
    assert "Annulée".encode() in body  # accents in UTF-8


def test_the_header_is_in_english_in_the_english_interface(
    world: World, paris_manager: FlaskClient
) -> None:
    paris_manager.get("/langue/en")

    october = export(paris_manager, "achats", du="2026-10-01", au="2026-10-31")

    assert october[0][:6] == ["Date", "Order", "UAI", "Teacher", "Resource", "Vendor"]
    assert october[0][-1] == "Status"


def test_the_purchases_are_the_academys_lines_of_the_period(
    world: World, paris_manager: FlaskClient
) -> None:
    october = export(paris_manager, "achats", du="2026-10-01", au="2026-10-31")

    assert october[0] == PURCHASE_HEADER
    assert october[1:] == [
        purchase_row(line) for line in lines_of(world, "paris_quiz", "paris_cancel")
    ]
    everything = lines_of(world, "paris_first", "paris_quiz", "paris_cancel", "paris_atlas")
    assert export(paris_manager, "achats")[1:] == [purchase_row(line) for line in everything]


def test_the_period_is_counted_in_paris_days(world: World, paris_manager: FlaskClient) -> None:
    """An order of 31 October at 23:30 UTC was placed on 1 November, 00:30 in Paris."""
    order = world.orders["paris_atlas"]
    order.created_at = datetime.fromisoformat("2026-10-31T23:30:00+00:00")
    db.session.commit()

    october = export(paris_manager, "achats", du="2026-10-01", au="2026-10-31")
    november = export(paris_manager, "achats", du="2026-11-01", au="2026-11-30")

    assert order.number not in {row[1] for row in october}
    assert november[1:] == [purchase_row(order.lines[0])]
    assert november[1][0] == "2026-11-01 00:30"


def test_the_refunds_are_the_academys_cancelled_lines_of_the_period(
    world: World, paris_manager: FlaskClient
) -> None:
    (cancelled,) = [line for line in world.orders["paris_cancel"].lines if line.cancelled_at]
    expected = [purchase_row(cancelled, cancelled.cancelled_at)]

    assert export(paris_manager, "remboursements")[1:] == expected
    assert export(paris_manager, "remboursements", du="2026-10-10", au="2026-10-10")[1:] == expected
    # Ordered on the 7th, cancelled on the 10th: the refund belongs to the 10th.
    assert export(paris_manager, "remboursements", du="2026-10-01", au="2026-10-09") == [
        PURCHASE_HEADER
    ]
    assert expected[0][-2:] == ["55,00", "Annulée"]


METHODS = {"one": "Un enseignant", "file": "Fichier", "rule": "Règle"}


def allocations_in_the_ledger(academy: str) -> list[list[str]]:
    """Each credit given to a teacher of the academy: its entry, the teacher, the amount."""
    rows = db.session.execute(
        text(
            """
            SELECT je.created_at, a.id, a.method, u.email, p.amount_cents
            FROM journal_entry je
            JOIN allocation a ON je.reference = 'allocation:' || a.id
            JOIN posting p ON p.entry_id = je.id
            JOIN ledger_account la ON la.id = p.account_id
            JOIN "user" u ON u.id = la.user_id
            WHERE je.kind = 'allocate' AND la.kind = 'teacher_credit'
              AND la.academy_code = :academy
            ORDER BY je.id, p.id
            """
        ),
        {"academy": academy},
    )
    return [
        [
            local(stored_moment(created_at)),
            str(allocation_id),
            METHODS[method],
            email,
            f"{cents // 100},{cents % 100:02d}",
        ]
        for created_at, allocation_id, method, email, cents in rows
    ]


def test_the_allocations_are_the_credits_given_to_the_academys_teachers(
    world: World, paris_manager: FlaskClient
) -> None:
    expected = allocations_in_the_ledger(PARIS)

    rows = export(paris_manager, "allocations")

    assert rows[0] == ["Date", "Répartition", "Méthode", "Enseignant", "Montant (€)"]
    assert rows[1:] == expected
    assert {method for _, _, method, _, _ in rows[1:]} <= set(METHODS.values())
    assert [(email, amount) for _, _, _, email, amount in rows[1:]] == [
        ("alice@ac-paris.fr", "100,00"),
        ("alice@ac-paris.fr", "20,00"),
        ("bruno@ac-paris.fr", "150,00"),
        ("chloe@ac-paris.fr", "80,00"),
        ("david@ac-paris.fr", "60,00"),
    ]


def test_the_allocations_of_another_period_are_left_out(
    world: World, paris_manager: FlaskClient
) -> None:
    given_on = allocations_in_the_ledger(PARIS)[0][0][:10]  # all given today, Paris time

    assert len(export(paris_manager, "allocations", du=given_on, au=given_on)) == 1 + 5
    assert export(paris_manager, "allocations", du="2026-09-01", au="2026-09-30")[1:] == []


def test_each_academy_exports_only_its_own_rows(
    world: World, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(world.managers[LYON].email)

    purchases = export(client, "achats", LYON)
    refunds = export(client, "remboursements", LYON)
    allocations = export(client, "allocations", LYON)

    assert purchases[1:] == [
        purchase_row(line) for line in lines_of(world, "lyon_first", "lyon_cancel")
    ]
    assert {row[2] for row in purchases[1:] + refunds[1:]} == {world.schools["lumiere"].uai}
    assert [row[3] for row in refunds[1:]] == ["farid@ac-lyon.fr"]
    assert allocations[1:] == allocations_in_the_ledger(LYON)
    assert {row[3] for row in allocations[1:]} == {"emma@ac-lyon.fr", "farid@ac-lyon.fr"}
    assert "ac-paris.fr" not in str(purchases + refunds + allocations)


def test_a_vendors_text_never_runs_as_a_formula_in_the_spreadsheet(
    session: Session, client: FlaskClient, auth: AuthActions
) -> None:
    formula = '=HYPERLINK("https://piege.example";"Cliquez ici")'
    school = factories.SchoolFactory(academy_code=PARIS)
    teacher = factories.teacher(school)
    manager = factories.academy_manager(PARIS)
    product = factories.product(
        factories.VendorFactory(legal_name="@SOMME(1+1)"),
        title=formula,
        plans=[PlanDraft(PlanKind.SCHOOL, 10_00, 2000)],
    )
    fund(PARIS, 10_00)
    allocate(manager, teacher, school, 10_00)
    buy(teacher, [product], at("2026-10-05"))
    db.session.commit()
    auth.login(manager.email)

    (row,) = export(client, "achats")[1:]

    assert row[4:6] == ["'" + formula, "'@SOMME(1+1)"]
