"""Valid company identities and the forms of the vendor pages, for the vendor tests."""

from __future__ import annotations

import itertools
import re
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from stdnum import luhn
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, FieldList, FormField, SelectMultipleField

from app.accounts.models import User
from app.core.audit import AuditEvent
from app.extensions import db
from app.products.forms import ProductForm
from app.vendors.models import Vendor
from tests.factories import product_draft
from tests.helpers import page_text

_serial = itertools.count(1)


def new_siren() -> str:
    """A SIREN never used before in this run: 8 digits and their Luhn check digit."""
    body = f"{81_000_000 + next(_serial):08d}"
    return body + luhn.calc_check_digit(body)


def siret_of(siren: str, nic: str = "0001") -> str:
    """The SIRET of an establishment: SIREN, 4-digit NIC and the Luhn check digit."""
    return siren + nic + luhn.calc_check_digit(siren + nic)


def vat_of(siren: str) -> str:
    """The French VAT number of a SIREN: FR, key = (12 + 3 × (SIREN mod 97)) mod 97, SIREN."""
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def company_form(**overrides: str) -> dict[str, str]:
    """A valid company registration (a new SIRET each call); override any field."""
    siren = new_siren()
    fields = {
        "legal_name": "Les Éditions du Cartable SAS",
        "legal_form": "SAS au capital de 10 000 €",
        "siret": siret_of(siren),
        "vat_number": vat_of(siren),
        "street": "12 rue des Écoles",
        "postcode": "75005",
        "city": "Paris",
        "country": "FR",
        "parent_company": "Les Éditions du Cartable SAS",
        "contact_name": "Camille Martin",
        "contact_email": "contact@cartable.example",
        "contact_phone": "01 23 45 67 89",
        "accept_terms": "y",
    }
    fields.update(overrides)
    return fields


def account_form(**overrides: str) -> dict[str, str]:
    """The account part of the registration of a visitor without an account."""
    fields = {
        "name": "Camille Martin",
        "email": "camille.martin@cartable.example",
        "password": "un-mot-de-passe",
    }
    fields.update(overrides)
    return fields


def field_errors(response: Any, field: str) -> str:
    """The error text shown under a form field ("" when the field has none)."""
    found = re.search(rf'<div id="{field}-errors">(.*?)</div>', page_text(response), re.S)
    return found.group(1) if found else ""


def count(model: type[Vendor] | type[User] | type[AuditEvent]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _leaves(fields: Any) -> Any:
    for field in fields:
        if isinstance(field, FormField | FieldList):
            yield from _leaves(field)
        else:
            yield field


def product_form(app: Flask, **overrides: Any) -> MultiDict[str, str]:
    """What the product page posts for a valid draft (see factories.product_draft)."""
    with app.test_request_context():
        form = ProductForm(formdata=None)
        form.fill(product_draft(**overrides))
        data: MultiDict[str, str] = MultiDict()
        for field in _leaves(form):
            if isinstance(field, BooleanField):
                if field.data:
                    data.add(field.name, "y")
            elif isinstance(field, SelectMultipleField):
                for value in field.data or []:
                    data.add(field.name, value)
            elif field.type != "FileField" and field.data is not None:
                data.add(field.name, str(field.data))
        return data
