"""The operator's settlement and reconciliation forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import InputRequired


class SettlementForm(FlaskForm):
    until = DateField(
        _l("Ventes réglées jusqu’au (inclus)"),
        validators=[InputRequired(_l("Indiquez la date limite."))],
    )
