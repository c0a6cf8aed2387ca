"""Forms of the budget pages: allocating credit to teachers, funding academies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, Field, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.budgets.models import School
from app.budgets.services import REASON_MAX_LENGTH
from app.core.forms import AppForm, TokenForm, options
from app.core.money import InvalidAmount, parse_euros
from catalog import vocabularies


def positive_euros(form: AppForm, field: Field) -> None:
    """An amount in euros as a French person types it: "300", "12,50", "1 000"."""
    try:
        cents = parse_euros(field.data or "")
    except InvalidAmount as error:
        raise ValidationError(f"{error}.") from error
    if cents <= 0:
        raise ValidationError(_("Le montant doit être strictement positif."))


def _amount(label: str) -> StringField:
    return StringField(
        label,
        validators=[DataRequired(_l("Saisissez un montant.")), Length(max=30), positive_euros],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


def school_choices(schools: Iterable[School]) -> list[tuple[str, str]]:
    return [(school.uai, f"{school.name} — {school.city} ({school.uai})") for school in schools]


class AllocateOneForm(TokenForm):
    email = EmailField(
        _l("Adresse électronique académique de l’enseignant"),
        validators=[DataRequired(_l("Saisissez l’adresse électronique.")), Length(max=254)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    uai = SelectField(
        _l("Établissement"), validators=[DataRequired(_l("Choisissez un établissement."))]
    )
    amount = _amount(_l("Montant en euros"))

    def __init__(self, schools: Iterable[School], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uai.choices = options([("", _("Choisir un établissement")), *school_choices(schools)])


class AllocationFileForm(AppForm):
    fichier = FileField(
        _l("Fichier de répartition"),
        validators=[
            # Its size is capped by the request's (MAX_CONTENT_LENGTH: 413 above).
            FileRequired(_l("Choisissez un fichier.")),
        ],
    )


class RuleForm(TokenForm):
    amount = _amount(_l("Montant par enseignant, en euros"))
    school_kinds = SelectMultipleField(_l("Types d’établissement"))
    schools = SelectMultipleField(_l("Établissements"), coerce=int)

    def __init__(self, schools: Iterable[School], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.school_kinds.choices = options(
            (kind.code, kind.label) for kind in vocabularies.school_kinds()
        )
        self.schools.choices = options(
            (school.id, f"{school.name} — {school.city} ({school.uai})") for school in schools
        )

    @property
    def cents(self) -> int:
        return parse_euros(self.amount.data or "")


class FundingForm(TokenForm):
    academy_code = SelectField(
        _l("Académie"), validators=[DataRequired(_l("Choisissez une académie."))]
    )
    amount = _amount(_l("Montant de la dotation, en euros"))
    reason = StringField(
        _l("Motif (facultatif)"),
        validators=[Optional(), Length(max=REASON_MAX_LENGTH)],
        render_kw={"autocomplete": "off"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.academy_code.choices = options(
            [
                ("", _("Choisir une académie")),
                *(
                    (academy.code, f"{academy.code} — {academy.name}")
                    for academy in vocabularies.academies()
                ),
            ]
        )

    @property
    def cents(self) -> int:
        return parse_euros(self.amount.data or "")


class FundingReversalForm(AppForm):
    """Cancel a mistaken funding: a reversal entry, with its reason."""

    reason = StringField(
        _l("Motif de l’annulation"),
        validators=[
            DataRequired(_l("Indiquez le motif de l’annulation.")),
            Length(max=REASON_MAX_LENGTH),
        ],
        render_kw={"autocomplete": "off"},
    )


class PoolThresholdForm(AppForm):
    """The amount under which the academy's managers are told that the pool runs low
    (empty: no alert). Checked by the service, which names the field in its refusal."""

    threshold = StringField(
        _l("Seuil d’alerte de l’enveloppe, en euros"),
        validators=[Optional(), Length(max=30)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
