"""The public information pages: open to everyone, signed in or not."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.accounts.models import Role, User
from app.core.retention import ACCOUNTING_YEARS
from app.site import services

blueprint = Blueprint("site", __name__, template_folder="templates")


def _render(endpoint: str, template: str, **context: Any) -> str:
    return render_template(f"site/{template}.html", title=str(services.TITLES[endpoint]), **context)


@blueprint.get("/accessibilite")
def accessibility() -> ResponseReturnValue:
    return _render("site.accessibility", "accessibility", audit=services.accessibility_audit())


@blueprint.get("/mentions-legales")
def legal_notice() -> ResponseReturnValue:
    return _render("site.legal_notice", "legal_notice")


@blueprint.get("/donnees-personnelles")
def privacy() -> ResponseReturnValue:
    return _render(
        "site.privacy",
        "privacy",
        periods=services.retention_periods(),
        accounting=services.duration_words(ACCOUNTING_YEARS * 365),
    )


@blueprint.get("/cookies")
def cookies() -> ResponseReturnValue:
    return _render(
        "site.cookies",
        "cookies",
        cookies=services.cookies(),
        local_storage=services.LOCAL_STORAGE_KEYS,
    )


@blueprint.get("/plan-du-site")
def site_map() -> ResponseReturnValue:
    user = current_user._get_current_object() if current_user.is_authenticated else None
    assert user is None or isinstance(user, User)
    return _render("site.site_map", "site_map", sections=services.site_map(user), roles=Role)


@blueprint.get("/aide")
def help() -> ResponseReturnValue:  # noqa: A001 - the page is « Aide »
    return _render("site.help", "help")


@blueprint.get("/contact")
def contact() -> ResponseReturnValue:
    return _render("site.contact", "contact")
