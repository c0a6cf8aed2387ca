"""What every JSON API's schemas share: French messages for a body that is not an object or
carries an unknown field, and the two query arguments of a paginated list."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.core.args import MAX_PAGE


class ApiSchema(Schema):
    error_messages = {
        "type": "Un objet JSON est attendu.",
        "unknown": "Champ inconnu.",
    }


def page_field() -> fields.Integer:
    """`page`: from 1."""
    return fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error="Entre {min} et {max}."),
        error_messages={"invalid": "Un entier est attendu."},
        metadata={"description": "Numéro de la page, à partir de 1."},
    )


def per_page_field(default: int, most: int, rows: str) -> fields.Integer:
    """`per_page`: `rows` is what a page lists, for the description (« Licences »)."""
    return fields.Integer(
        load_default=default,
        validate=validate.Range(min=1, max=most, error="Entre {min} et {max}."),
        error_messages={"invalid": "Un entier est attendu."},
        metadata={"description": f"{rows} par page ({most} au plus)."},
    )
