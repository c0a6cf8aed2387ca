"""The query string and form fields read through app/core/args.py: a French 400 naming
the argument, or a graceful default, never a 500; a NUL byte is refused everywhere."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text


def _admin(client: FlaskClient, auth: AuthActions) -> FlaskClient:
    auth.login(factories.with_role(Role.ADMIN, email="admin@example.fr").email)
    return client


def test_a_nul_byte_in_the_query_string_is_a_400_naming_it(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    _admin(client, auth)
    response = client.get("/catalogue?discipline=maths%00")
    assert response.status_code == 400
    assert "Paramètre « discipline » : le caractère nul (\\0) n'est pas accepté." in page_text(
        response
    )


def test_a_nul_byte_in_a_form_field_is_refused_and_nothing_is_written(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    user = factories.teacher(name="Camille Durand")
    db.session.commit()
    auth.login(user.email)
    response = client.post("/mon-profil/nom", data={"name-name": "Camille\x00 Durand"})
    assert response.status_code == 400
    assert "« name-name »" in page_text(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "Camille Durand"  # type: ignore[union-attr]


def test_a_nul_byte_in_an_api_body_is_a_422_naming_its_path(
    client: FlaskClient, session: Session
) -> None:
    """The API refuses it as it refuses any invalid data (the HTML side answers 400)."""
    response = client.post(
        "/api/v1/products/1/codes", json={"plan": "teacher", "codes": ["A", "b\x00"]}
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert response.json["error"]["details"] == {
        "codes[1]": ["le caractère nul (\\0) n'est pas accepté."]
    }


def test_a_page_number_past_any_integer_shows_the_last_page(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    _admin(client, auth)
    for page in ("9" * 40, "9223372036854775808", "-5", "abc", "١٢"):
        assert client.get(f"/notifications?page={page}").status_code == 200


def test_an_impossible_or_absurd_date_is_a_400_naming_the_field(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    _admin(client, auth)
    for query, name in (
        ("du=9999-12-31", "du"),
        ("au=0001-01-01", "au"),
        ("du=2026-13-45", "du"),
        ("au=2026-10", "au"),
    ):
        response = client.get(f"/admin/versements/rapprochement?{query}")
        assert response.status_code == 400, query
        assert f"Paramètre « {name} »" in page_text(response), query
    assert client.get("/admin/versements/rapprochement?du=2026-10-01&au=").status_code == 200


def test_a_school_year_or_a_month_out_of_reach_is_a_400(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(factories.academy_manager("01").email)
    for url in (
        "/academies/01/exports/achats.csv?annee=0-1",
        "/academies/01/exports/achats.csv?annee=0000-0001",
        "/academies/01/exports/achats.csv?annee=99999-100000",
        "/academies/01/enseignants?annee=%D9%A2%D9%A0%D9%A2%D9%A6-%D9%A2%D9%A0%D9%A2%D9%A7",
        "/academies/01/rapport.pdf?mois=9999-12",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "Paramètre « " in page_text(response), url


def test_pagination_links_never_take_url_for_arguments_from_the_query(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    vendor = factories.VendorFactory()
    for number in range(21):
        factories.product(vendor, title=f"Ressource {number:02d}")
    auth.login(factories.teacher().email)
    query = "endpoint=x&_external=1&_scheme=javascript&_anchor=a&_method=POST&q=ressource"
    response = client.get(f"/catalogue?{query}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "/catalogue?q=ressource&amp;page=2" in text
    assert "javascript" not in text.split("fr-pagination", 1)[1]


def test_the_vendor_csv_link_keeps_the_filters_and_not_the_reserved_names(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    member = factories.vendor_member()
    auth.login(member.email)
    url = f"/editeur/{member.grants[0].vendor_id}/commandes"
    response = client.get(f"{url}?format=html&vendor_id=9&endpoint=x&statut=paid")
    assert response.status_code == 200
    assert f"{url}?statut=paid&amp;format=csv" in response.get_data(as_text=True)
    for produit in ("9" * 40, "2147483648", "-1", "abc"):
        response = client.get(f"{url}?produit={produit}")
        assert response.status_code == 400
        assert "Paramètre « produit »" in page_text(response)
    assert db.session.scalar(select(func.count()).select_from(User)) >= 1
