"""The vendor's "Vérifier": the checks a submission would run, on the saved draft, shown
without submitting anything; a submission of an incomplete draft names what it lacks."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.accounts.models import User
from app.core.errors import ValidationFailed
from app.extensions import db
from app.products.models import Product, VersionStatus
from app.vendors.models import Vendor
from app.vetting import services
from catalog import conduct
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.products.helpers import form_data
from tests.vetting.helpers import actions, declaration, product_page


def verification_page(product: Product) -> str:
    return product_page(product) + "/modifier?verifier=1"


def incomplete(**changes: Any) -> dict[str, Any]:
    """The example declaration with some answers left out."""
    data = declaration(**changes)
    for key in ("advertising", "retention_days"):
        del data[key]
    return data


def test_verifier_saves_the_draft_then_shows_the_findings_without_submitting(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User
) -> None:
    product = factories.product(vendor, state="draft")
    auth.login(member.email)

    response = client.post(
        product_page(product) + "/modifier",
        data=form_data(
            action="verifier",
            title="Tangram et symétries",
            **{"declaration-hosting-0-country": "US", "declaration-hosting-0-provider": "AWS"},
        ),
    )

    assert response.headers["Location"] == verification_page(product)
    text = page_text(client.get(response.headers["Location"]))
    assert "Brouillon enregistré." in text
    assert "Vérification du brouillon" in text
    assert "Bloquant" in text
    assert "L'hébergement chez AWS (US) est hors de l'Union européenne" in text
    assert "Conforme" in text
    assert "La soumission serait refusée" in text
    assert "hosting_eea" not in text  # the rule is said in words, not by its code
    version = product.latest
    db.session.refresh(version)
    assert version.title == "Tangram et symétries"  # the draft is saved…
    assert version.status is VersionStatus.DRAFT  # …and nothing else is written
    assert version.submitted_at is None
    assert version.findings is None
    assert actions(product) == ["product.created", "version.edited"]


def test_the_draft_page_has_a_verifier_button_that_writes_nothing(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User
) -> None:
    product = factories.product(vendor, state="draft")
    auth.login(member.email)

    assert f'href="/editeur/{vendor.id}/produits/{product.id}/modifier?verifier=1"' in page_text(
        client.get(product_page(product))
    )
    text = page_text(client.get(verification_page(product)))

    assert "Rien ne bloque la soumission" in text
    assert "À compléter avant de soumettre" not in text
    assert "Sous-traitants établis dans l'Union européenne ou l'EEE." in text
    assert ": conforme" not in text  # the badge says it, once
    assert product.latest.findings is None
    assert actions(product) == ["product.created"]


def test_an_incomplete_draft_shows_what_is_missing_by_label_and_the_rules_that_apply(
    client: FlaskClient, auth: AuthActions, vendor: Vendor, member: User
) -> None:
    product = factories.product(
        vendor, state="draft", title="", declaration=incomplete(data_sale=True)
    )
    auth.login(member.email)

    text = page_text(client.get(verification_page(product)))

    assert "À compléter avant de soumettre" in text
    assert "Titre : ce champ est obligatoire" in text
    assert "Affichez-vous de la publicité ? : champ obligatoire manquant." in text
    assert (
        "Durée de conservation après la fin du contrat (jours) : champ obligatoire manquant."
        in text
    )
    for code in ("retention_days :", "declaration.", "title :", "advertising :"):
        assert code not in text  # fields are named in words, never by their code
    assert "Vous déclarez vendre les données" in text  # a rule with its answers is applied
    assert "Aucune publicité" not in text  # a rule whose answer is missing is not judged
    assert "La ressource affiche de la publicité" not in text
    assert actions(product) == ["product.created"]


def test_verify_applies_the_same_rules_as_the_submission(vendor: Vendor) -> None:
    blocked = declaration(hosting=[{"country": "US", "provider": "AWS"}], trackers=["Hotjar"])
    version = factories.product(vendor, state="draft", declaration=blocked).latest

    verification = services.verify(version)
    assert version.findings is None
    submission = services.submit(None, version)

    assert verification.missing == {}
    assert not verification.submittable
    assert verification.findings == submission.findings
    assert [f.rule for f in verification.findings] == list(conduct.RULES)


def test_an_incomplete_draft_cannot_be_submitted_and_nothing_is_written(
    vendor: Vendor,
) -> None:
    version = factories.product(vendor, state="draft", declaration=incomplete()).latest

    with pytest.raises(ValidationFailed) as refused:
        services.submit(None, version)

    assert set(refused.value.details) == {"declaration.advertising", "declaration.retention_days"}
    assert version.status is VersionStatus.DRAFT
    assert version.findings is None
    assert actions(version.product) == ["product.created"]
