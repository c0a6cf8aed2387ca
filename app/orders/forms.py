"""Forms of the cart and the checkout."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField
from wtforms.validators import InputRequired, Optional

from app.core.forms import TokenForm


class AddToCartForm(FlaskForm):
    plan = RadioField(_l("Offre"), validators=[InputRequired(_l("Choisissez une offre."))])
    seats = IntegerField(_l("Nombre d’élèves (licence classe)"), validators=[Optional()])


class SeatsForm(FlaskForm):
    seats = IntegerField(
        _l("Nombre d’élèves"),
        # The range is the plan's, checked by the service with a message naming it.
        validators=[InputRequired(_l("Indiquez un nombre d’élèves."))],
    )


class CheckoutForm(TokenForm):
    school = SelectField(_l("Établissement"), coerce=int)
