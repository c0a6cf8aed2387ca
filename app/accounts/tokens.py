"""API tokens: creating, listing and revoking them, and how the vendors' API knows its caller.

A token is ``cr_`` followed by 43 random URL-safe characters. Only its SHA-256 is stored:
the token itself is shown once, when it is created. A request to the API names its
token in ``Authorization: Bearer <token>``; :func:`vendor_for_request` answers with the
token's vendor, or refuses with 401 (no token, unknown or revoked) or 403 (the vendor
is suspended).

:class:`ApiBlueprint` is the flask-smorest blueprint every API module uses: each of its
endpoints needs a token, is exempt from the CSRF check (the API authenticates by token,
never by cookie), is rate-limited per token (``API_REQUESTS_PER_TOKEN``, 429 with
``Retry-After``), is documented with the bearer scheme, and answers its errors in the
application's JSON shape ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import UnprocessableEntity

from app.accounts.models import ApiToken, User
from app.core import audit
from app.core.db import utcnow
from app.core.errors import DomainError, Forbidden, NotFound, ValidationFailed, error_response
from app.core.limits import network_address
from app.extensions import csrf, db, limiter
from app.vendors.models import Vendor

TOKEN_PREFIX = "cr_"  # noqa: S105 - not a secret: what every token starts with
PREFIX_LENGTH = 10  # "cr_" and 7 random characters: enough to recognise a token in a list
NAME_MAX_LENGTH = 100
# `last_used_at` is written at most this often per token, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)

SECURITY_SCHEME = "bearerAuth"
REALM = "Compte Ressources"


class Unauthorized(DomainError):
    """No token, or a token we do not know (or no longer accept): HTTP 401."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        super().__init__(message)
        self.invalid_token = invalid_token

    @property
    def challenge(self) -> str:
        """The `WWW-Authenticate` header (RFC 6750)."""
        challenge = f'Bearer realm="{REALM}"'
        return challenge + ', error="invalid_token"' if self.invalid_token else challenge


def digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


# --- the vendor's tokens ----------------------------------------------------------------


