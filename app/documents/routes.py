"""No pages of its own: the blueprint makes the document templates available."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("documents", __name__, template_folder="templates")
