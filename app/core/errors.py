"""Domain errors and the one place where errors become responses.

Services raise a `DomainError` (or a subclass) with a stable `code` and a French
message for the user. `register_error_handlers` turns it, and the HTTP errors
Flask raises itself, into a French HTML page or, for the API and for clients
that ask for JSON, into `{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.core.limits import request_limit_text
from app.extensions import db, limiter


class DomainError(Exception):
    """A business rule refused the operation. 422 unless a subclass says otherwise."""

    status = 422
    code = "refused"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ValidationFailed(DomainError):
    """Input refused; `details` maps each field (or line) to its reasons."""

    code = "invalid"


class BadRequest(ValidationFailed):
    """The request itself is malformed (a query argument, a NUL byte…): 400."""

    status = 400
    code = "bad_request"


# Titles of the HTTP errors the application shows as pages.
HTTP_TITLES = {
    400: _l("Requête invalide"),
    401: _l("Connexion requise"),
    403: _l("Accès refusé"),
    404: _l("Page introuvable"),
    405: _l("Méthode non autorisée"),
    409: _l("Conflit"),
    413: _l("Envoi trop volumineux"),
    422: _l("Opération refusée"),
    429: _l("Trop de tentatives"),
    500: _l("Erreur interne"),
    503: _l("Service indisponible"),
}


def _http_message(status: int) -> str:
    messages = {
        400: _("La requête n'a pas pu être comprise."),
        401: _("Connectez-vous pour accéder à cette page."),
        403: _("Vous n'avez pas accès à cette page."),
        404: _("La page demandée n'existe pas ou a été déplacée."),
        405: _("Cette action n'est pas possible sur cette page."),
        429: _("Trop de tentatives en peu de temps. Réessayez dans quelques minutes."),
        500: _("Une erreur inattendue s'est produite. L'équipe technique a été prévenue."),
        503: _("Le service est momentanément indisponible."),
    }
    return str(messages.get(status, _("Une erreur s'est produite.")))


def is_api_request() -> bool:
    """A request to the vendors' REST API, which answers in JSON only."""
    return request.path.startswith("/api/")


def wants_json() -> bool:
    if is_api_request() or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> tuple[Response | str, int]:
    if wants_json():
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return jsonify(body), status
    title = str(HTTP_TITLES.get(status, _("Erreur")))
    page = render_template(
        "errors/error.html", status=status, title=title, message=message, details=details or {}
    )
    return page, status


def retry_after_seconds() -> int:
    """How long until the limit this request reached lets it through again."""
    reached = limiter.current_limit
    if reached is None:
        return 60
    return max(1, int(reached.reset_at - time.time()))  # as flask-limiter writes it


def rate_limited_message() -> tuple[str, dict[str, str]]:
    """What a refused person reads, in French, and the `Retry-After` giving the same wait."""
    seconds = retry_after_seconds()
    if seconds < 120:
        wait = ngettext("%(num)d seconde", "%(num)d secondes", seconds)
    else:
        minutes = math.ceil(seconds / 60)
        wait = ngettext("%(num)d minute", "%(num)d minutes", minutes)
    message = _("Trop de tentatives en peu de temps. Réessayez dans %(wait)s.", wait=wait)
    return message, {"Retry-After": str(seconds)}


def rate_limited_response() -> tuple[Response | str, int, dict[str, str]]:
    """429, saying in French how long to wait, with the same figure in `Retry-After`."""
    message, headers = rate_limited_message()
    body, status = error_response(429, "rate_limited", message)
    return body, status, headers


def _too_large() -> tuple[Response | str, int]:
    """413: the body was refused unread; the message names the limit."""
    limit = request_limit_text()
    if wants_json():
        message = _(
            "Le corps de la requête dépasse %(limit)s, la taille maximale acceptée.", limit=limit
        )
        return error_response(413, "too_large", message, {"max_bytes": request.max_content_length})
    message = _(
        "L'envoi dépasse %(limit)s, la taille maximale acceptée. Découpez le fichier en "
        "plusieurs fichiers plus petits et envoyez-les un par un.",
        limit=limit,
    )
    return error_response(413, "too_large", message)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limited(error: RateLimitExceeded) -> ResponseReturnValue:
        # Refused before the view: nothing was written. A limit may bring its own page
        # (its `on_breach`, as the login form does); otherwise the error page.
        if error.response is not None:
            return error.response
        return rate_limited_response()

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> tuple[Response | str, int]:
        db.session.rollback()  # whatever the refused operation flushed is not kept
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError) -> tuple[Response | str, int]:
        message = _("Le formulaire a expiré ou n'est pas valide. Rechargez la page et réessayez.")
        return error_response(400, "csrf", message)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if status < 400 or error.response is not None:
            return error
        code = (error.name or "error").lower().replace(" ", "_")
        details = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        if status == 413:
            return _too_large()
        body, status = error_response(status, code, _http_message(status), details)
        # Werkzeug's own headers: `Allow` on a 405 (RFC 9110), `WWW-Authenticate` on a 401…
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Any:
        db.session.rollback()
        app.logger.exception("Unhandled error", exc_info=error)
        if app.config.get("PROPAGATE_EXCEPTIONS"):
            raise error
        return error_response(500, "internal_error", _http_message(500))
