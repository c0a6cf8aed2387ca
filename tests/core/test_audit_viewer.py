"""The operator's audit log viewer: filters by object, actor and dates (refused in French
when wrong), newest first, by pages, every action in French (never its code), links to
the objects' pages; and each filter served by an index on PostgreSQL."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from app.accounts.models import Role, User
from app.core import audit, audit_labels
from app.core.audit import AuditEvent, EventFilters
from app.extensions import db
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions, is_postgres
from tests.helpers import page_text

APP = Path(__file__).parents[2] / "app"


def recorded_actions() -> set[str]:
    """Every action `audit.record(...)` is called with in the app; an f-string action
    (`f"review.{decision.value}"`) stands for each of its known endings."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and len(node.args) >= 4):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            action = node.args[1]
            if name != "record":
                continue
            if isinstance(action, ast.Constant):
                found.add(action.value)
            elif isinstance(action, ast.JoinedStr):
                prefix = ast.unparse(action.values[0]).strip("'\"")
                found.add(prefix + "*")
    return found


def test_every_recorded_action_has_a_french_label() -> None:
    labelled = set(audit_labels.ACTION_LABELS)
    for action in recorded_actions():
        if action.endswith("*"):
            assert any(label.startswith(action[:-1]) for label in labelled), action
        else:
            assert action in labelled, f"{action} n'a pas de libellé dans audit_labels"


def test_an_unknown_action_is_never_shown_by_its_code() -> None:
    assert audit_labels.action_label("something.new") == "Autre action"
    assert audit_labels.object_type_label("thing") == "Autre objet"


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC)


def event(
    actor: User | None, action: str, kind: str, key: object, when: datetime, **details: Any
) -> AuditEvent:
    recorded = audit.record(actor, action, kind, key, **details)
    recorded.created_at = when
    db.session.flush()
    return recorded


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions des Volcans SAS")


@pytest.fixture
def admin(auth: AuthActions, vendor: Vendor) -> User:
    user = factories.with_role(Role.ADMIN, name="Alice Opératrice", email="alice@operateur.gouv.fr")
    other = factories.with_role(
        Role.ADMIN, name="Bruno Contrôleur", email="bruno@operateur.gouv.fr"
    )
    event(user, "vendor.suspended", "vendor", vendor.id, at("2026-10-01"), reason="Fraude")
    event(other, "vendor.reinstated", "vendor", vendor.id, at("2026-10-05"))
    event(other, "academy.funded", "academy", "10", at("2026-10-03"), amount_cents=1_000_000)
    event(None, "school_year.closed", "school_year", "2025-2026", at("2026-09-01"))
    auth.login(user.email)
    return user


def journal(client: FlaskClient, status: int = 200, **query: Any) -> str:
    response = client.get("/admin/journal", query_string=query)
    assert response.status_code == status
    return page_text(response)


def rows(page: str) -> list[str]:
    """The event labels of the page, in their order."""
    labels = [str(label) for label in audit_labels.ACTION_LABELS.values()]
    found = []
    for line in page.splitlines():
        stripped = line.strip().removeprefix("<td>").removesuffix("</td>")
        if stripped in labels:
            found.append(stripped)
    return found


def test_newest_first_in_french_with_links(
    client: FlaskClient, admin: User, vendor: Vendor
) -> None:
    page = journal(client)
    listed = rows(page)
    # The sign-in of the fixture comes last in time, so first.
    assert listed[:4] == [
        "Connexion",
        "Éditeur rétabli",
        "Dotation versée à l’académie",
        "Éditeur suspendu",
    ]
    assert "vendor.suspended" not in page
    assert "Motif : Fraude" in page
    assert "Montant : 10\u202f000,00\xa0€" in page or "Montant : 10 000,00 €" in page
    assert f'href="/admin/editeurs/{vendor.id}">Éditions des Volcans SAS</a>' in page
    assert 'href="/admin/academies/10/dotations">Lyon</a>' in page
    assert "La plateforme" in page  # the closing of the year, by no one


@pytest.mark.parametrize("role", ["teacher", "vendor", "reviewer", "academy_manager"])
def test_other_roles_get_403(client: FlaskClient, auth: AuthActions, role: str) -> None:
    makers = {
        "teacher": factories.teacher,
        "vendor": factories.vendor_member,
        "reviewer": lambda: factories.with_role(Role.REVIEWER),
        "academy_manager": factories.academy_manager,
    }
    auth.login(makers[role]().email)
    assert client.get("/admin/journal").status_code == 403


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/journal")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


def test_filter_by_object(client: FlaskClient, admin: User, vendor: Vendor) -> None:
    listed = rows(journal(client, objet_type="vendor", objet=vendor.id))
    assert listed == ["Éditeur rétabli", "Éditeur suspendu"]
    assert rows(journal(client, objet_type="academy")) == ["Dotation versée à l’académie"]


