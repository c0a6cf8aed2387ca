"""Forms of pooled purchases: start one, join one (an amount in euros, French style)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from app.budgets.forms import positive_euros
from app.core.forms import AppForm
from app.core.money import parse_euros


def _amount() -> StringField:
    return StringField(
        _l("Votre participation (en euros)"),
        validators=[
            DataRequired(_l("Participation : saisissez un montant.")),
            Length(max=30),
            positive_euros,
        ],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


class JoinForm(AppForm):
    amount = _amount()

    @property
    def cents(self) -> int:
        return parse_euros(self.amount.data or "")


class StartForm(AppForm):
    school = SelectField(_l("Établissement"), coerce=int)
    deadline = DateField(
        _l("Date limite des participations"),
        validators=[InputRequired(_l("Date limite : choisissez une date."))],
    )
    amount = _amount()

    @property
    def cents(self) -> int:
        return parse_euros(self.amount.data or "")
