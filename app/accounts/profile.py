""" "Mon profil": the signed-in person's name, address, password, roles and sessions."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts import personal_data, services
from app.accounts.forms import EmailChangeForm, NameForm, PasswordChangeForm
from app.accounts.models import User
from app.accounts.navigation import home_url
from app.accounts.signin import end_every_session, sign_in, sign_out
from app.core.errors import DomainError
from app.core.forms import attach_errors
from app.extensions import db
from app.notifications import services as notifications

blueprint = Blueprint("profile", __name__, template_folder="templates", url_prefix="/mon-profil")


def _me() -> User:
    user = current_user._get_current_object()
    assert isinstance(user, User)
    return user


def _page(
    name_form: NameForm | None = None,
    email_form: EmailChangeForm | None = None,
    password_form: PasswordChangeForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = _me()
    name_form = name_form or NameForm(prefix="name", data={"name": user.name})
    email_form = email_form or EmailChangeForm(prefix="email")
    password_form = password_form or PasswordChangeForm(prefix="password")
    grants = sorted(user.grants, key=lambda grant: (grant.role.label, str(grant.scope_object)))
    return (
        render_template(
            "accounts/profile.html",
            user=user,
            grants=grants,
            name_form=name_form,
            email_form=email_form,
            password_form=password_form,
            home=home_url(user),
            mail_choices=notifications.choices(user.id),
        ),
        status,
    )


@blueprint.get("/")
@login_required
def show() -> ResponseReturnValue:
    return _page()


@blueprint.post("/nom")
@login_required
def rename() -> ResponseReturnValue:
    form = NameForm(prefix="name")
    if form.validate_on_submit():
        try:
            services.rename(_me(), form.name.data or "")
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error.details)
        else:
            db.session.commit()
            flash(_("Votre nom est enregistré."), "success")
            return redirect(url_for("profile.show"))
    return _page(name_form=form, status=422)


@blueprint.post("/adresse")
@login_required
def change_email() -> ResponseReturnValue:
    form = EmailChangeForm(prefix="email")
    if form.validate_on_submit():
        try:
            address = services.request_email_change(_me(), form.email.data or "")
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error.details)
        else:
            db.session.commit()
            flash(
                _(
                    "Un lien de confirmation vient d'être envoyé à %(email)s. Votre adresse "
                    "changera quand vous l'aurez suivi.",
                    email=address,
                ),
                "success",
            )
            return redirect(url_for("profile.show"))
    return _page(email_form=form, status=422)


@blueprint.get("/adresse/<token>")
def confirm_email(token: str) -> ResponseReturnValue:
    """The link sent to the new address: following it moves the account there."""
    try:
        user = services.confirm_email_change(token)
    except DomainError as error:
        db.session.rollback()
        return render_template("accounts/link_invalid.html", message=error.message), 410
    db.session.commit()
    flash(_("Votre adresse électronique est maintenant %(email)s.", email=user.email), "success")
    if current_user.is_authenticated:
        return redirect(url_for("profile.show"))
    return redirect(url_for("accounts.login"))


@blueprint.post("/mot-de-passe")
@login_required
def change_password() -> ResponseReturnValue:
    user = _me()
    form = PasswordChangeForm(prefix="password")
    form.email_of_owner = user.email
    if form.validate_on_submit():
        try:
            services.change_password(
                user, form.current_password.data or "", form.password.data or ""
            )
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error.details)
        else:
            sign_in(user, "password_change")  # this session goes on; every other one ends
            db.session.commit()
            flash(_("Votre mot de passe est changé. Vos autres sessions sont fermées."), "success")
            return redirect(url_for("profile.show"))
    return _page(password_form=form, status=422)


@blueprint.get("/mes-donnees.json")
@login_required
def export_data() -> ResponseReturnValue:
    """Everything the service holds about the signed-in person, as a file to keep (RGPD,
    right of access). Not cached: every response carries `Cache-Control: no-store`."""
    document = json.dumps(personal_data.export(_me()), ensure_ascii=False, indent=2)
    disposition = f'attachment; filename="{personal_data.FILENAME}"'
    return Response(
        document,
        mimetype="application/json",
        headers={"Content-Disposition": disposition},
    )


@blueprint.post("/deconnexion-partout")
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    end_every_session(_me())
    sign_out()
    db.session.commit()
    flash(_("Vous êtes déconnecté de tous vos appareils."), "success")
    return redirect(url_for("accounts.login"))
