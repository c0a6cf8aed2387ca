"""The vendors' REST API for licences: read them, confirm or refuse their provisioning,
upload activation codes. Under ``/api/v1``, documented at ``/api/v1/openapi.json``.

Every endpoint is scoped to the vendor of the request's token (see
:class:`app.accounts.tokens.ApiBlueprint`): another vendor's licence or product answers
404, never 403, so that nobody learns it exists.

The view docstrings are the operations' summary and description in the OpenAPI document,
hence in French like the rest of what vendors read.

Orders are not part of this API yet: a licence does not show its order (``order_line_id``),
and there is no endpoint for a vendor's orders; a later issue adds them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.tokens import ApiBlueprint, current_token, current_vendor
from app.core.args import MAX_ID
from app.core.errors import ValidationFailed
from app.extensions import db
from app.licences import services
from app.licences.models import Licence
from app.licences.schemas import (
    CodesAddedSchema,
    CodesSchema,
    FailureSchema,
    FirstUseSchema,
    LicencePageSchema,
    LicenceQuerySchema,
    LicenceSchema,
    ProvisioningSchema,
)
from app.products import services as products

# An identifier in a path: a PostgreSQL `integer`; past it, 404 like any unknown id.
ID = f"int(min=1, max={MAX_ID})"

X_PAGINATION = {
    "description": "La pagination, en JSON : `total`, `total_pages`, `page`, et quand elles "
    "existent `first_page`, `last_page`, `previous_page`, `next_page` (entiers).",
    "schema": {"type": "string"},
}

blueprint = ApiBlueprint(
    "licences_api",
    __name__,
    url_prefix="/api/v1",
    description="Les licences des produits de votre entreprise et leurs codes d'activation.",
)


@blueprint.route("/licences")
@blueprint.arguments(LicenceQuerySchema, location="query", unknown=RAISE)
@blueprint.response(200, LicencePageSchema, headers={"X-Pagination": X_PAGINATION})
def list_licences(query: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Lister les licences

    Les licences de vos produits, de la plus anciennement modifiée à la plus récente
    (`updated_at`, puis `id`), page par page. Le corps donne le total ; l'en-tête
    `X-Pagination` le donne aussi, avec les pages précédente et suivante.
    """
    page = services.vendor_licences(current_vendor().id, **query)
    _load_for_dump(page.licences)
    pages = math.ceil(page.total / page.per_page) if page.total else 0
    header = {"total": page.total, "total_pages": pages, "page": page.page}
    if pages:
        header |= {"first_page": 1, "last_page": pages}
    if 1 < page.page <= pages + 1:
        header["previous_page"] = page.page - 1
    if page.page < pages:
        header["next_page"] = page.page + 1
    body = {
        "items": page.licences,
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": pages,
    }
    return body, {"X-Pagination": json.dumps(header)}


@blueprint.route(f"/licences/<{ID}:licence_id>")
@blueprint.response(200, LicenceSchema)
@blueprint.alt_response(404, response="API_NOT_FOUND")
def get_licence(licence_id: int) -> Licence:
    """Lire une licence

    Une licence d'un de vos produits ; 404 si elle n'existe pas ou n'est pas la vôtre.
    """
    return services.vendor_licence(current_vendor().id, licence_id)


@blueprint.route(f"/licences/<{ID}:licence_id>/provisioning", methods=["POST"])
@blueprint.arguments(ProvisioningSchema)
@blueprint.response(200, LicenceSchema)
@blueprint.alt_response(404, response="API_NOT_FOUND")
@blueprint.alt_response(409, response="API_CONFLICT")
def confirm_provisioning(body: dict[str, Any], licence_id: int) -> Licence:
    """Confirmer la livraison

    Après un appel de livraison (webhook) auquel vous avez répondu `202`, indiquez
    l'adresse d'accès (`https://`) ou votre identifiant de la licence : elle devient
    active. Confirmer à nouveau une licence active ne change rien ; une licence
    annulée ou expirée répond 409.
    """
    licence = services.vendor_licence(current_vendor().id, licence_id)
    services.confirm(
        current_token(), licence, access_url=body["access_url"], external_id=body["external_id"]
    )
    db.session.commit()
    return licence


