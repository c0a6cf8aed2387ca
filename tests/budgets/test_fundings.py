"""The history of an academy's fundings and the reversal of a mistaken one (issue 14, point 8)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.budgets import services
from app.core import dates
from app.core.audit import AuditEvent
from app.core.errors import NotFound, ValidationFailed
from app.core.money import format_euros
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.ledger.services import InsufficientFunds
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text

YEAR = services.school_year_code(dates.today())


@pytest.fixture
def admin(session: object) -> User:
    services.ensure_school_year(YEAR)
    return factories.with_role(Role.ADMIN, name="Nadia Opératrice")


def _entries(kind: EntryKind) -> int:
    return int(
        db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.kind == kind)) or 0
    )


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_mistaken_funding_is_reversed_by_a_new_entry_with_its_reason(admin: User) -> None:
    good = services.fund_academy(admin, "10", YEAR, 500_000, "fund:1", "Dotation initiale")
    wrong = services.fund_academy(admin, "10", YEAR, 5_000_000, "fund:2", "Complément")
    postings_before = [(p.account_id, p.amount_cents) for p in wrong.postings]

    reversal = services.reverse_funding(admin, "10", wrong.id, "  Un zéro de trop  ")

    assert not reversal.replayed
    assert (reversal.kind, reversal.reverses_id, reversal.memo) == (
        EntryKind.REVERSAL,
        wrong.id,
        "Un zéro de trop",
    )
    db.session.expire_all()
    assert [(p.account_id, p.amount_cents) for p in wrong.postings] == postings_before
    assert services.pool_balance("10", YEAR) == 500_000
    assert ledger.balance(ledger.national_funding(YEAR)) == -500_000
    assert services.budget_summary("10", YEAR).received_cents == 500_000
    lyon = next(row for row in services.funding_overview(YEAR) if row.academy.code == "10")
    assert (lyon.received_cents, lyon.pool_cents, lyon.remaining_cents) == (500_000,) * 3

    history = services.funding_history("10", YEAR)
    assert [(f.entry.id, f.cents, f.reason) for f in history] == [
        (wrong.id, 5_000_000, "Complément"),
        (good.id, 500_000, "Dotation initiale"),
    ]
    assert history[0].reversal is not None
    assert history[0].reversal.id == reversal.id
    assert history[0].reversal_reason == "Un zéro de trop"
    assert history[0].reversal_author is not None
    assert history[0].reversal_author.id == admin.id
    assert history[1].reversal is None
    (event,) = _events("academy.funding_reversed")
    assert (event.actor_id, event.object_id) == (admin.id, "10")
    assert event.details == {
        "school_year": YEAR,
        "amount_cents": 5_000_000,
        "entry_id": wrong.id,
        "reversal_id": reversal.id,
        "reason": "Un zéro de trop",
    }
    assert ledger.verify().ok


def test_a_funding_is_reversed_once(admin: User) -> None:
    funding = services.fund_academy(admin, "10", YEAR, 100_000, "fund:once")
    first = services.reverse_funding(admin, "10", funding.id, "Erreur d'académie")
    again = services.reverse_funding(admin, "10", funding.id, "Autre motif")
    assert again.id == first.id
    assert again.replayed
    assert services.pool_balance("10", YEAR) == 0
    assert _entries(EntryKind.REVERSAL) == 1
    assert len(_events("academy.funding_reversed")) == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_a_reversal_needs_a_reason(admin: User, reason: str) -> None:
    funding = services.fund_academy(admin, "10", YEAR, 100_000, "fund:why")
    with pytest.raises(ValidationFailed) as refused:
        services.reverse_funding(admin, "10", funding.id, reason)
    assert "reason" in refused.value.details
    assert services.pool_balance("10", YEAR) == 100_000
    assert _entries(EntryKind.REVERSAL) == 0


def test_a_funding_already_allocated_to_teachers_cannot_be_reversed(admin: User) -> None:
    funding = services.fund_academy(admin, "01", YEAR, 100_000, "fund:spent")
    school = factories.SchoolFactory()
    manager = factories.academy_manager("01")
    teacher = factories.teacher(school)
    services.allocate_one(manager, "01", YEAR, teacher.email, school.uai, "300", "tok")

    with pytest.raises(InsufficientFunds) as refused:
        services.reverse_funding(admin, "01", funding.id, "Erreur")

    assert refused.value.message == (
        "Cette dotation de 1\u202f000,00\u00a0€ ne peut plus être annulée : l'enveloppe de "
        "l'académie de Paris ne contient plus que 700,00\u00a0€, le reste a déjà été réparti "
        "aux enseignants."
    )
    assert services.pool_balance("01", YEAR) == 70_000
    assert _entries(EntryKind.REVERSAL) == 0
    assert _events("academy.funding_reversed") == []
    assert ledger.verify().ok


def test_only_a_funding_of_that_academy_can_be_reversed(admin: User) -> None:
    lyon = services.fund_academy(admin, "10", YEAR, 100_000, "fund:lyon")
    with pytest.raises(NotFound):
        services.reverse_funding(admin, "01", lyon.id, "Erreur")
    school = factories.SchoolFactory()
    teacher = factories.teacher(school)
    services.fund_academy(admin, "01", YEAR, 100_000, "fund:paris")
    one = services.allocate_one(
        factories.academy_manager("01"), "01", YEAR, teacher.email, school.uai, "10", "tok"
    )
    (entry_id,) = db.session.scalars(
        select(Posting.entry_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.reference == one.reference)
        .distinct()
    ).all()
    with pytest.raises(NotFound):
        services.reverse_funding(admin, "01", entry_id, "Pas une dotation")
    with pytest.raises(NotFound):
        services.reverse_funding(admin, "01", 999_999, "Inconnue")


# --- pages -------------------------------------------------------------------------------------


def test_the_admin_reads_the_funding_history_and_reverses_a_mistake(
    client: FlaskClient, auth: AuthActions, admin: User
) -> None:
    auth.login(admin.email)
    page = client.get("/admin/academies")
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', page_text(page))
    assert token is not None
    data = {
        "academy_code": "10",
        "amount": "50 000",
        "reason": "Dotation de rentrée",
        "token": token.group(1),
    }
    client.post("/admin/dotations", data=data)
    assert 'href="/admin/academies/10/dotations"' in page_text(client.get("/admin/academies"))

    history = page_text(client.get("/admin/academies/10/dotations"))
    assert "Dotations — Académie de Lyon" in history
    (funding,) = services.funding_history("10", YEAR)
    row = re.search(rf'<tr id="funding-{funding.entry.id}">(.*?)</tr>', history, re.S)
    assert row is not None
    for expected in ("Nadia Opératrice", format_euros(5_000_000), "Dotation de rentrée", "Versée"):
        assert expected in row.group(1)
    assert "Annuler cette dotation de 50\u202f000,00\u00a0€" in history

    url = f"/admin/academies/10/dotations/{funding.entry.id}/annuler"
    refused = client.post(url, data={"reason": " "})
    assert refused.status_code == 422
    assert "Indiquez le motif de l’annulation." in page_text(refused)
    assert services.pool_balance("10", YEAR) == 5_000_000

    done = client.post(
        url, data={"reason": "Versée à Lyon au lieu de Lille"}, follow_redirects=True
    )
    assert done.request.path == "/admin/academies/10/dotations"
    text = page_text(done)
    assert f"Dotation n°{funding.entry.id} annulée" in text
    assert "Annulée" in text
    assert "Versée à Lyon au lieu de Lille" in text
    assert "Annuler cette dotation" not in text
    assert services.pool_balance("10", YEAR) == 0
    again = client.post(url, data={"reason": "Encore"}, follow_redirects=True)
    assert "avait déjà été annulée" in page_text(again)
    assert _entries(EntryKind.REVERSAL) == 1


def test_a_reversal_the_pool_cannot_pay_is_refused_on_the_page(
    client: FlaskClient, auth: AuthActions, admin: User
) -> None:
    funding = services.fund_academy(admin, "01", YEAR, 100_000, "fund:page")
    school = factories.SchoolFactory()
    teacher = factories.teacher(school)
    services.allocate_one(
        factories.academy_manager("01"), "01", YEAR, teacher.email, school.uai, "1", "tok"
    )
    db.session.commit()
    auth.login(admin.email)
    refused = client.post(
        f"/admin/academies/01/dotations/{funding.id}/annuler", data={"reason": "Erreur"}
    )
    assert refused.status_code == 422
    assert "ne peut plus être annulée" in page_text(refused)
    assert services.pool_balance("01", YEAR) == 99_900


def test_only_the_admin_sees_and_reverses_fundings(
    client: FlaskClient, auth: AuthActions, admin: User
) -> None:
    funding = services.fund_academy(admin, "01", YEAR, 100_000, "fund:rights")
    auth.login(factories.academy_manager("01").email)
    assert client.get("/admin/academies/01/dotations").status_code == 403
    url = f"/admin/academies/01/dotations/{funding.id}/annuler"
    assert client.post(url, data={"reason": "Erreur"}).status_code == 403
    assert services.pool_balance("01", YEAR) == 100_000
