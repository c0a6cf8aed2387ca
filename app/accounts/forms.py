"""Forms of the accounts pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Adresse électronique"),
        # No format check here: a malformed address simply matches no account.
        validators=[DataRequired(_l("Saisissez votre adresse électronique.")), Length(max=254)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class FirstLoginForm(FlaskForm):
    email = EmailField(
        _l("Adresse électronique académique"),
        validators=[DataRequired(_l("Saisissez votre adresse électronique.")), Length(max=254)],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class ActivationForm(FlaskForm):
    password = PasswordField(
        _l("Choisissez un mot de passe"),
        validators=[
            DataRequired(_l("Saisissez un mot de passe.")),
            Length(
                min=8, max=200, message=_l("Le mot de passe doit compter 8 caractères ou plus.")
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirmation = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[
            DataRequired(_l("Confirmez le mot de passe.")),
            EqualTo("password", _l("Les deux mots de passe ne sont pas identiques.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