def create_token(actor: User, vendor: Vendor, name: str) -> tuple[ApiToken, str]:
    """A new token of `vendor`, and the token itself: the only time it is known."""
    name = name.strip()
    if not name:
        raise ValidationFailed(
            "Donnez un nom au jeton (par exemple le logiciel qui l'utilisera).",
            details={"name": ["obligatoire"]},
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(
            "Le nom du jeton est trop long.",
            details={"name": [f"{NAME_MAX_LENGTH} caractères au plus"]},
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        vendor_id=vendor.id,
        name=name,
        token_sha256=digest(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_by=actor.id,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.created", "api_token", token.id, vendor_id=vendor.id, name=name)
    return token, raw


def revoke_token(actor: User, token: ApiToken) -> None:
    """The token stops working at once. Revoking it again changes nothing."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit.record(actor, "api_token.revoked", "api_token", token.id, vendor_id=token.vendor_id)


def vendor_tokens(vendor: Vendor) -> list[ApiToken]:
    """The vendor's tokens, newest first, revoked ones included."""
    query = (
        select(ApiToken)
        .where(ApiToken.vendor_id == vendor.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(db.session.scalars(query))


def vendor_token(vendor_id: int, token_id: int) -> ApiToken:
    """A token of this vendor; NotFound for another vendor's token."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.vendor_id != vendor_id:
        raise NotFound("Jeton introuvable.")
    return token


# --- authentication of the API --------------------------------------------------------


def _bearer_token() -> str | None:
    """The token of the request's ``Authorization: Bearer …`` header."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip()
    return raw if scheme.lower() == "bearer" and raw else None


def request_token() -> ApiToken | None:
    """The known token (revoked or not) the request carries, looked up once per request:
    the rate limit and the authentication both ask."""
    if "api_token" not in g:
        raw = _bearer_token()
        g.api_token = raw and db.session.scalar(
            select(ApiToken)
            .where(ApiToken.token_sha256 == digest(raw))
            .options(joinedload(ApiToken.vendor))
        )
    token: ApiToken | None = g.api_token
    return token


def rate_limit_key() -> str:
    """Requests are counted per token; those without a known token, per network address."""
    token = request_token()
    return f"api-token:{token.id}" if token else f"api-address:{network_address()}"


def vendor_for_request() -> Vendor:
    """The vendor whose token the request carries. Records when the token was last used
    (to the minute); the caller commits."""
    if _bearer_token() is None:
        raise Unauthorized(
            "Authentification requise : envoyez votre jeton dans l'en-tête "
            "« Authorization: Bearer <jeton> »."
        )
    token = request_token()
    if token is None:
        raise Unauthorized("Jeton d'accès inconnu.", invalid_token=True)
    if token.revoked_at is not None:
        raise Unauthorized("Ce jeton d'accès a été révoqué.", invalid_token=True)
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    if not token.vendor.active:
        raise Forbidden(
            f"L'API est fermée à votre entreprise (statut : « {token.vendor.status.label} »)."
        )
    return token.vendor


def current_vendor() -> Vendor:
    """The vendor authenticated for this API request (see :class:`ApiBlueprint`)."""
    vendor: Vendor = g.api_vendor
    return vendor


def current_token() -> ApiToken:
    """The token of this API request: the actor of what the request does."""
    token: ApiToken = g.api_token
    return token


def _authenticate() -> None:
    g.api_vendor = vendor_for_request()
    if db.session.dirty:
        # Its own small transaction: the token's last use is kept whatever the request does.
        db.session.commit()


def _unauthorized(error: Unauthorized) -> tuple[Response | str, int, dict[str, str]]:
    db.session.rollback()
    body, status = error_response(error.status, error.code, error.message, error.details)
    return body, status, {"WWW-Authenticate": error.challenge}


def field_errors(messages: Mapping[Any, Any], prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as one list of reasons per field path
    (``codes[3]``, ``plan``), the paths the services use in their details."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if isinstance(key, int):
            path = f"{prefix}[{key}]"
        elif key == "_schema":
            path = prefix or "body"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            for name, reasons in field_errors(value, path).items():
                flat.setdefault(name, []).extend(reasons)
        else:
            reasons = value if isinstance(value, list) else [value]
            flat.setdefault(path, []).extend(str(reason) for reason in reasons)
    return flat


def invalid_arguments(error: UnprocessableEntity) -> tuple[Response | str, int]:
    """webargs' 422 (a schema refused the query or the body) in the application's shape."""
    data = getattr(error, "data", None) or {}
    details: dict[str, list[str]] = {}
    for location_errors in (data.get("messages") or {}).values():  # {"json": {...}, "query": …}
        for name, reasons in field_errors(location_errors).items():
            details.setdefault(name, []).extend(reasons)
    message = "Les données envoyées sont invalides : voir le détail par champ."
    return error_response(422, ValidationFailed.code, message, details)


class ApiErrorBodySchema(Schema):
    code = fields.String(metadata={"description": "Stable, pour vos programmes : invalid…"})
    message = fields.String(metadata={"description": "Pour les personnes, en français."})
    details = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Les raisons, par champ (`codes[3]`, `access_url`…)."},
    )


class ApiErrorSchema(Schema):
    error = fields.Nested(ApiErrorBodySchema)


# Response components of the API's errors, documented on the operations that give them.
ERROR_RESPONSES = {
    "API_UNAUTHORIZED": "Jeton absent, inconnu ou révoqué.",
    "API_FORBIDDEN": "Le compte de votre entreprise est suspendu.",
    "API_NOT_FOUND": "Introuvable parmi les vôtres.",
    "API_CONFLICT": "Impossible dans l'état actuel (par exemple d'une licence annulée).",
    "API_INVALID": "Données refusées : `details` nomme chaque champ et ses raisons.",
    "API_RATE_LIMITED": "Trop de requêtes avec ce jeton : réessayez après le nombre de "
    "secondes de l'en-tête `Retry-After`.",
    "API_ERROR": "Erreur.",
}


class ApiBlueprint(Blueprint):
    """A blueprint of the vendors' API: every endpoint needs a vendor's token, and is
    documented so (the bearer scheme, 401 and 403, the application's error shape).
    Document 404 and 409 with ``@blueprint.alt_response(404, response="API_NOT_FOUND")``,
    and what a schema's fields cannot say in its ``OPENAPI`` class attribute."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        csrf.exempt(self)
        limiter.shared_limit(
            lambda: str(current_app.config["API_REQUESTS_PER_TOKEN"]),
            scope="api",
            key_func=rate_limit_key,
        )(self)
        self.before_request(_authenticate)
        self.register_error_handler(Unauthorized, _unauthorized)
        self.register_error_handler(UnprocessableEntity, invalid_arguments)
        self._prepare_doc_cbks.append(_document_security_and_errors)

    def register_views_in_doc(self, api: Any, app: Any, spec: Any, **kwargs: Any) -> None:
        components = spec.components
        if SECURITY_SCHEME not in components.security_schemes:
            components.security_scheme(
                SECURITY_SCHEME,
                {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Le jeton créé dans l'espace éditeur, page « Accès à "
                    "l'API » : `Authorization: Bearer cr_…`.",
                },
            )
            components.schema("ApiError", schema=ApiErrorSchema)
            for name, description in ERROR_RESPONSES.items():
                content = {"application/json": {"schema": "ApiError"}}
                components.response(name, {"description": description, "content": content})
        super().register_views_in_doc(api, app, spec, **kwargs)
        # A rule over several fields, which marshmallow cannot say in the document, is the
        # schema's `OPENAPI` (e.g. an `anyOf`), added to its component.
        for key, name in api.ma_plugin.converter.refs.items():
            spec.components.schemas[name].update(getattr(key[0], "OPENAPI", {}))


def _document_security_and_errors(doc: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """Every operation needs the token, may answer 401 and 403; its 422 and other errors
    have the application's shape, not flask-smorest's."""
    doc["security"] = [{SECURITY_SCHEME: []}]
    responses = doc.setdefault("responses", {})
    responses[401] = "API_UNAUTHORIZED"
    responses[403] = "API_FORBIDDEN"
    responses[429] = "API_RATE_LIMITED"
    if 422 in responses:
        responses[422] = "API_INVALID"
    responses["default"] = "API_ERROR"
    return doc
