"""The operator's settlement, reconciliation and "paid" forms; the vendor's bank details."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from app.core.forms import AppForm


class SettlementForm(AppForm):
    until = DateField(
        _l("Ventes réglées jusqu’au (inclus)"),
        validators=[InputRequired(_l("Indiquez la date limite."))],
    )
    # The summary the operator confirms (empty on the first step, which shows it).
    confirmed = HiddenField()


class MarkPaidForm(AppForm):
    bank_reference = StringField(
        _l("Référence du virement"),
        validators=[
            DataRequired(_l("Indiquez la référence du virement donnée par la banque.")),
            Length(max=64, message=_l("La référence a 64 caractères au plus.")),
        ],
    )


class BankDetailsForm(AppForm):
    holder = StringField(
        _l("Titulaire du compte"),
        validators=[
            InputRequired(_l("Indiquez le nom du titulaire du compte.")),
            Length(max=140, message=_l("Le nom du titulaire a 140 caractères au plus.")),
        ],
    )
    iban = StringField(
        _l("IBAN"),
        validators=[
            InputRequired(_l("Indiquez l’IBAN du compte.")),
            Length(max=50, message=_l("Un IBAN a 34 caractères au plus.")),
        ],
    )
    bic = StringField(
        _l("BIC"),
        validators=[
            InputRequired(_l("Indiquez le BIC de la banque.")),
            Length(max=20, message=_l("Un BIC a 8 ou 11 caractères.")),
        ],
    )
