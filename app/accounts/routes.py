"""Login, logout, landing pages and the language switch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RequestLimit
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.accounts import proconnect, services
from app.accounts.forms import EmailRequestForm, LoginForm, NewPasswordForm
from app.accounts.models import RoleGrant, User
from app.accounts.navigation import home_url
from app.accounts.signin import end_expired_session, sign_in, sign_out
from app.budgets.models import School
from app.core.errors import DomainError, rate_limited_message
from app.core.limits import network_address
from app.extensions import db, limiter, login_manager

blueprint = Blueprint("accounts", __name__, template_folder="templates")


@login_manager.user_loader
def load_user(session_user_id: str) -> User | None:
    """The user named by the session cookie ("<id>.<session version>"), unless they have
    since signed out everywhere or changed their password (the version moved on)."""
    user_id, _dot, version = session_user_id.partition(".")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.scalars(_SIGNED_IN_USER, {"user_id": int(user_id)}).unique().one_or_none()
    if user is None or user.session_version != int(version):
        return None
    return user


# Built once: every signed-in request runs it. The grants in the same statement (a join):
# one round trip; with a school's academy (30 rows), which a teacher's pages and checkout
# read.
_grants = joinedload(User.grants)
_SIGNED_IN_USER = (
    select(User)
    .where(User.id == bindparam("user_id"))
    .options(_grants, _grants.joinedload(RoleGrant.school).joinedload(School.academy))
)


@blueprint.before_app_request
def _end_expired_session() -> None:
    if end_expired_session():
        flash(_("Votre session a expiré : reconnectez-vous."), "info")


def _login_account_and_address_key() -> str:
    """Failures on one account from one network address: an attacker elsewhere never
    locks the account's owner out (docs/decisions/0017-sessions-and-rate-limits.md)."""
    email = services.normalize_email(request.form.get("email", ""))
    return f"login-failures:{email}:{network_address()}"


def _login_failed(response: Response) -> bool:
    return response.status_code != 302


def _safe_next(target: str | None) -> str | None:
    """A local path to go back to after login; anything pointing elsewhere is dropped."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@blueprint.get("/")
def index() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return render_template("accounts/index.html")


def _login_throttled(_limit: RequestLimit) -> Response:
    """Too many failures: the form again, with how long to wait above it (429)."""
    message, headers = rate_limited_message()
    page = render_template("accounts/login.html", form=LoginForm(), throttled=message)
    return make_response(page, 429, headers)


@blueprint.route("/connexion", methods=["GET", "POST"])
@limiter.limit(
    lambda: str(current_app.config["LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS"]),
    key_func=_login_account_and_address_key,
    methods=["POST"],
    deduct_when=_login_failed,
    on_breach=_login_throttled,
)
@limiter.limit(
    lambda: str(current_app.config["LOGIN_FAILURES_PER_ADDRESS"]),
    methods=["POST"],
    deduct_when=_login_failed,
    on_breach=_login_throttled,
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None and services.must_use_proconnect(user):
            form.password.errors.append(
                _(
                    "Les agents de l'État (gestion académique, commission, opérateur) se "
                    "connectent avec ProConnect : utilisez le bouton « S'identifier avec "
                    "ProConnect »."
                )
            )
        elif user is not None:
            sign_in(user, "password")
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or home_url(user))
        else:
            form.password.errors.append(_("Adresse électronique ou mot de passe incorrect."))
    return render_template("accounts/login.html", form=form)


@blueprint.post("/deconnexion")
@login_required
def logout() -> ResponseReturnValue:
    """Sign out here, then at ProConnect too when that is how the person came in."""
    at_provider = proconnect.logout_url()
    sign_out()
    db.session.commit()
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(at_provider or url_for("accounts.index"))


@blueprint.get("/sans-role")
@login_required
def no_role() -> ResponseReturnValue:
    return render_template("accounts/no_role.html")


@blueprint.get("/langue/<lang>")
def set_language(lang: str) -> ResponseReturnValue:
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:  # their e-mails will speak it too
            current_user.locale = lang
            db.session.commit()
    return redirect(_safe_next(request.args.get("next")) or url_for("accounts.index"))


def _mail_request_email_key() -> str:
    return "mail-request:" + services.normalize_email(request.form.get("email", ""))


def _mail_requests_limited(view: Callable[[], ResponseReturnValue]) -> Any:
    """Pages that send a link: a few per address per hour, more per network address."""
    per_email = limiter.limit(
        lambda: str(current_app.config["MAIL_REQUESTS_PER_EMAIL"]),
        key_func=_mail_request_email_key,
        methods=["POST"],
    )
    per_address = limiter.limit(
        lambda: str(current_app.config["MAIL_REQUESTS_PER_ADDRESS"]), methods=["POST"]
    )
    return per_email(per_address(view))


LINK_SENT = _l(
    "Si un compte correspond à cette adresse, un message vient de lui être envoyé avec un "
    "lien. Pensez à regarder dans les courriers indésirables."
)


@blueprint.route("/premiere-connexion", methods=["GET", "POST"])
@_mail_requests_limited
def first_login() -> ResponseReturnValue:
    """A person registered by their academy (or a vendor) asks for the activation link."""
    form = EmailRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data or "")
        db.session.commit()
        # The same answer whether or not an account exists: nothing to enumerate.
        flash(str(LINK_SENT), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/first_login.html", form=form)


@blueprint.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@_mail_requests_limited
def forgotten_password() -> ResponseReturnValue:
    form = EmailRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data or "")
        db.session.commit()
        flash(str(LINK_SENT), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgotten_password.html", form=form)


# The pages the links open: per network address, all of them together.
_link_pages_limited = limiter.shared_limit(
    lambda: str(current_app.config["LINK_PAGES_PER_ADDRESS"]), scope="link-pages"
)


@blueprint.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@_link_pages_limited
def reset_password(token: str) -> ResponseReturnValue:
    """The page a reset link opens: choose a new password, then you are signed in."""
    try:
        owner = services.user_of_reset_token(token)
    except DomainError as error:
        return render_template("accounts/link_invalid.html", message=error.message), 410
    form = NewPasswordForm()
    form.email_of_owner = owner.email
    if form.validate_on_submit():
        user = services.reset_password(token, form.password.data or "")
        sign_in(user, "password_reset")
        db.session.commit()
        flash(_("Votre mot de passe est changé. Vous êtes connecté."), "success")
        return redirect(home_url(user))
    status = 422 if form.errors else 200
    return render_template("accounts/reset_password.html", form=form), status


@blueprint.route("/activation/<token>", methods=["GET", "POST"])
@_link_pages_limited
def activate(token: str) -> ResponseReturnValue:
    try:
        owner = services.user_of_activation_token(token)
    except DomainError as error:
        return render_template("accounts/link_invalid.html", message=error.message), 410
    form = NewPasswordForm()
    form.email_of_owner = owner.email
    if form.validate_on_submit():
        user = services.activate(token, form.password.data or "")
        sign_in(user, "activation")
        db.session.commit()
        flash(_("Votre compte est activé. Bienvenue !"), "success")
        return redirect(home_url(user))
    status = 422 if form.errors else 200
    return render_template("accounts/activate.html", form=form), status
