"""Signing in with ProConnect, the State's identity federation for its agents (OpenID
Connect, https://partenaires.proconnect.gouv.fr).

The flow is Authlib's Flask client: authorization code with PKCE (S256), a `state` and a
`nonce` of 43 characters kept in the session. On the way back, Authlib checks the state,
exchanges the code and verifies the id_token (signature from the provider's JWKS, issuer,
audience, expiry, nonce); we verify it again with a closed list of algorithms (RS256,
ES256: never `none`, never HS256). ProConnect sends userinfo as a signed JWT
(`application/jwt`): it is verified with the same keys and must name the same subject.

Who may come in (`sign_in_with_proconnect`): the account whose address is the verified
e-mail, linked on that first visit to the provider's `sub`, found by `sub` afterwards.
Nobody is created: a person without an account is told who opens accounts. A teacher
registered by an allocation is activated on the spot, without ever choosing a password.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.flask_client import OAuth
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import Blueprint, current_app, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.accounts import services
from app.accounts.models import ExternalIdentity, User
from app.accounts.navigation import home_url
from app.accounts.signin import sign_in
from app.core import audit
from app.core.db import utcnow
from app.core.errors import DomainError
from app.extensions import db
from app.mail import public_url

PROVIDER = "proconnect"
SCOPES = "openid given_name usual_name email uid siret idp_id"
ALGORITHMS = ["RS256", "ES256"]
ID_TOKEN = "proconnect_id_token"  # noqa: S105 - a session key; kept in the session for the logout at the provider
NONCE = "proconnect_nonce"

blueprint = Blueprint("proconnect", __name__, template_folder="templates")


class Refused(DomainError):
    """ProConnect's answer cannot be trusted, or names nobody we know."""

    status = 400


class NoAccount(DomainError):
    status = 403


def enabled() -> bool:
    return bool(current_app.config["PROCONNECT_ISSUER"])


def _client() -> FlaskOAuth2App:
    """The Authlib client of the configured provider, one per (issuer, client) per app:
    its discovery document and keys are fetched once."""
    config = current_app.config
    key = (config["PROCONNECT_ISSUER"], config["PROCONNECT_CLIENT_ID"])
    clients: dict[tuple[str, str], FlaskOAuth2App] = current_app.extensions.setdefault(
        "proconnect_clients", {}
    )
    if key not in clients:
        oauth = OAuth(current_app)
        clients[key] = oauth.register(
            PROVIDER,
            client_id=config["PROCONNECT_CLIENT_ID"],
            client_secret=config["PROCONNECT_CLIENT_SECRET"],
            server_metadata_url=config["PROCONNECT_ISSUER"].rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": SCOPES,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_post",
            },
        )
    return clients[key]


def _verified(
    raw: str, client: FlaskOAuth2App, *, expires: bool, **expected: Any
) -> dict[str, Any]:
    """The claims of a JWT signed by the provider with an accepted algorithm, whose
    issuer and audience are ours, not expired, and with the `expected` values."""
    keys = KeySet.import_key_set(client.fetch_jwk_set())
    try:
        token = jwt.decode(raw, keys, algorithms=ALGORITHMS)
        claims: dict[str, ClaimsOption] = {
            "iss": {"essential": True, "value": client.load_server_metadata()["issuer"]},
            "aud": {"essential": True, "value": current_app.config["PROCONNECT_CLIENT_ID"]},
            **{name: {"essential": True, "value": value} for name, value in expected.items()},
        }
        if expires:
            claims["exp"] = {"essential": True}
        jwt.JWTClaimsRegistry(leeway=30, **claims).validate(token.claims)  # type: ignore[arg-type]
    except (JoseError, ValueError) as error:
        raise Refused(
            _("La réponse de ProConnect n'a pas pu être vérifiée : la connexion est refusée."),
            code="proconnect_unverified",
        ) from error
    return dict(token.claims)


def _userinfo(client: FlaskOAuth2App, token: dict[str, Any], subject: str) -> dict[str, Any]:
    """What ProConnect says of the person: a signed JWT, verified, about `subject`."""
    endpoint = client.load_server_metadata()["userinfo_endpoint"]
    response = client.get(endpoint, token=token)
    if response.status_code != 200:
        raise Refused(_("ProConnect n'a pas donné les informations demandées."))
    if response.headers.get("Content-Type", "").startswith("application/jwt"):
        return _verified(response.text.strip(), client, expires=False, sub=subject)
    raise Refused(_("ProConnect a répondu dans un format inattendu : la connexion est refusée."))


