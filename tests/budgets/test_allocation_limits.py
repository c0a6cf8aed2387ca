"""Allocation files at their limits: a file over the line limit is refused with the count
and nothing written; a file over 65,535 lines (PostgreSQL's bound parameters a statement)
is checked and applied in full; an unreadable line is a refusal, never a 500."""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts.models import Role, RoleGrant, User
from app.budgets import allocation_file, services
from app.budgets.models import Allocation
from app.core import dates, jobs
from app.core.audit import AuditEvent
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import AccountKind, JournalEntry, LedgerAccount
from catalog.identifiers import make_uai
from tests import factories
from tests.conftest import AuthActions, requires_postgres
from tests.helpers import page_text

YEAR = services.school_year_code(dates.today())


@pytest.fixture
def manager(session: object, auth: AuthActions) -> User:
    services.ensure_school_year(YEAR)
    services.fund_academy(None, "01", YEAR, 100_000_000_00, "fund:test")
    user = factories.academy_manager("01")
    auth.login(user.email)
    return user


def upload(client: FlaskClient, content: str) -> object:
    return client.post(
        "/academies/01/repartitions/fichier",
        data={"fichier": (io.BytesIO(content.encode()), "repartition.csv")},
        content_type="multipart/form-data",
    )


def _count(entity: object) -> int:
    return int(db.session.scalar(select(func.count()).select_from(entity)) or 0)  # type: ignore[arg-type]


def test_a_file_over_the_line_limit_is_refused_with_its_count_and_nothing_written(
    client: FlaskClient, manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(allocation_file, "MAX_LINES", 5)
    school = factories.SchoolFactory(academy_code="01")
    users, entries = _count(User), _count(JournalEntry)
    lines = "".join(f"prof{n}@ac-paris.fr;10;{school.uai}\n" for n in range(7))
    response = upload(client, "courriel;montant;uai\n" + lines)
    assert response.status_code == 422
    assert (
        "Le fichier compte 7 lignes ; la limite est de 5 lignes par envoi. "
        "Découpez-le en plusieurs fichiers." in page_text(response)
    )
    assert _count(Allocation) == 0
    assert (_count(User), _count(JournalEntry)) == (users, entries)
    # At the limit, the same file is read.
    monkeypatch.setattr(allocation_file, "MAX_LINES", 7)
    assert upload(client, "courriel;montant;uai\n" + lines).status_code == 200


def test_the_line_limit_is_written_the_french_way() -> None:
    parsed = allocation_file.parse(
        ["courriel;montant;uai\n"] + [f"p{n}@ac-paris.fr;1;0750654D\n" for n in range(200_001)]
    )
    assert parsed.lines == []
    assert parsed.errors == [
        "Le fichier compte 200\u202f001 lignes ; la limite est de 200\u202f000 lignes par "
        "envoi. Découpez-le en plusieurs fichiers."
    ]


def test_an_unreadable_line_is_refused_with_its_number(client: FlaskClient, manager: User) -> None:
    response = upload(client, "courriel;montant;uai\nanne@ac-paris.fr;1;" + "9" * 200_000 + "\n")
    assert response.status_code == 422
    assert "Ligne 2 : le fichier n'est pas un CSV lisible" in page_text(response)
    bad_utf8 = client.post(
        "/academies/01/repartitions/fichier",
        data={
            "fichier": (
                io.BytesIO(b"courriel;montant;uai\nz\xe9@ac-paris.fr;1;0750654D\n"),
                "r.csv",
            )
        },
        content_type="multipart/form-data",
    )
    assert bad_utf8.status_code == 422
    assert "le fichier n'est pas encodé en UTF-8" in page_text(bad_utf8)
    assert _count(Allocation) == 0


@requires_postgres
def test_a_file_of_65536_new_teachers_is_checked_and_applied_in_full(
    manager: User,
) -> None:
    lines = 65_536  # one more than PostgreSQL's bound parameters in one statement
    schools = [
        factories.SchoolFactory(uai=make_uai(f"{750_900 + n:07d}"), academy_code="01")
        for n in range(16)
    ]
    known = factories.teacher(schools[0], email="prof00000@ac-paris.fr")
    content = "courriel;montant;uai\n" + "".join(
        f"prof{n:05d}@ac-paris.fr;1,50;{schools[n % 16].uai}\n" for n in range(lines)
    )
    before = services.pool_balance("01", YEAR)

    preview = services.preview_file(manager, "01", YEAR, io.BytesIO(content.encode()))
    assert preview.valid, (preview.parsed.errors, preview.parsed.error_count())
    assert preview.allocation is not None
    assert len(preview.parsed.lines) == lines
    for _ in services.apply_allocation(manager, preview.allocation):
        pass

    assert services.pool_balance("01", YEAR) == before - lines * 150
    credits = select(func.count()).where(
        LedgerAccount.kind == AccountKind.TEACHER_CREDIT, LedgerAccount.balance_cents == 150
    )
    assert db.session.scalar(credits) == lines
    assert ledger.verify().ok
    teachers = select(func.count()).where(RoleGrant.role == Role.TEACHER)
    assert db.session.scalar(teachers) == lines  # one grant each, the known one kept
    assert known.has_role(Role.TEACHER, schools[0].id)
    newcomer = db.session.scalar(select(User).where(User.email == "prof65535@ac-paris.fr"))
    assert newcomer is not None
    assert newcomer.password_hash is None
    assert newcomer.name == "Prof65535"
    assert newcomer.has_role(Role.TEACHER, schools[65535 % 16].id)
    granted = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "role.granted", AuditEvent.object_id == str(newcomer.id)
        )
    ).one()
    assert granted.actor_id == manager.id
    assert granted.details == {"role": "teacher", "scope": str(schools[65535 % 16])}
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "role.granted")) == (
        lines - 1
    )


