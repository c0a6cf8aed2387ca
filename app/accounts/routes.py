"""Login, logout, landing pages and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.accounts import services
from app.accounts.forms import ActivationForm, FirstLoginForm, LoginForm
from app.accounts.models import User
from app.accounts.navigation import home_url
from app.core import audit
from app.core.errors import DomainError
from app.extensions import db, limiter, login_manager

blueprint = Blueprint("accounts", __name__, template_folder="templates")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def _login_email_key() -> str:
    return "login-email:" + services.normalize_email(request.form.get("email", ""))


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


@blueprint.route("/connexion", methods=["GET", "POST"])
@limiter.limit(
    lambda: str(current_app.config["LOGIN_FAILURES_PER_EMAIL"]),
    key_func=_login_email_key,
    methods=["POST"],
    deduct_when=_login_failed,
)
@limiter.limit(lambda: str(current_app.config["LOGIN_ATTEMPTS_PER_ADDRESS"]), methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            session.permanent = True
            audit.record(user, "user.logged_in", "user", user.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or home_url(user))
        form.password.errors.append(_("Adresse électronique ou mot de passe incorrect."))
    return render_template("accounts/login.html", form=form)


@blueprint.post("/deconnexion")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(url_for("accounts.index"))


@blueprint.get("/sans-role")
@login_required
def no_role() -> ResponseReturnValue:
    return render_template("accounts/no_role.html")


@blueprint.get("/langue/<lang>")
def set_language(lang: str) -> ResponseReturnValue:
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(_safe_next(request.args.get("next")) or url_for("accounts.index"))


@blueprint.route("/premiere-connexion", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_FAILURES_PER_EMAIL"]), methods=["POST"])
def first_login() -> ResponseReturnValue:
    """A teacher whose academy registered them asks for the link to choose a password."""
    form = FirstLoginForm()
    if form.validate_on_submit():
        user = services.account_waiting_for(form.email.data or "")
        if user is not None:
            link = url_for(
                "accounts.activate", token=services.activation_token(user), _external=True
            )
            # Until the jobs outbox sends e-mails, the message goes to the log.
            current_app.logger.info("Activation link for %s: %s", user.email, link)
        # The same answer whether or not an account waits: nothing to enumerate.
        flash(
            _(
                "Si un compte vous attend, un lien d'activation vient d'être envoyé à "
                "cette adresse. Il est valable 14 jours."
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/first_login.html", form=form)


@blueprint.route("/activation/<token>", methods=["GET", "POST"])
def activate(token: str) -> ResponseReturnValue:
    form = ActivationForm()
    if form.validate_on_submit():
        try:
            user = services.activate(token, form.password.data or "")
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("accounts/activate.html", form=form), error.status
        db.session.commit()
        login_user(user)
        flash(_("Votre compte est activé. Bienvenue !"), "success")
        return redirect(home_url(user))
    return render_template("accounts/activate.html", form=form)
