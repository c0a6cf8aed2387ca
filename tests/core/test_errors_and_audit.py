from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.core import audit
from app.core.db import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from tests import factories


@pytest.fixture
def failing_app() -> Flask:
    """A fresh app with two routes that raise domain errors."""
    app = create_app("test")

    @app.get("/_test/conflict")
    def raise_conflict() -> str:
        raise Conflict("Cette commande a déjà été passée.")

    @app.get("/_test/refused")
    def raise_refused() -> str:
        raise ValidationFailed(
            "Cette entreprise est déjà inscrite.", details={"siret": ["déjà inscrite"]}
        )

    @app.get("/api/_test/invalid")
    def raise_invalid() -> str:
        raise ValidationFailed(
            "Le fichier contient des erreurs.", details={"ligne 3": ["montant négatif"]}
        )

    return app


def test_domain_error_as_a_french_page(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/_test/conflict")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Conflit" in page
    assert "Cette commande a déjà été passée." in page


def test_a_refusals_reasons_are_shown_without_the_fields_code_names(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/_test/refused")

    page = response.get_data(as_text=True)
    assert "déjà inscrite</li>" in page
    assert "siret" not in page


def test_domain_error_as_json_for_the_api(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/api/_test/invalid")
    assert response.status_code == 422
    assert response.get_json() == {
        "error": {
            "code": "invalid",
            "message": "Le fichier contient des erreurs.",
            "details": {"ligne 3": ["montant négatif"]},
        }
    }


def test_audit_records_who_did_what(session: object) -> None:
    actor = factories.with_role(factories.Role.ADMIN)
    audit.record(actor, "academy.funded", "academy", "01", amount_cents=100_000)
    db.session.flush()
    (event,) = audit.history("academy", "01")
    assert (event.actor_id, event.action, event.details) == (
        actor.id,
        "academy.funded",
        {"amount_cents": 100_000},
    )
    assert event.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'forged'", "DELETE FROM audit_event"]
)
def test_the_database_keeps_the_audit_log_append_only(session: object, statement: str) -> None:
    audit.record(None, "test.event", "thing", 1)
    db.session.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))


def test_the_database_lets_only_events_past_their_ten_years_go(session: object) -> None:
    """The retention's period (app/core/retention.py), kept by the trigger too: an event
    older than 3,650 days may be deleted, never changed; a younger one neither."""
    now = utcnow()
    old = audit.record(None, "test.event", "thing", 1)
    old.created_at = now - timedelta(days=3651)
    young = audit.record(None, "test.event", "thing", 2)
    young.created_at = now - timedelta(days=3649)
    db.session.flush()

    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(f"UPDATE audit_event SET action = 'x' WHERE id = {old.id}"))
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(f"DELETE FROM audit_event WHERE id = {young.id}"))
    db.session.execute(text(f"DELETE FROM audit_event WHERE id = {old.id}"))
