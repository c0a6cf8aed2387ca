"""A company registers on /editeur/inscription: checked identity (SIRET, VAT number),
its account created at the same time for a visitor, nothing written when refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.core import audit
from app.core.audit import AuditEvent
from app.extensions import db
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.vendors.helpers import (
    account_form,
    company_form,
    count,
    field_errors,
    new_siren,
    siret_of,
    vat_of,
)

URL = "/editeur/inscription"

SIREN = new_siren()
VALID_SIRET = siret_of(SIREN)
TYPO_SIRET = VALID_SIRET[:-1] + str((int(VALID_SIRET[-1]) + 1) % 10)
OTHER_SIREN = new_siren()
WRONG_KEY = (int(vat_of(OTHER_SIREN)[2:4]) + 1) % 97
LA_POSTE_SIREN = "356000000"
# La Poste's establishments do not follow the Luhn key: the digits add up to a multiple of 5.
LA_POSTE_SIRET = next(
    f"{LA_POSTE_SIREN}{nic:05d}"
    for nic in range(10, 100)
    if sum(map(int, f"{LA_POSTE_SIREN}{nic:05d}")) % 5 == 0
)

COMPANY_REFUSALS = [
    pytest.param("siret", "90412345", "un SIRET compte 14 chiffres", id="siret-length"),
    pytest.param("siret", "9041234520001A", "ne contient que des chiffres", id="siret-letters"),
    pytest.param("siret", TYPO_SIRET, "la clé de contrôle du SIRET est incorrecte", id="siret-key"),
    pytest.param("vat_number", "FR123", "compte FR, une clé de 2", id="vat-length"),
    pytest.param(
        "vat_number", f"FR{WRONG_KEY:02d}{OTHER_SIREN}", "la clé du numéro de TVA", id="vat-key"
    ),
    pytest.param(
        "vat_number",
        vat_of(OTHER_SIREN),
        "le numéro de TVA ne correspond pas au SIREN",
        id="vat-of-another-company",
    ),
    pytest.param("legal_name", "  ", "ce champ est obligatoire", id="no-legal-name"),
    pytest.param("parent_company", "", "ce champ est obligatoire", id="no-parent"),
    pytest.param("legal_form", " ", "ce champ est obligatoire", id="no-legal-form"),
    pytest.param("city", "", "ce champ est obligatoire", id="no-city"),
    pytest.param("country", "BE", "seules les entreprises établies en France", id="abroad"),
    pytest.param("contact_email", "pas-une-adresse", "adresse électronique invalide", id="contact"),
]
ACCOUNT_REFUSALS = [
    pytest.param("name", " ", "ce champ est obligatoire", id="no-name"),
    pytest.param(
        "password", "onze-carac", "doit compter au moins 12 caractères", id="short-password"
    ),
    pytest.param("password", "azertyuiop123", "fait partie des plus courants", id="common"),
    pytest.param("email", "deja.inscrite@cartable.example", "déjà utilisée", id="email-taken"),
    pytest.param(
        "email",
        "pas-une-adresse",
        "Adresse électronique non valide",
        id="email-malformed",
    ),
]


def counts() -> tuple[int, int, int]:
    return count(Vendor), count(User), count(AuditEvent)


def vendor_with_siret(siret: str) -> Vendor | None:
    return db.session.scalar(select(Vendor).where(Vendor.siret == siret))


def test_the_page_asks_a_visitor_for_their_account_too(client: FlaskClient) -> None:
    page = page_text(client.get(URL))
    assert "Vos prénom et nom" in page
    assert 'name="password"' in page
    assert "Raison sociale" in page


def test_the_password_is_asked_with_the_rule_and_hint_of_the_account_pages(
    client: FlaskClient,
) -> None:
    response = client.get(URL)
    page = page_text(response)

    assert '<label class="fr-label" for="password">Mot de passe</label>' in page
    assert 'id="password-hint">12 caractères ou plus. Une phrase de plusieurs mots' in page
    assert "8 caractères" not in page
    assert 'autocomplete="new-password"' in response.text


def test_a_signed_in_user_is_asked_only_about_the_company(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(factories.UserFactory().email)
    page = page_text(client.get(URL))
    assert "Raison sociale" in page
    assert 'name="password"' not in page


def test_a_visitor_registers_the_company_and_an_account_and_is_signed_in(
    client: FlaskClient,
) -> None:
    spaced = f"{VALID_SIRET[:3]} {VALID_SIRET[3:6]} {VALID_SIRET[6:9]} {VALID_SIRET[9:]}"
    vat = vat_of(SIREN)
    company = company_form(siret=spaced, vat_number=f"{vat[:2]} {vat[2:4]} {vat[4:]}")
    response = client.post(URL, data={**account_form(), **company})

    assert response.status_code == 302
    vendor = vendor_with_siret(VALID_SIRET)
    assert vendor is not None, "the SIRET is stored without its spaces"
    assert response.location.endswith(f"/editeur/{vendor.id}")
    assert (vendor.legal_name, vendor.vat_number) == (company["legal_name"], vat_of(SIREN))
    assert vendor.legal_form == "SAS au capital de 10 000 €"
    user = accounts.find_user("camille.martin@cartable.example")
    assert user is not None
    assert user.has_role(Role.VENDOR, vendor.id)
    assert accounts.authenticate(user.email, "un-mot-de-passe") is user
    assert [e.action for e in audit.history("vendor", vendor.id)] == ["vendor.registered"]
    space = client.get(f"/editeur/{vendor.id}")  # signed in as the new account
    assert space.status_code == 200
    assert "Les Éditions du Cartable SAS" in page_text(space)


def test_a_signed_in_user_registers_only_the_company(
    client: FlaskClient, auth: AuthActions
) -> None:
    user = factories.teacher()
    auth.login(user.email)
    users_before = count(User)
    company = company_form()

    response = client.post(URL, data=company)

    assert response.status_code == 302
    vendor = vendor_with_siret(company["siret"])
    assert vendor is not None
    assert count(User) == users_before
    assert user.has_role(Role.VENDOR, vendor.id)
    assert user.has_role(Role.TEACHER), "the roles the user held are kept"


@pytest.mark.parametrize("siret", [VALID_SIRET, LA_POSTE_SIRET], ids=["luhn", "la-poste"])
def test_siret_checked_by_luhn_or_la_poste_rule(client: FlaskClient, siret: str) -> None:
    siren = siret[:9]
    company = company_form(siret=siret, vat_number=vat_of(siren))
    response = client.post(URL, data={**account_form(), **company})
    assert response.status_code == 302
    assert vendor_with_siret(siret) is not None


@pytest.mark.parametrize(("field", "value", "reason"), COMPANY_REFUSALS)
@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "signed-in"])
def test_bad_company_details_are_refused_naming_the_field_and_nothing_is_written(
    client: FlaskClient, auth: AuthActions, signed_in: bool, field: str, value: str, reason: str
) -> None:
    data: dict[str, Any] = company_form(siret=VALID_SIRET, vat_number=vat_of(SIREN))
    if signed_in:
        auth.login(factories.UserFactory().email)
    else:
        data |= account_form()
    before = counts()

    response = client.post(URL, data={**data, field: value})

    assert response.status_code == 422
    assert reason in field_errors(response, field)
    assert "L’opération a été refusée" in page_text(response)
    assert counts() == before


@pytest.mark.parametrize(
    ("field", "value"), [("siret", TYPO_SIRET), ("vat_number", "FR123")], ids=["siret", "vat"]
)
def test_an_identifier_refused_is_named_in_words_not_by_its_field(
    client: FlaskClient, field: str, value: str
) -> None:
    data = {**account_form(), **company_form(siret=VALID_SIRET, vat_number=vat_of(SIREN))}

    response = client.post(URL, data={**data, field: value})

    errors = field_errors(response, field)
    assert errors  # e.g. "la clé de contrôle du SIRET est incorrecte", not "siret: la clé…"
    assert f"{field}:" not in errors
    assert f"{field}:" not in page_text(response)


@pytest.mark.parametrize(("field", "value", "reason"), ACCOUNT_REFUSALS)
def test_bad_account_details_are_refused_naming_the_field_and_nothing_is_written(
    client: FlaskClient, field: str, value: str, reason: str
) -> None:
    factories.UserFactory(email="deja.inscrite@cartable.example")
    db.session.commit()
    before = counts()

    response = client.post(URL, data={**account_form(), **company_form(), field: value})

    assert response.status_code == 422
    assert reason in field_errors(response, field)
    assert counts() == before


def test_a_company_already_registered_is_refused_and_no_account_is_left_behind(
    client: FlaskClient,
) -> None:
    company = company_form()
    assert client.post(URL, data={**account_form(), **company}).status_code == 302
    client.post("/deconnexion")
    before = counts()

    again = account_form(email="autre.personne@cartable.example")
    response = client.post(URL, data={**again, **company})

    assert response.status_code == 422
    assert "déjà inscrit" in field_errors(response, "siret")
    assert "demandez à un collègue de vous inviter" in page_text(response)
    assert counts() == before
    assert accounts.find_user("autre.personne@cartable.example") is None


def test_registrations_from_one_network_address_are_limited(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each registration creates an account and sends a mail: a few per hour per address,
    refused ones included (they would let anyone probe which addresses have an account)."""
    monkeypatch.setitem(app.config, "VENDOR_REGISTRATIONS_PER_ADDRESS", "3 per hour")
    statuses = [
        client.post(
            URL, data={**account_form(email=f"inscrit{n}@cartable.example"), **form}
        ).status_code
        for n, form in enumerate([company_form(), company_form(siret="123"), company_form()])
    ]
    assert statuses == [302, 422, 302]
    client.post("/deconnexion")
    refused = client.post(URL, data={**account_form(), **company_form()})
    assert refused.status_code == 429
    assert "Trop de tentatives" in page_text(refused)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert accounts.find_user("camille.martin@cartable.example") is None
    assert client.get(URL).status_code == 200  # reading the form is never limited
