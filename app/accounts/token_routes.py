"""The vendor's page « Accès à l'API »: its tokens, creating one (shown once), revoking."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.accounts import tokens
from app.accounts.models import Role
from app.core.auth import role_required
from app.core.errors import ValidationFailed
from app.core.forms import AppForm, attach_errors
from app.extensions import db
from app.vendors import services as vendors

blueprint = Blueprint("tokens", __name__)


class TokenForm(AppForm):
    name = StringField(
        _l("Nom du jeton (par exemple le logiciel qui l’utilisera)"),
        validators=[
            DataRequired(_l("Donnez un nom au jeton.")),
            Length(max=tokens.NAME_MAX_LENGTH),
        ],
    )


class RevokeForm(AppForm):
    """No field: the CSRF token only."""


@blueprint.route("/editeur/<int:vendor_id>/api", methods=["GET", "POST"])
@role_required(Role.VENDOR, scope="vendor_id")
def index(vendor_id: int) -> ResponseReturnValue:
    vendor = vendors.get_vendor(vendor_id)
    form = TokenForm()
    raw_token = error = None
    if form.validate_on_submit():
        try:
            _token, raw_token = tokens.create_token(current_user, vendor, form.name.data or "")
            db.session.commit()
        except ValidationFailed as refused:
            db.session.rollback()
            error = refused
            error.details = attach_errors(form, refused.details)
        else:
            form = TokenForm(formdata=None)
    page = render_template(
        "vendors/api_tokens.html",
        vendor=vendor,
        form=form,
        raw_token=raw_token,
        error=error,
        tokens=tokens.vendor_tokens(vendor),
        revoke_form=RevokeForm(),
    )
    return page, 422 if error or form.errors else 200


@blueprint.post("/editeur/<int:vendor_id>/api/<int:token_id>/revoquer")
@role_required(Role.VENDOR, scope="vendor_id")
def revoke(vendor_id: int, token_id: int) -> ResponseReturnValue:
    token = tokens.vendor_token(vendor_id, token_id)
    if RevokeForm().validate_on_submit():
        tokens.revoke_token(current_user, token)
        db.session.commit()
        flash(_("Le jeton « %(name)s » est révoqué.", name=token.name), "success")
    else:
        flash(_("Le formulaire a expiré : rechargez la page et réessayez."), "error")
    return redirect(url_for("tokens.index", vendor_id=vendor_id))