def test_filter_by_actor_name_or_address(client: FlaskClient, admin: User) -> None:
    by_bruno = rows(journal(client, auteur="BRUNO@operateur"))
    assert by_bruno == ["Éditeur rétabli", "Dotation versée à l’académie"]
    assert rows(journal(client, auteur="controleur")) == by_bruno  # accents ignored


def test_filter_by_dates_both_included(client: FlaskClient, admin: User) -> None:
    listed = rows(journal(client, du="2026-10-01", au="2026-10-03"))
    assert listed == ["Dotation versée à l’académie", "Éditeur suspendu"]
    assert rows(journal(client, au="2026-09-30")) == ["Année scolaire clôturée"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"du": "01/10/2026"}, "Du : une date au format AAAA-MM-JJ est attendue (ex. 2026-10-01)."),
        ({"au": "2026-02-30"}, "Au (inclus) : une date au format AAAA-MM-JJ est attendue"),
        (
            {"du": "1999-12-31"},
            "Du : la date doit être comprise entre le 01/01/2000 et le 31/12/2099.",
        ),
        (
            {"du": "2026-10-05", "au": "2026-10-01"},
            "Au (inclus) : la date de fin doit être le 05/10/2026 ou après.",
        ),
        ({"objet_type": "pirate"}, "Type d’objet : type d’objet inconnu."),
        ({"objet": "12"}, "Identifiant de l’objet : choisissez aussi le type de l’objet."),
        ({"auteur": "x" * 101}, "Auteur : 100 caractères au plus."),
    ],
)
def test_bad_filters_are_refused_in_french_naming_the_field(
    client: FlaskClient, admin: User, query: dict[str, str], message: str
) -> None:
    page = journal(client, 400, **query)
    assert "Le journal n’a pas pu être filtré" in page
    assert message in page
    assert message.split(" : ", 1)[1] in page  # also under the field itself
    assert rows(page) == []


def test_pages_of_fifty(client: FlaskClient, admin: User) -> None:
    for number in range(55):
        event(admin, "user.renamed", "user", admin.id, at("2026-11-01", 1 + number % 20))
    first = journal(client, objet_type="user", objet=admin.id)
    assert "56 événements." in first  # and the sign-in
    assert len(rows(first)) == 50
    assert "page=2" in first
    assert "objet_type=user" in first  # the next page keeps the filters
    assert len(rows(journal(client, objet_type="user", objet=admin.id, page=2))) == 6
    assert len(rows(journal(client, objet_type="user", objet=admin.id, page=99))) == 6


def test_the_count_stops_past_the_limit(
    monkeypatch: pytest.MonkeyPatch, session: object, admin: User
) -> None:
    monkeypatch.setattr(audit, "COUNT_LIMIT", 3)
    found = audit.search(EventFilters(), 1, 2)
    assert found.more
    assert found.pages == 2


def test_role_changes_read_in_french(client: FlaskClient, admin: User) -> None:
    someone = factories.teacher(name="Hélène Dupré")
    from app.accounts import services

    services.give_role(admin, someone, Role.ACADEMY_MANAGER, "10")
    page = journal(client, objet_type="user", objet=someone.id)
    assert "Rôle donné" in page
    assert "Rôle : Gestionnaire académique" in page
    assert "Rôles avant : Enseignant (Collège Test" in page
    assert "Gestionnaire académique (Académie de Lyon)" in page
    assert f'href="/admin/utilisateurs/{someone.id}">Hélène Dupré</a>' in page
    assert "academy_manager" not in page


# --- every filter has its index (PostgreSQL) ------------------------------------------------

FILTERS = {
    "none": (EventFilters(), "ix_audit_event_created_at"),
    "object": (EventFilters(object_type="vendor", object_id="12"), "ix_audit_event_object"),
    "object_type": (EventFilters(object_type="vendor"), "ix_audit_event_object"),
    "actor": (EventFilters(actor="dupont"), "ix_audit_event_actor"),
    "dates": (
        EventFilters(since=date(2026, 10, 1), until=date(2026, 10, 3)),
        "ix_audit_event_created_at",
    ),
}


@pytest.mark.skipif(not is_postgres(), reason="the plans are PostgreSQL's")
@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_reads_an_index(session: Any, name: str) -> None:
    filters, index = FILTERS[name]
    query = audit.events_query(filters).limit(audit.EVENTS_PER_PAGE)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    # A test database is small: without this the planner rightly reads the table itself.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    # (The actors are found through the users' trigram index on a national table; on the
    # few users of a test the planner may as well walk their primary key: the search's own
    # plan is checked in tests/accounts/test_admin_users.py.)
    assert index in plan, plan