@blueprint.route(f"/licences/<{ID}:licence_id>/failure", methods=["POST"])
@blueprint.arguments(FailureSchema)
@blueprint.response(200, LicenceSchema)
@blueprint.alt_response(404, response="API_NOT_FOUND")
@blueprint.alt_response(409, response="API_CONFLICT")
def report_failure(body: dict[str, Any], licence_id: int) -> Licence:
    """Signaler un échec de livraison

    La licence passe en échec avec votre message, visible de l'enseignant et de
    l'opérateur, qui peut relancer la livraison.
    """
    licence = services.vendor_licence(current_vendor().id, licence_id)
    services.fail(licence, body["message"].strip(), current_token())
    db.session.commit()
    return licence


@blueprint.route(f"/licences/<{ID}:licence_id>/first-use", methods=["POST"])
@blueprint.arguments(FirstUseSchema)
@blueprint.response(200, LicenceSchema)
@blueprint.alt_response(404, response="API_NOT_FOUND")
@blueprint.alt_response(409, response="API_CONFLICT")
def confirm_first_use(body: dict[str, Any], licence_id: int) -> Licence:
    """Confirmer la première utilisation (GAR)

    Pour une licence distribuée par le GAR, active : l'enseignant ou ses élèves ont utilisé
    la ressource pour la première fois (`opened_at`, maintenant par défaut). La commande
    ne peut plus être annulée. Seule la première confirmation compte ; la renvoyer ne
    change rien. Une licence d'un autre canal (ses ouvertures passent par Compte
    Ressources) ou non active répond 409. Sans confirmation, une licence GAR est
    considérée comme ouverte 14 jours après sa livraison.
    """
    licence = services.vendor_licence(current_vendor().id, licence_id)
    services.confirm_first_use(licence, body["opened_at"], current_token())
    db.session.commit()
    return licence


@blueprint.route(f"/products/<{ID}:product_id>/codes", methods=["POST"])
@blueprint.arguments(CodesSchema)
@blueprint.response(201, CodesAddedSchema)
@blueprint.alt_response(404, response="API_NOT_FOUND")
@blueprint.alt_response(409, response="API_CONFLICT")
def upload_codes(body: dict[str, Any], product_id: int) -> dict[str, int]:
    """Déposer des codes d'activation

    Pour l'offre (`plan`) d'un produit livré par codes. Tous les codes sont enregistrés,
    ou aucun : un code vide, avec une espace ou en double dans l'envoi refuse l'envoi
    (422, le détail nomme chaque code fautif : `codes[3]`) ; un code déjà déposé, une
    offre que le produit n'a pas ou un produit livré autrement le refusent aussi (409).
    Les licences qui attendaient un code en reçoivent un aussitôt.
    """
    product = products.vendor_product(current_vendor().id, product_id)
    codes = _checked_codes(body["codes"])
    added = services.upload_codes(current_token(), product, body["plan"], codes)
    db.session.commit()
    return {"added": added}


def _checked_codes(codes: list[str]) -> list[str]:
    """The codes checked by the rules of an uploaded file (`services.parse_codes`): they
    are written as that file (a header, then one code a line), and the file's line
    numbers in the refusal are turned back into positions in the list."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["code"])
    writer.writerows([code] for code in codes)
    try:
        return services.parse_codes(io.StringIO(buffer.getvalue(), newline=""))
    except ValidationFailed as refused:

        def position(text: str) -> str:
            text = re.sub(r"ligne (\d+)", lambda line: f"codes[{int(line[1]) - 2}]", text)
            return "codes" if text == "fichier" else text

        details = {
            position(key): [position(reason) for reason in reasons]
            for key, reasons in refused.details.items()
        }
        raise ValidationFailed(
            "Les codes sont refusés : rien n'a été enregistré.", details=details
        ) from refused


def _load_for_dump(licences: list[Licence]) -> None:
    """Load what the schema reads of a page of licences in three queries, not three per
    licence. (`services.vendor_licences` could take these options itself.)"""
    if licences:
        db.session.scalars(
            select(Licence)
            .where(Licence.id.in_([licence.id for licence in licences]))
            .options(
                selectinload(Licence.version),
                selectinload(Licence.school),
                selectinload(Licence.code),
            )
        ).all()
