"""The reviewer's decision form: the label criteria grid, a comment and the decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, Field, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.core.forms import AppForm, options
from app.vetting.models import DECISION_LABELS, Decision
from catalog import conduct


class DecisionForm(AppForm):
    decision = RadioField(
        _l("Décision"),
        choices=options((d.value, DECISION_LABELS[d]) for d in Decision),
        validators=[InputRequired(_l("Choisissez une décision."))],
    )
    comment = TextAreaField(
        _l("Commentaire pour l’éditeur (obligatoire si vous ne labellisez pas)"),
        validators=[Length(max=5000)],
    )
    label_expires_on = DateField(
        _l("Fin de validité du label (3 ans par défaut)"), validators=[Optional()]
    )

    @property
    def criteria_fields(self) -> list[tuple[str, Field]]:
        return [(c.code, self[f"criterion_{c.code}"]) for c in conduct.label_criteria()]

    def criteria(self) -> dict[str, bool]:
        return {code: bool(field.data) for code, field in self.criteria_fields}


# One checkbox per criterion of the label grid (catalog/data/label_criteria.json).
for _criterion in conduct.label_criteria():
    setattr(
        DecisionForm,
        f"criterion_{_criterion.code}",
        BooleanField(_criterion.label, description=_criterion.description),
    )
