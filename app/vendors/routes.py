"""Vendor pages: the company space of vendor staff."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.accounts.models import Role
from app.core.auth import role_required

blueprint = Blueprint("vendors", __name__, template_folder="templates")


@blueprint.get("/editeur")
@role_required(Role.VENDOR)
def home() -> ResponseReturnValue:
    return render_template("vendors/home.html", vendors=current_user.scopes(Role.VENDOR))
