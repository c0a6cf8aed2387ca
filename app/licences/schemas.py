"""Marshmallow schemas of the licences API: what vendors send and what they read.

Field descriptions and validation messages are in French: they are what the vendors'
developers read, in the OpenAPI document and in the 422 answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

from app.core.api_schemas import ApiSchema, page_field, per_page_field
from app.licences import channels
from app.licences.models import LicenceStatus
from app.licences.services import CODE_MAX_LENGTH, CODES_MAX_LINES
from app.products.models import PlanKind

PER_PAGE_MAX = 200

# marshmallow's type of a field's `error_messages`
Messages = dict[str, str | list[Any] | dict[Any, Any]]

REQUIRED: Messages = {"required": "Champ obligatoire.", "null": "Champ obligatoire."}


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Ne peut pas être vide.")


def no_space(value: str) -> None:
    if value.strip() and any(character.isspace() for character in value):
        raise ValidationError("Un code ne contient pas d'espace.")


# The document's patterns say what the server refuses: a NUL character in any string
# (app/core/args.py), a blank value where `not_blank` refuses it, a space in a code. They
# read the same in ECMAScript (OpenAPI's dialect) and in Python: lookaheads and no `$`
# (Python also matches it before a final newline), and the spaces spelled out, those of
# Python's `str.isspace`/`str.strip` (ECMAScript's `\s` is another set).
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"(?![\s\S]*\x00)"
NOT_BLANK: dict[str, Any] = {"minLength": 1, "pattern": rf"^{NO_NUL}[\s\S]*[^{SPACE}]"}
NO_SPACE: dict[str, Any] = {"minLength": 1, "pattern": rf"^(?![\s\S]*[{SPACE}\x00])"}


def one_of(enum_class: type[LicenceStatus] | type[PlanKind]) -> Messages:
    values = ", ".join(member.value for member in enum_class)
    return {"unknown": f"Valeur inconnue : attendu l'une de {values}."}


class QueryDateTime(fields.AwareDateTime):
    """An ISO 8601 date and time with its offset, in a query string. A "+" that was not
    percent-encoded arrives as a space ("08:00:00 02:00"): it is read back as "+"."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> datetime:
        if isinstance(value, str):
            value = value.strip().replace(" ", "+")
        return super()._deserialize(value, attr, data, **kwargs)


# --- reading licences -------------------------------------------------------------------


class LicenceQuerySchema(ApiSchema):
    status = fields.Enum(
        LicenceStatus,
        by_value=fields.String,
        error_messages=one_of(LicenceStatus),
        metadata={"description": "Seulement les licences dans cet état."},
    )
    updated_since = QueryDateTime(
        error_messages={
            "invalid": "Date et heure ISO 8601 attendues (ex. 2026-09-01T08:00:00+02:00).",
            "invalid_awareness": "Indiquez le fuseau horaire (ex. Z ou +02:00).",
        },
        metadata={
            "description": "Seulement les licences modifiées depuis cet instant (ISO 8601 "
            "avec fuseau horaire, ex. `2026-09-01T08:00:00Z`). Pour une synchronisation, "
            "gardez la date `updated_at` de la dernière licence lue."
        },
    )
    page = page_field()
    per_page = per_page_field(50, PER_PAGE_MAX, "Licences")


