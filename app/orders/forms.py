"""Forms of the cart and the checkout."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, RadioField, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.core.forms import AppForm, TokenForm


class AddToCartForm(AppForm):
    plan = RadioField(_l("Offre"), validators=[InputRequired(_l("Choisissez une offre."))])
    seats = IntegerField(_l("Nombre d’élèves (licence classe)"), validators=[Optional()])


class SeatsForm(AppForm):
    seats = IntegerField(
        _l("Nombre d’élèves"),
        # The range is the plan's, checked by the service with a message naming it.
        validators=[InputRequired(_l("Indiquez un nombre d’élèves."))],
    )


class SchoolChoiceForm(AppForm):
    """The cart's way to the summary (a GET: nothing is written)."""

    class Meta:
        csrf = False

    school = SelectField(_l("Établissement"), coerce=int)


class CheckoutForm(TokenForm):
    """The summary's confirmation: the idempotency token, the school, and the fingerprint
    of the cart as the teacher saw it."""

    school = SelectField(_l("Établissement"), coerce=int)
    cart = HiddenField(validators=[DataRequired(), Length(max=64)])
