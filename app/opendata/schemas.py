"""Marshmallow schemas of the open-data API, built from the datasets' Table Schemas
(app/opendata/services.py), so the API, the files and ``datapackage.json`` describe each
column once, in French."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.core.api_schemas import ApiSchema, page_field, per_page_field
from app.opendata.services import FIELDS, TITLES

PER_PAGE_DEFAULT = 100
PER_PAGE_MAX = 1000


class PageQuerySchema(ApiSchema):
    page = page_field()
    per_page = per_page_field(PER_PAGE_DEFAULT, PER_PAGE_MAX, "Lignes")


def _marshmallow_field(field: dict[str, Any]) -> fields.Field[Any]:
    required = bool(field.get("constraints", {}).get("required"))
    metadata: dict[str, Any] = {"description": field["description"]}
    kind = field["type"]
    options: dict[str, Any] = {"allow_none": not required, "metadata": metadata}
    if kind == "integer":
        return fields.Integer(**options)
    if kind == "number":
        return fields.Float(**options)
    if kind == "boolean":
        return fields.Boolean(**options)
    if kind == "date":
        metadata["format"] = "date"
    elif kind == "yearmonth":
        metadata["pattern"] = "^[0-9]{4}-[0-9]{2}$"
    return fields.String(**options)


def _row_schema(name: str, class_name: str) -> type[Schema]:
    declared = {field["name"]: _marshmallow_field(field) for field in FIELDS[name]}
    schema = Schema.from_dict(declared, name=class_name)
    schema.__doc__ = TITLES[name]
    return schema


CatalogueRowSchema = _row_schema("catalogue", "OffreCatalogue")
SpendingRowSchema = _row_schema("depenses", "DepensesCase")


def _page_schema(row_schema: type[Schema], class_name: str) -> type[Schema]:
    declared: dict[str, fields.Field[Any]] = {
        "items": fields.List(fields.Nested(row_schema), metadata={"description": "Les lignes."}),
        "total": fields.Integer(metadata={"description": "Nombre de lignes en tout."}),
        "page": fields.Integer(metadata={"description": "Numéro de cette page."}),
        "per_page": fields.Integer(metadata={"description": "Lignes par page."}),
        "pages": fields.Integer(metadata={"description": "Nombre de pages."}),
        "genere_le": fields.AwareDateTime(
            metadata={"description": "Date et heure de la génération servie (ISO 8601)."}
        ),
    }
    return Schema.from_dict(declared, name=class_name)


CataloguePageSchema = _page_schema(CatalogueRowSchema, "PageCatalogue")
SpendingPageSchema = _page_schema(SpendingRowSchema, "PageDepenses")
