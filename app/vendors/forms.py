"""Forms of the vendor pages: registering a company, inviting colleagues; the operator's
suspension and exclusion list."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from app.accounts.forms import new_password_field
from app.core.forms import AppForm
from app.vendors.services import CompanyDetails


class CompanyForm(AppForm):
    legal_name = StringField(_l("Raison sociale"), validators=[Length(max=200)])
    legal_form = StringField(
        _l("Forme juridique (et capital social, par exemple « SAS au capital de 10 000 € »)"),
        validators=[Length(max=60)],
    )
    siret = StringField(_l("SIRET (14 chiffres)"), validators=[Length(max=20)])
    vat_number = StringField(_l("Numéro de TVA intracommunautaire"), validators=[Length(max=20)])
    street = StringField(_l("Adresse"), validators=[Length(max=200)])
    postcode = StringField(_l("Code postal"), validators=[Length(max=10)])
    city = StringField(_l("Ville"), validators=[Length(max=100)])
    country = StringField(_l("Pays (code ISO)"), default="FR", validators=[Length(max=2)])
    parent_company = StringField(
        _l("Société mère ultime (la vôtre si vous n’appartenez à aucun groupe)"),
        validators=[Length(max=200)],
    )
    contact_name = StringField(_l("Nom du contact"), validators=[Length(max=200)])
    contact_email = EmailField(_l("Adresse électronique du contact"), validators=[Length(max=254)])
    contact_phone = StringField(_l("Téléphone du contact"), validators=[Length(max=30)])

    def details(self) -> CompanyDetails:
        return CompanyDetails(
            **{name: (getattr(self, name).data or "") for name in CompanyDetails.__annotations__}
        )


class CompanyRegistrationForm(CompanyForm):
    """A company registers: its details, and the terms of use accepted."""

    accept_terms = BooleanField(_l("J’ai lu et j’accepte les conditions d’utilisation"))


class RegistrationForm(CompanyRegistrationForm):
    """Registration by someone without an account: they create theirs at the same time."""

    name = StringField(_l("Vos prénom et nom"), validators=[Length(max=200)])
    email = EmailField(
        _l("Votre adresse électronique"),
        validators=[
            DataRequired(_l("Saisissez votre adresse électronique.")),
            Email(),
            Length(max=254),
        ],
    )
    password = new_password_field(_l("Mot de passe"))

    @property
    def email_of_owner(self) -> str:
        """The address the password must not contain (see `new_password_field`)."""
        return str(self.email.data or "")


class InviteForm(AppForm):
    email = EmailField(
        _l("Adresse électronique du collègue"),
        validators=[
            DataRequired(_l("Saisissez l’adresse électronique.")),
            Email(),
            Length(max=254),
        ],
    )
    name = StringField(_l("Prénom et nom"), validators=[Length(max=200)])


class InvitationAnswerForm(AppForm):
    """Accept or decline an invitation (the buttons; the link's token says which one)."""


class SuspendForm(AppForm):
    reason = TextAreaField(
        _l("Motif de la suspension (visible par l’éditeur)"),
        validators=[DataRequired(_l("Indiquez le motif.")), Length(max=2000)],
    )


class ExclusionForm(AppForm):
    name = StringField(
        _l("Entreprise exclue"),
        validators=[DataRequired(_l("Indiquez le nom de l’entreprise.")), Length(max=200)],
    )
    group_name = StringField(_l("Groupe"), validators=[Length(max=200)])


class RefusalForm(AppForm):
    reason = TextAreaField(
        _l("Motif du refus (envoyé à l’éditeur)"),
        validators=[DataRequired(_l("Indiquez le motif du refus.")), Length(max=2000)],
    )


class DecisionForm(AppForm):
    """No field: the CSRF token of the operator's buttons."""
