"""The open data as a public, read-only JSON API: the rows of the last generation (the same
as its files), page by page, with `ETag` and `Cache-Control`. No token; limited per network
address (``OPENDATA_API_PER_ADDRESS``). Documented at ``/api/v1/openapi.json``.

The view docstrings are the operations' summary and description in the OpenAPI document.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from marshmallow import RAISE
from werkzeug.exceptions import UnprocessableEntity

from app.accounts.tokens import ApiErrorSchema, invalid_arguments
from app.core.errors import NotFound
from app.extensions import limiter
from app.opendata import services
from app.opendata.schemas import CataloguePageSchema, PageQuerySchema, SpendingPageSchema

# Caches (browsers, proxies) may keep a page this long; a new generation comes once a day.
MAX_AGE = 3600

X_PAGINATION = {
    "description": "La pagination, en JSON : `total`, `total_pages`, `page`, et quand elles "
    "existent `first_page`, `last_page`, `previous_page`, `next_page` (entiers).",
    "schema": {"type": "string"},
}
CACHE_HEADERS = {
    "ETag": {
        "description": "Version de la page : renvoyez-la dans `If-None-Match` pour recevoir "
        "304 tant que les données n'ont pas changé.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": f"`public, max-age={MAX_AGE}`.",
        "schema": {"type": "string"},
    },
}

blueprint = Blueprint(
    "opendata_api",
    __name__,
    url_prefix="/api/v1/donnees-ouvertes",
    description="Les données ouvertes : le catalogue labellisé et les dépenses agrégées, "
    "sans authentification, sous Licence Ouverte 2.0 (etalab-2.0).",
)
limiter.shared_limit(
    lambda: str(current_app.config["OPENDATA_API_PER_ADDRESS"]), scope="opendata-api"
)(blueprint)
blueprint.register_error_handler(UnprocessableEntity, invalid_arguments)


def _public(doc: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    doc["security"] = []  # no token
    responses = doc.setdefault("responses", {})
    responses[422] = "API_INVALID"
    responses[429] = "API_RATE_LIMITED"
    responses["default"] = "API_ERROR"
    return doc


blueprint._prepare_doc_cbks.append(_public)


def _answer(
    name: str, page: int, per_page: int
) -> Response | tuple[dict[str, Any], dict[str, str]]:
    generation = services.latest()
    if generation is None:
        raise NotFound("Les données ouvertes n'ont pas encore été publiées.")
    found = services.page_of(generation, name, page, per_page)
    cache = {"ETag": f'"{found.etag}"', "Cache-Control": f"public, max-age={MAX_AGE}"}
    if request.if_none_match.contains_weak(found.etag):
        return Response(status=304, headers=cache)
    pages = math.ceil(found.total / per_page) if found.total else 0
    header: dict[str, int] = {"total": found.total, "total_pages": pages, "page": page}
    if pages:
        header |= {"first_page": 1, "last_page": pages}
    if 1 < page <= pages + 1:
        header["previous_page"] = page - 1
    if page < pages:
        header["next_page"] = page + 1
    body = {
        "items": list(found.rows),
        "total": found.total,
        "page": page,
        "per_page": per_page,
        "pages": pages,
        "genere_le": generation.generated_at,
    }
    return body, {"X-Pagination": json.dumps(header), **cache}


RESPONSE_HEADERS = {"X-Pagination": X_PAGINATION, **CACHE_HEADERS}
NOT_MODIFIED = "Les données n'ont pas changé depuis la version de `If-None-Match`."
NOT_PUBLISHED = "Rien n'a encore été publié."


@blueprint.route("/catalogue")
@blueprint.arguments(PageQuerySchema, location="query", unknown=RAISE)
@blueprint.response(200, CataloguePageSchema, headers=RESPONSE_HEADERS)
@blueprint.alt_response(304, description=NOT_MODIFIED)
@blueprint.alt_response(404, schema=ApiErrorSchema, description=NOT_PUBLISHED)
def catalogue(query: dict[str, Any]) -> Any:
    """Lister les offres du catalogue labellisé

    Une ligne par offre (produit × type de licence) en vente, avec l'éditeur (raison
    sociale, SIREN), les disciplines, niveaux, le prix TTC en euros, les dates du label et
    le résumé de la déclaration de pratiques en matière de données. Les mêmes lignes que
    le fichier `catalogue.json` de la dernière génération (page `/donnees-ouvertes`).
    """
    return _answer("catalogue", query["page"], query["per_page"])


@blueprint.route("/depenses")
@blueprint.arguments(PageQuerySchema, location="query", unknown=RAISE)
@blueprint.response(200, SpendingPageSchema, headers=RESPONSE_HEADERS)
@blueprint.alt_response(304, description=NOT_MODIFIED)
@blueprint.alt_response(404, schema=ApiErrorSchema, description=NOT_PUBLISHED)
def spending(query: dict[str, Any]) -> Any:
    """Lister les dépenses par académie, discipline, niveau et mois

    Le montant dépensé (euros TTC), le nombre de commandes et d'enseignants par année
    scolaire, mois, académie, discipline et niveau. Une case dont les achats viennent de
    moins de 10 enseignants est sous secret statistique (`secret_statistique`, chiffres
    vides). Une ressource de plusieurs disciplines ou niveaux compte dans chacun : ne pas
    additionner entre disciplines ou niveaux. Les mêmes lignes que `depenses.json`.
    """
    return _answer("depenses", query["page"], query["per_page"])