# --- a large allocation is applied by a worker, its page follows it ------------------------


def _preview_url(response: object) -> str:
    found = re.search(r'action="(/academies/01/repartitions/\d+/confirmer)"', page_text(response))
    assert found is not None
    return found.group(1)


def test_a_large_allocation_is_applied_by_a_job_and_its_page_follows_it(
    client: FlaskClient, manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "ALLOCATION_INLINE_MAX", 2)
    school = factories.SchoolFactory(academy_code="01")
    lines = "".join(f"prof{n}@ac-paris.fr;10;{school.uai}\n" for n in range(3))
    confirm = _preview_url(upload(client, lines))
    entries = _count(JournalEntry)

    queued = client.post(confirm)
    again = client.post(confirm)  # a second click: still one job
    page = confirm.removesuffix("/confirmer")
    assert queued.status_code == again.status_code == 302
    assert queued.headers["Location"] == page
    assert _count(JournalEntry) == entries  # nothing moved within the request
    waiting = client.get(page)
    assert waiting.headers["Refresh"] == "5"
    assert "Répartition en attente d’application" in page_text(waiting)
    assert "3 enseignants à créditer." in page_text(waiting)

    assert jobs.work(once=True, kinds=[services.APPLY_JOB]) == 1
    done = client.get(page)
    assert "Refresh" not in done.headers
    assert "Répartition appliquée" in page_text(done)
    assert "3 enseignants crédités, total 30,00" in page_text(done)
    assert _count(JournalEntry) == entries + 1
    assert ledger.verify().ok


def test_a_job_refused_meanwhile_writes_nothing_and_says_why(
    client: FlaskClient, manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "ALLOCATION_INLINE_MAX", 1)
    school = factories.SchoolFactory(academy_code="01")
    gone = factories.teacher(school, email="parti@ac-paris.fr")
    confirm = _preview_url(
        upload(client, f"parti@ac-paris.fr;10;{school.uai}\nnouveau@ac-paris.fr;10;{school.uai}\n")
    )
    assert client.post(confirm).status_code == 302
    gone.active = False  # deactivated before a worker runs the job
    users, entries = _count(User), _count(JournalEntry)

    assert jobs.work(once=True, kinds=[services.APPLY_JOB]) == 1
    page = client.get(confirm.removesuffix("/confirmer"))
    assert "La répartition n’a pas été appliquée" in page_text(page)
    assert "Le compte de parti@ac-paris.fr est désactivé." in page_text(page)
    assert "Refresh" not in page.headers
    assert (_count(User), _count(JournalEntry)) == (users, entries)
