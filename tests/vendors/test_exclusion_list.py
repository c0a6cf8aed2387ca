"""The exclusion list: a company of an excluded group, or whose parent company belongs to
one, cannot register; the operator keeps the list on /admin/exclusions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from app.accounts.models import Role, User
from app.core import audit
from app.extensions import db
from app.vendors.models import (
    ExcludedCompany,
    ExclusionMatch,
    ExclusionMatchStatus,
    Vendor,
    VendorStatus,
)
from app.vendors.services import exclude_company, recheck_vendors
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.vendors.helpers import account_form, company_form, count, field_errors

REGISTER = "/editeur/inscription"

EXCLUSION_ROUTES = [
    ("get", "/admin/exclusions"),
    ("post", "/admin/exclusions"),
    ("post", "/admin/exclusions/{google}/retirer"),
]
NOT_ADMINS: dict[str, Callable[[], User]] = {
    "teacher": factories.teacher,
    "vendor": factories.vendor_member,
    "reviewer": lambda: factories.with_role(Role.REVIEWER),
    "academy-manager": factories.academy_manager,
}


def register(client: FlaskClient, legal_name: str, parent_company: str) -> object:
    company = company_form(legal_name=legal_name, parent_company=parent_company)
    return client.post(REGISTER, data={**account_form(), **company})


def excluded(name: str) -> ExcludedCompany | None:
    return db.session.scalar(select(ExcludedCompany).where(ExcludedCompany.name == name))


@pytest.fixture
def admin(auth: AuthActions) -> User:
    user = factories.with_role(Role.ADMIN)
    auth.login(user.email)
    return user


def test_the_list_is_seeded_from_the_catalogue_data(session: object) -> None:
    assert excluded("Google France") is not None
    assert excluded("Amazon") is not None
    assert excluded("Microsoft") is not None


@pytest.mark.parametrize(
    ("legal_name", "parent_company", "reason"),
    [
        pytest.param(
            "Google France SARL",
            "Google France SARL",
            "L'entreprise « Google France SARL » relève de « Google France », exclu",
            id="the-company",
        ),
        pytest.param(
            "Lecture Facile SAS",
            "Amazon.com Inc",
            "La société mère « Amazon.com Inc » relève de « Amazon », exclu de la place de "
            "marché : ses filiales ne peuvent pas y vendre.",
            id="amazon-parent",
        ),
        pytest.param(
            "Classe Connectée SAS",
            "Microsoft Corporation",
            "La société mère « Microsoft Corporation » relève de « Microsoft",
            id="microsoft-parent",
        ),
    ],
)
def test_a_company_of_an_excluded_group_is_refused_with_the_reason(
    client: FlaskClient, legal_name: str, parent_company: str, reason: str
) -> None:
    before = (count(Vendor), count(User))

    response = register(client, legal_name, parent_company)

    assert response.status_code == 422
    assert reason in page_text(response)
    assert (count(Vendor), count(User)) == before


def test_a_refused_company_is_told_how_to_ask_the_operator_to_review_it(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SUPPORT_EMAIL", "aide@operateur.example")

    response = register(client, "Google France SARL", "Google France SARL")

    page = page_text(response)
    assert "demandez à l’opérateur de réexaminer ce refus" in page
    assert '<a href="mailto:aide@operateur.example">aide@operateur.example</a>' in page
    assert "réexaminer" not in page_text(register(client, "Lecture Facile SAS", "Cartable"))


def test_an_excluded_parent_is_named_on_the_parent_company_field(client: FlaskClient) -> None:
    response = register(client, "Lecture Facile SAS", "Amazon.com Inc")
    assert "« Amazon.com Inc »" in field_errors(response, "parent_company")


def test_an_excluded_company_name_is_named_on_the_legal_name_field(client: FlaskClient) -> None:
    response = register(client, "Google France SARL", "Google France SARL")
    assert "« Google France SARL »" in field_errors(response, "legal_name")


@pytest.mark.parametrize(
    "legal_name",
    ["Les Éditions du Cartable SAS", "Applesoft Éducation"],  # "Apple" is not a whole word
)
def test_an_independent_french_company_passes(client: FlaskClient, legal_name: str) -> None:
    assert register(client, legal_name, legal_name).status_code == 302


def test_an_entry_the_admin_adds_takes_effect_and_so_does_its_removal(
    client: FlaskClient, auth: AuthActions, admin: User
) -> None:
    response = client.post(
        "/admin/exclusions", data={"name": "Cartable Malin", "group_name": "Groupe Malin"}
    )
    assert response.status_code == 302
    entry = excluded("Cartable Malin")
    assert entry is not None
    assert entry.group_name == "Groupe Malin"
    assert "Cartable Malin" in page_text(client.get("/admin/exclusions"))
    auth.logout()

    company, parent = "Éditions Pédagogiques SAS", "Cartable Malin Holding"
    refused = register(client, company, parent)
    assert refused.status_code == 422
    assert "relève de « Cartable Malin »" in page_text(refused)

    auth.login(admin.email)
    assert client.post(f"/admin/exclusions/{entry.id}/retirer").status_code == 302
    assert excluded("Cartable Malin") is None
    auth.logout()

    assert register(client, company, parent).status_code == 302
    actions = [e.action for e in audit.history("excluded_company", entry.id)]
    assert actions == ["exclusion.added", "exclusion.rechecked", "exclusion.removed"]
    assert all(e.actor_id == admin.id for e in audit.history("excluded_company", entry.id))


def test_an_entry_needs_a_name(client: FlaskClient, admin: User) -> None:
    before = count(ExcludedCompany)
    response = client.post("/admin/exclusions", data={"name": " ", "group_name": "Groupe"})
    assert response.status_code == 200
    assert "Indiquez le nom de l’entreprise." in page_text(response)
    assert count(ExcludedCompany) == before


@pytest.mark.parametrize(("method", "path"), EXCLUSION_ROUTES)
@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_admins_reach_the_exclusion_list(
    client: FlaskClient, auth: AuthActions, who: str, method: str, path: str
) -> None:
    auth.login(NOT_ADMINS[who]().email)
    google = excluded("Google")
    assert google is not None
    before = count(ExcludedCompany)

    response = getattr(client, method)(
        path.format(google=google.id), data={"name": "Éditions Rivales", "group_name": ""}
    )

    assert response.status_code == 403
    assert count(ExcludedCompany) == before


@pytest.mark.parametrize(("method", "path"), EXCLUSION_ROUTES)
def test_anonymous_visitors_are_sent_to_login(client: FlaskClient, method: str, path: str) -> None:
    google = excluded("Google")
    assert google is not None
    response = getattr(client, method)(path.format(google=google.id))
    assert response.status_code == 302
    assert response.location.startswith("/connexion")
    assert excluded("Google") is not None


# --- issue 14, point 9: names compared normalised, with each group's known names ----------


def forget_group(group: str) -> None:
    """Take a seeded group off the list, as if the operator had not listed it yet."""
    db.session.execute(delete(ExcludedCompany).where(ExcludedCompany.group_name == group))


@pytest.mark.parametrize(
    ("legal_name", "parent_company", "field", "entry"),
    [
        pytest.param("Lecture Facile SAS", "ALPHABET", "parent_company", "Alphabet", id="alphabet"),
        pytest.param("Lecture Facile SAS", "Meta", "parent_company", "Meta", id="meta"),
        pytest.param("Edu Meta SAS", "Edu Meta SAS", "legal_name", "Meta", id="edu-meta"),
        pytest.param("Méta-Éducation S.A.S.", "Indépendante", "legal_name", "Meta", id="accents"),
    ],
)
def test_a_group_written_otherwise_is_still_refused_naming_the_entry(
    client: FlaskClient, legal_name: str, parent_company: str, field: str, entry: str
) -> None:
    response = register(client, legal_name, parent_company)

    assert response.status_code == 422
    assert f"relève de « {entry} »" in field_errors(response, field)


def test_a_name_that_only_contains_the_letters_passes(client: FlaskClient) -> None:
    assert register(client, "Metaphore Éditions", "Metaphore Éditions").status_code == 302


def test_a_subsidiary_known_for_the_listed_group_is_refused_and_explained(
    client: FlaskClient,
) -> None:
    forget_group("Meta")
    exclude_company(None, "Meta", "Meta")

    response = register(client, "Classe Sociale SAS", "Instagram Inc.")

    assert response.status_code == 422
    assert (
        "La société mère « Instagram Inc. » relève de « Meta », exclu de la place de marché "
        "(« Instagram » est un nom connu du groupe « Meta »)"
    ) in field_errors(response, "parent_company")


def test_adding_an_entry_lists_the_vendors_it_matches_for_the_operator_to_decide(
    client: FlaskClient, admin: User
) -> None:
    forget_group("Meta")
    edu_meta = factories.VendorFactory(legal_name="Edu Meta SAS")
    owned = factories.VendorFactory(
        legal_name="Classe Sociale SAS", parent_company="Instagram Holdings LLC"
    )
    innocent = factories.VendorFactory(legal_name="Metaphore Éditions")

    response = client.post(
        "/admin/exclusions", data={"name": "Meta", "group_name": ""}, follow_redirects=True
    )

    page = page_text(response)
    assert "2 éditeurs inscrits correspondent à cette entrée" in page
    assert (
        "La raison sociale « Edu Meta SAS » contient « Meta » (entrée « Meta » de la liste "
        "d'exclusion)."
    ) in page
    assert (
        "La société mère « Instagram Holdings LLC » contient « Instagram », nom connu du "
        "groupe de « Meta »"
    ) in page
    assert innocent.legal_name not in page
    matches = {m.vendor_id: m for m in db.session.scalars(select(ExclusionMatch))}
    assert set(matches) == {edu_meta.id, owned.id}

    client.post(f"/admin/exclusions/correspondances/{matches[edu_meta.id].id}/suspendre")
    client.post(f"/admin/exclusions/correspondances/{matches[owned.id].id}/ecarter")

    assert edu_meta.status is VendorStatus.SUSPENDED
    assert "entrée « Meta »" in edu_meta.status_reason
    assert owned.status is VendorStatus.ACTIVE
    assert matches[edu_meta.id].status is ExclusionMatchStatus.SUSPENDED
    assert matches[owned.id].status is ExclusionMatchStatus.DISMISSED
    assert matches[owned.id].decided_by_id == admin.id
    suspended = [e.action for e in audit.history("vendor", edu_meta.id)]
    assert suspended == ["vendor.suspended", "exclusion_match.suspended"]
    (dismissed,) = audit.history("vendor", owned.id)
    assert (dismissed.action, dismissed.actor_id) == ("exclusion_match.dismissed", admin.id)
    assert dismissed.details["entry"] == "Meta"
    client.get("/admin/exclusions")  # the flashed messages
    assert "Correspondances à examiner" not in page_text(client.get("/admin/exclusions"))
    # Decided once: a second decision is refused.
    again = client.post(f"/admin/exclusions/correspondances/{matches[owned.id].id}/suspendre")
    assert again.status_code == 409
    assert owned.status is VendorStatus.ACTIVE


def test_adding_the_same_entry_again_lists_no_match_twice(client: FlaskClient, admin: User) -> None:
    factories.VendorFactory(legal_name="Cartable Malin SAS")
    client.post("/admin/exclusions", data={"name": "Cartable Malin", "group_name": ""})
    client.post("/admin/exclusions", data={"name": "cartable malin", "group_name": ""})
    assert len(list(db.session.scalars(select(ExclusionMatch)))) == 1


def test_only_admins_decide_on_a_match(client: FlaskClient, auth: AuthActions) -> None:
    vendor = factories.VendorFactory(legal_name="Cartable Malin SAS")
    entry = exclude_company(None, "Cartable Malin", "")
    (match,) = recheck_vendors(None, entry)
    auth.login(factories.vendor_member(vendor).email)
    url = f"/admin/exclusions/correspondances/{match.id}/suspendre"
    assert client.post(url).status_code == 403
    assert vendor.status is VendorStatus.ACTIVE


def test_the_same_name_written_otherwise_is_one_entry(client: FlaskClient, admin: User) -> None:
    client.post("/admin/exclusions", data={"name": "Cartable Malin", "group_name": ""})
    before = count(ExcludedCompany)
    client.post("/admin/exclusions", data={"name": "CARTABLE-MALIN S.A.S.", "group_name": ""})
    assert count(ExcludedCompany) == before
