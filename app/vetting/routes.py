"""Reviewer pages: the commission's queue."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from app.accounts.models import Role
from app.core.auth import role_required

blueprint = Blueprint("vetting", __name__, template_folder="templates")


@blueprint.get("/commission")
@role_required(Role.REVIEWER)
def queue() -> ResponseReturnValue:
    return render_template("vetting/queue.html")