def sign_in_with_proconnect(subject: str, claims: dict[str, Any]) -> User:
    """The account of the person ProConnect vouched for (see the module docstring)."""
    identity = db.session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.provider == PROVIDER, ExternalIdentity.subject == subject
        )
    )
    if identity is not None:
        user = identity.user
    else:
        email = str(claims.get("email") or "")
        if not email or claims.get("email_verified") is False:
            raise Refused(
                _(
                    "ProConnect n'a pas confirmé votre adresse électronique : nous ne pouvons "
                    "pas retrouver votre compte."
                ),
                code="proconnect_unverified_email",
            )
        found = services.find_user(email)
        if found is None:
            raise NoAccount(_("Aucun compte n'existe pour %(email)s.", email=email))
        user = found
        if any(i.provider == PROVIDER for i in _identities(user)):
            raise Refused(
                _("Ce compte est déjà relié à une autre identité ProConnect."),
                code="proconnect_other_identity",
            )
        identity = ExternalIdentity(provider=PROVIDER, subject=subject, user=user)
        db.session.add(identity)
        audit.record(user, "user.proconnect_linked", "user", user.id)
    if not user.active:
        raise Refused(_("Ce compte est fermé."), code="closed")
    if user.password_hash is None:
        audit.record(user, "user.activated", "user", user.id, method="proconnect")
    identity.last_login_at = utcnow()
    return user


def _identities(user: User) -> list[ExternalIdentity]:
    return list(
        db.session.scalars(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id))
    )


@blueprint.get("/proconnect/connexion")
def start() -> ResponseReturnValue:
    if not enabled():
        return redirect(public_url("accounts.login"))
    client = _client()
    nonce = session[NONCE] = secrets.token_urlsafe(32)
    try:
        response: Response = client.authorize_redirect(
            public_url("proconnect.callback"), state=secrets.token_urlsafe(32), nonce=nonce
        )
        return response
    except Exception:  # noqa: BLE001 - the provider is down or answers nonsense
        current_app.logger.exception("ProConnect discovery failed")
        return _error(_("ProConnect ne répond pas pour le moment. Réessayez dans un instant."), 502)


@blueprint.get("/proconnect/retour")
def callback() -> ResponseReturnValue:
    if not enabled():
        return redirect(public_url("accounts.login"))
    if request.args.get("error"):
        return _error(_("La connexion avec ProConnect a été interrompue."), 400)
    client = _client()
    try:
        try:
            token = client.authorize_access_token()
        except Exception as error:  # noqa: BLE001 - Authlib's checks: state, code, id_token
            raise Refused(
                _("La réponse de ProConnect n'a pas pu être vérifiée : la connexion est refusée."),
                code="proconnect_refused",
            ) from error
        nonce = session.pop(NONCE, None)
        if not nonce or not token.get("id_token"):
            raise Refused(
                _("La réponse de ProConnect n'a pas pu être vérifiée : la connexion est refusée."),
                code="proconnect_incomplete",
            )
        id_claims = _verified(token["id_token"], client, expires=True, nonce=nonce)
        claims = _userinfo(client, token, str(id_claims["sub"]))
        user = sign_in_with_proconnect(str(id_claims["sub"]), claims)
    except NoAccount as no_account:
        db.session.rollback()
        return render_template(
            "accounts/proconnect_no_account.html", message=no_account.message
        ), no_account.status
    except DomainError as refused:
        db.session.rollback()
        current_app.logger.warning("ProConnect sign-in refused: %s", refused.__cause__ or refused)
        return _error(refused.message, refused.status)
    except requests.RequestException:  # the keys or userinfo could not be fetched
        db.session.rollback()
        current_app.logger.exception("ProConnect unreachable during sign-in")
        return _error(_("ProConnect ne répond pas pour le moment. Réessayez dans un instant."), 502)
    sign_in(user, "proconnect")
    session[ID_TOKEN] = token["id_token"]
    db.session.commit()
    return redirect(home_url(user))


def logout_url() -> str | None:
    """Where to send a person who signed in with ProConnect when they sign out: the
    provider's end-session endpoint (None when they did not, or it has none)."""
    id_token = session.get(ID_TOKEN)
    if not id_token or not enabled():
        return None
    try:
        endpoint = _client().load_server_metadata().get("end_session_endpoint")
    except Exception:  # noqa: BLE001 - the provider is down: sign out here only
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": public_url("accounts.index"),
            "state": secrets.token_urlsafe(32),
        }
    )
    return f"{endpoint}?{query}"


def _error(message: str, status: int) -> ResponseReturnValue:
    return render_template("accounts/proconnect_error.html", message=message), status
