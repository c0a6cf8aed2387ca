"""Forms of the licence pages: codes upload, delivery settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.core.forms import AppForm


class CodesForm(AppForm):
    offer = SelectField(
        _l("Produit et offre"),
        validators=[DataRequired(_l("Choisissez le produit et l’offre des codes."))],
    )
    file = FileField(
        _l("Fichier CSV des codes (une colonne « code », un code par ligne)"),
        validators=[FileRequired(_l("Choisissez un fichier."))],
    )


class DeliveryForm(AppForm):
    provisioning_url = StringField(
        _l("Adresse de livraison (webhook)"), validators=[Length(max=500)]
    )


class CodeAlertForm(AppForm):
    code_alert_threshold = StringField(
        _l("Seuil d’alerte (codes restants par offre)"),
        render_kw={"inputmode": "numeric"},
    )
