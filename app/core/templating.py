"""What every template can use: navigation, locale, money, date and list formatting."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Literal

from babel.lists import format_list
from flask import Flask, has_request_context, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from app.accounts.navigation import role_links
from app.core.money import format_euros


def format_cents(cents: int | None) -> str:
    """12,50 € in French, €12.50 in English; integer cents in, text out."""
    if cents is None:
        return ""
    if str(get_locale() or "fr").startswith("fr"):
        return format_euros(cents)
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}€{euros:,}.{rest:02d}"


ListStyle = Literal["standard", "or"]


def join_list(items: Iterable[object], style: ListStyle = "standard") -> str:
    """Words joined for people in the current locale: "a, b et c" ("standard") or
    "a, b ou c" ("or") in French, "a, b, and c" in English. Empty: ""."""
    words = [str(item) for item in items]
    return format_list(words, style, locale=str(get_locale() or "fr")) if words else ""


def query_url(endpoint: str, query: Mapping[str, Any], **values: Any) -> str:
    """`url_for(endpoint)` keeping the arguments of `query` (the request's, say) that are
    not `url_for`'s own (`endpoint`, `_external`, `_anchor`…); `values` win over them."""
    kept = {
        name: value
        for name, value in query.items()
        if name != "endpoint" and not name.startswith("_") and name not in values
    }
    return url_for(endpoint, **kept, **values)


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        from app.notifications.services import unread_count

        signed_in = has_request_context() and current_user.is_authenticated
        links = role_links(current_user) if signed_in else []  # documents render outside requests
        return {
            "navigation": links,
            "current_locale": lambda: str(get_locale() or "fr"),
            "unread_notifications": lambda: unread_count(current_user.id) if signed_in else 0,
        }

    app.add_template_filter(format_cents, "cents")
    app.add_template_filter(join_list, "join_list")
    app.add_template_global(query_url)

    @app.template_filter("day")
    def format_day(value: date | None) -> str:
        return format_date(value, "long") if value else ""

    @app.template_filter("moment")
    def format_moment(value: datetime | None) -> str:
        return format_datetime(value, "short") if value else ""
