"""The page « Données ouvertes » and the files of the last generation: public, no login."""

from __future__ import annotations

import io

from flask import Blueprint, render_template, send_file
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.core.errors import NotFound
from app.opendata import services

blueprint = Blueprint(
    "opendata", __name__, url_prefix="/donnees-ouvertes", template_folder="templates"
)

# Browsers and proxies may keep a file this long; a new generation comes once a day.
FILE_MAX_AGE = 3600
MIMETYPES = {"csv": "text/csv", "json": "application/json"}


@blueprint.get("")
def index() -> ResponseReturnValue:
    generation = services.latest()
    return render_template(
        "opendata/index.html",
        title=_("Données ouvertes"),
        generation=generation,
        small_count=services.SMALL_COUNT,
        separator=services.LIST_SEPARATOR.strip(),
        licence=services.LICENCE,
        datasets=services.DATASETS,
        titles=services.TITLES,
        descriptions=services.DESCRIPTIONS,
        fields=services.FIELDS,
    )


@blueprint.get("/<filename>")
def download(filename: str) -> ResponseReturnValue:
    """A file of the last generation, under its published name (`catalogue.csv`…), the
    name ``datapackage.json`` gives it, so the package's relative paths work."""
    if filename not in services.FILENAMES:
        raise NotFound("Fichier introuvable.")
    generation = services.latest()
    if generation is None:
        raise NotFound("Les données ouvertes n'ont pas encore été publiées.")
    key = generation.key(filename)
    response = send_file(
        io.BytesIO(services.read_file(generation, filename)),
        mimetype=MIMETYPES[filename.rsplit(".", 1)[-1]],
        download_name=filename,
        as_attachment=filename != services.PACKAGE,
        etag=key.rsplit("/", 1)[-1].split(".")[0],
        max_age=FILE_MAX_AGE,
    )
    response.cache_control.public = True
    return response