class LicenceSchema(ApiSchema):
    id = fields.Integer(metadata={"description": "Identifiant de la licence."})
    status = fields.Enum(
        LicenceStatus,
        by_value=fields.String,
        metadata={
            "description": "pending : livraison en cours ; active : accès fourni ; "
            "failed : livraison en échec ; revoked : commande annulée ; "
            "expired : fin de l'année scolaire."
        },
    )
    product_id = fields.Integer()
    product_title = fields.String(
        attribute="version.title",
        metadata={"description": "Le titre du produit dans la version achetée."},
    )
    plan = fields.Enum(PlanKind, by_value=fields.String, attribute="plan_kind")
    seats = fields.Integer(metadata={"description": "Élèves d'une offre classe ; 1 sinon."})
    school_uai = fields.String(
        attribute="school.uai", metadata={"description": "UAI de l'établissement."}
    )
    teacher_pseudonym = fields.Function(
        channels.teacher_pseudonym,
        metadata={
            "type": "string",
            "description": "Identifiant stable de l'enseignant, propre à votre entreprise.",
        },
    )
    valid_from = fields.Date()
    valid_until = fields.Date()
    access_url = fields.String(allow_none=True)
    external_id = fields.String(
        allow_none=True, metadata={"description": "Votre identifiant de la licence."}
    )
    activation_code = fields.String(allow_none=True)
    status_reason = fields.String(
        allow_none=True, metadata={"description": "Pourquoi la licence attend ou a échoué."}
    )
    opened_at = fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "Première ouverture de la ressource par l'enseignant (lien d'accès "
            "suivi, code révélé, ou première utilisation confirmée par vous pour le GAR) ; "
            "null tant qu'elle n'est pas connue. Ouverte, la commande ne peut plus être "
            "annulée."
        },
    )
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class LicencePageSchema(ApiSchema):
    items = fields.List(fields.Nested(LicenceSchema))
    total = fields.Integer(metadata={"description": "Licences répondant aux filtres."})
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer(metadata={"description": "Nombre de pages."})


# --- provisioning -----------------------------------------------------------------------


class ProvisioningSchema(ApiSchema):
    """`access_url` or `external_id`, or both (checked by `services.confirm`)."""

    # What the document adds to the fields: the rule above.
    OPENAPI = {
        "anyOf": [
            {"required": [name], "properties": {name: {"type": "string"}}}
            for name in ("access_url", "external_id")
        ]
    }

    access_url = fields.String(
        load_default=None,
        allow_none=True,
        validate=[
            validate.Regexp("^https://", error="Adresse https:// attendue."),
            validate.Length(max=500, error="{max} caractères au plus."),
        ],
        metadata={
            "description": "Adresse https:// où l'enseignant accède à la ressource.",
            "pattern": f"^https://{NO_NUL}",
        },
    )
    external_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=[not_blank, validate.Length(max=200, error="{max} caractères au plus.")],
        metadata={"description": "Votre identifiant de la licence.", **NOT_BLANK},
    )


class FirstUseSchema(ApiSchema):
    opened_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        error_messages={
            "invalid": "Date et heure ISO 8601 attendues (ex. 2026-09-01T08:00:00+02:00).",
            "invalid_awareness": "Indiquez le fuseau horaire (ex. Z ou +02:00).",
        },
        metadata={
            "description": "Instant de la première utilisation (ISO 8601 avec fuseau "
            "horaire) ; maintenant si absent. Ni dans le futur, ni avant l'achat."
        },
    )


class FailureSchema(ApiSchema):
    message = fields.String(
        required=True,
        validate=[not_blank, validate.Length(max=2000, error="{max} caractères au plus.")],
        error_messages=REQUIRED,
        metadata={
            "description": "La raison, montrée à l'enseignant et à l'opérateur.",
            **NOT_BLANK,
        },
    )


# --- activation codes -------------------------------------------------------------------


class CodesSchema(ApiSchema):
    plan = fields.Enum(
        PlanKind,
        by_value=fields.String,
        required=True,
        error_messages={**REQUIRED, **one_of(PlanKind)},
    )
    codes = fields.List(
        fields.String(
            # Also checked by the codes' own rules; declared here for the document, and so
            # that no absurdly long value reaches the CSV reader.
            validate=[
                not_blank,
                no_space,
                validate.Length(max=CODE_MAX_LENGTH, error="{max} caractères au plus."),
            ],
            metadata=NO_SPACE,
        ),
        required=True,
        validate=validate.Length(
            min=1, max=CODES_MAX_LINES, error="Entre {min} et {max} codes par envoi."
        ),
        error_messages={**REQUIRED, "invalid": "Une liste de codes est attendue."},
        # Duplicates are refused by the codes' rules, which name the first occurrence.
        metadata={
            "description": "Les codes, sans espace ni doublon ; tous ou aucun.",
            "uniqueItems": True,
        },
    )


class CodesAddedSchema(ApiSchema):
    added = fields.Integer(metadata={"description": "Nombre de codes enregistrés."})
