"""The operator's audit log viewer: who did what, on which object, when; filtered by
object, by actor and by dates, newest first, in French (app/core/audit_labels.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.accounts.models import Role
from app.core import args, audit, audit_labels
from app.core.auth import role_required
from app.core.errors import BadRequest

blueprint = Blueprint("audit", __name__)


@blueprint.app_context_processor
def audit_words() -> dict[str, object]:
    """`audit_labels` in every template: the pages that show audit events (this viewer, a
    vendor's or a user's page) name them in French."""
    return {"audit_labels": audit_labels}


def _text(name: str, longest: int) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > longest:
        raise args.refused(name, _("%(num)s caractères au plus.", num=longest))
    return value


def _filters(errors: dict[str, str]) -> audit.EventFilters:
    """The filters asked; each refused one is left out and its French reason put in
    `errors`, by argument."""
    found: dict[str, object] = {}
    readers: dict[str, Callable[[], object]] = {
        "objet_type": lambda: _text("objet_type", 64),
        "objet": lambda: _text("objet", 64),
        "auteur": lambda: _text("auteur", 100),
        "du": lambda: args.day("du"),
        "au": lambda: args.day("au"),
    }
    for name, read in readers.items():
        try:
            found[name] = read()
        except BadRequest as refused:
            errors[name] = refused.details[name][0]
    object_type = str(found.get("objet_type") or "")
    if object_type and object_type not in audit_labels.OBJECT_TYPE_LABELS:
        errors["objet_type"] = _("type d’objet inconnu.")
    if found.get("objet") and not object_type:
        errors["objet"] = _("choisissez aussi le type de l’objet.")
    since, until = found.get("du"), found.get("au")
    if isinstance(since, date) and isinstance(until, date) and since > until:
        first = since.strftime("%d/%m/%Y")
        errors["au"] = _("la date de fin doit être le %(day)s ou après.", day=first)
    return audit.EventFilters(
        object_type=object_type or None,
        object_id=str(found.get("objet") or "") or None,
        actor=str(found.get("auteur") or ""),
        since=since if isinstance(since, date) else None,
        until=until if isinstance(until, date) else None,
    )


@blueprint.get("/admin/journal")
@role_required(Role.ADMIN)
def journal() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    filters = _filters(errors)
    found = None if errors else audit.search(filters, args.page())
    asked = {name: request.args.get(name, "").strip() for name in audit_args()}
    return render_template(
        "audit/journal.html",
        found=found,
        errors=errors,
        asked=asked,
        page_args={name: value for name, value in asked.items() if value},
        object_types=sorted(audit_labels.OBJECT_TYPE_LABELS.items(), key=lambda item: str(item[1])),
    ), (400 if errors else 200)


def audit_args() -> tuple[str, ...]:
    return ("objet_type", "objet", "auteur", "du", "au")
