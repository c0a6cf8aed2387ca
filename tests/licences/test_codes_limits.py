"""Activation codes files at their limits: over the line limit, refused with the count and
nothing written; more codes than one statement's parameters, stored all at once."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.core.errors import Conflict, ValidationFailed
from app.core.limits import upload_lines
from app.extensions import db
from app.licences import services
from app.licences.models import ActivationCode
from app.products.models import Channel, PlanKind, Product
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text


@pytest.fixture
def vendor(session: object) -> Vendor:
    return factories.VendorFactory()


@pytest.fixture
def product(vendor: Vendor) -> Product:
    return factories.product(vendor, channel=Channel.CODES)


def _codes() -> int:
    return int(db.session.scalar(select(func.count(ActivationCode.id))) or 0)


def test_a_codes_file_over_the_line_limit_is_refused_with_its_count(
    client: FlaskClient,
    auth: AuthActions,
    vendor: Vendor,
    product: Product,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "CODES_MAX_LINES", 3)
    auth.login(factories.vendor_member(vendor).email)
    content = "code\n" + "".join(f"CODE-{n}\n" for n in range(5))
    response = client.post(
        f"/editeur/{vendor.id}/codes",
        data={"offer": f"{product.id}:teacher", "file": (io.BytesIO(content.encode()), "c.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert (
        "Le fichier compte 5 lignes ; la limite est de 3 lignes par envoi. "
        "Découpez-le en plusieurs fichiers." in page_text(response)
    )
    assert _codes() == 0


def test_a_codes_file_that_is_not_utf8_names_its_line() -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.parse_codes(upload_lines(io.BytesIO(b"code\nA1\nB\xe92\n")))
    assert refused.value.details == {"fichier": ["encodage invalide à la ligne 3"]}


def test_more_codes_than_a_statement_takes_are_stored_and_checked(product: Product) -> None:
    codes = [f"CODE-{n:06d}" for n in range(70_000)]  # over PostgreSQL's 65,535 parameters
    assert services.upload_codes(None, product, PlanKind.TEACHER, codes) == 70_000
    assert _codes() == 70_000
    with pytest.raises(Conflict, match="1 code a déjà été déposé"):
        services.upload_codes(None, product, PlanKind.TEACHER, [*codes[-1:], "NOUVEAU"])
    assert _codes() == 70_000
