"""Forms of the accounts pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, Field, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.accounts.services import password_problem
from app.core.forms import AppForm

PASSWORD_HINT = _l(
    "12 caractères ou plus. Une phrase de plusieurs mots, facile à retenir, est idéale."
)


def _good_password(form: Any, field: Field) -> None:
    problem = password_problem(field.data or "", getattr(form, "email_of_owner", ""))
    if problem is not None:
        raise ValidationError(problem)


def new_password_field(label: str = _l("Nouveau mot de passe")) -> Any:
    """A password being chosen: the rules of `password_problem`, and the hint saying them
    (account pages and vendor registration alike)."""
    return PasswordField(
        label,
        validators=[
            DataRequired(_l("Saisissez un mot de passe.")),
            Length(max=200),
            _good_password,
        ],
        description=PASSWORD_HINT,
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(AppForm):
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


class EmailRequestForm(AppForm):
    """An address to send a link to (first login, forgotten password)."""

    email = EmailField(
        _l("Adresse électronique"),
        validators=[DataRequired(_l("Saisissez votre adresse électronique.")), Length(max=254)],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class NewPasswordForm(AppForm):
    """Choosing a password: first activation, or after a reset link."""

    email_of_owner = ""  # set by the view, so the password cannot contain the address

    password = new_password_field()
    confirmation = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[
            DataRequired(_l("Confirmez le mot de passe.")),
            EqualTo("password", _l("Les deux mots de passe ne sont pas identiques.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class NameForm(AppForm):
    name = StringField(
        _l("Prénom et nom"),
        validators=[DataRequired(_l("Saisissez votre nom.")), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )


class EmailChangeForm(AppForm):
    email = EmailField(
        _l("Nouvelle adresse électronique"),
        validators=[DataRequired(_l("Saisissez la nouvelle adresse.")), Length(max=254)],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class PasswordChangeForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Mot de passe actuel"),
        validators=[DataRequired(_l("Saisissez votre mot de passe actuel.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


# --- the operator's pages of users ---------------------------------------------------------


class RoleGrantForm(AppForm):
    """A role the operator gives; the scope field the role needs, the others ignored.
    Choices are not checked here: the service refuses an unknown role, academy, school or
    company, in French, naming the field."""

    role = SelectField(_l("Rôle"), validate_choice=False)
    academy = SelectField(
        _l("Académie"),
        validate_choice=False,
        description=_l("Pour le rôle de gestionnaire académique."),
    )
    school = StringField(
        _l("UAI de l’établissement"),
        validators=[Length(max=20)],
        description=_l("Pour le rôle d’enseignant, par exemple 0750001A."),
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    vendor = StringField(
        _l("SIRET de l’éditeur"),
        validators=[Length(max=30)],
        description=_l("Pour le rôle d’éditeur : 14 chiffres."),
        render_kw={"spellcheck": "false", "autocomplete": "off", "inputmode": "numeric"},
    )


class RoleRemovalForm(AppForm):
    """Removing one role: the CSRF token only (the role is in the address)."""
