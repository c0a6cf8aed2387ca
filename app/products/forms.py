"""Forms of the vendor's product pages: the product, its plans and its declaration."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    Form,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import FieldList, FormField
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.forms import AppForm, lines, options
from app.core.money import InvalidAmount, parse_euros
from app.products.models import PLAN_LABELS, Channel, PlanKind
from app.products.services import PlanDraft, ProductDraft
from catalog import conduct, vocabularies

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
YES_NO = [("oui", _l("Oui")), ("non", _l("Non"))]
VAT_CHOICES = [("2000", "20 %"), ("1000", "10 %"), ("550", "5,5 %"), ("210", "2,1 %")]
CHANNEL_LABELS = {
    Channel.CODES: _l("Codes d’activation que vous déposez à l’avance"),
    Channel.WEBHOOK: _l("Appel de votre serveur (webhook signé)"),
    Channel.GAR: _l("Abonnement dans le GAR (Gestionnaire d’accès aux ressources)"),
}
# The same, as a teacher reads it on the product page.
CHANNEL_LABELS_FOR_TEACHERS = {
    Channel.CODES: _l("Après l’achat, vous recevez un code d’activation."),
    Channel.WEBHOOK: _l("Après l’achat, votre accès est ouvert automatiquement chez l’éditeur."),
    Channel.GAR: _l("Après l’achat, la ressource apparaît dans votre ENT (GAR)."),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _text(field: Any) -> str:
    """A text input's value, stripped; "" when it was not posted at all."""
    return str(field.data or "").strip()


def _yes_no(label: Any) -> RadioField:
    # Unanswered is allowed in a draft: the answer is required at submission.
    return RadioField(label, choices=options(YES_NO), validators=[Optional()])


class HostingForm(Form):
    country = StringField(_l("Pays (code ISO, ex. FR)"), validators=[Length(max=2)])
    provider = StringField(_l("Hébergeur"), validators=[Length(max=200)])


class SubprocessorForm(Form):
    name = StringField(_l("Sous-traitant"), validators=[Length(max=200)])
    country = StringField(_l("Pays (code ISO)"), validators=[Length(max=2)])
    purpose = StringField(_l("Pour quoi faire"), validators=[Length(max=300)])


def _categories(public: conduct.Public) -> list[tuple[str, str]]:
    return [(c.code, c.label) for c in conduct.data_categories(public)]


_ANSWERS = ("advertising", "data_sale", "pupil_profiling", "gar_access", "deletion_at_end")
_NUMBERS = ("retention_days", "breach_notification_hours")


class DeclarationForm(Form):
    """The data-practices declaration, field for field as in catalog.conduct."""

    hosting = FieldList(
        FormField(HostingForm), label=_l("Hébergement"), min_entries=3, max_entries=10
    )
    subprocessors = FieldList(
        FormField(SubprocessorForm),
        label=_l("Sous-traitants ayant accès aux données"),
        min_entries=4,
        max_entries=30,
    )
    teacher_data = MultiCheckboxField(_l("Données collectées sur les enseignants"), choices=[])
    pupil_data = MultiCheckboxField(_l("Données collectées sur les élèves"), choices=[])
    purposes = TextAreaField(_l("Finalités du traitement (une par ligne)"))
    retention_days = IntegerField(
        _l("Durée de conservation après la fin du contrat (jours)"),
        validators=[Optional(), NumberRange(min=0)],
    )
    advertising = _yes_no(_l("Affichez-vous de la publicité ?"))
    data_sale = _yes_no(_l("Vendez-vous ou réutilisez-vous commercialement des données ?"))
    pupil_profiling = _yes_no(_l("Profilez-vous ou suivez-vous le comportement des élèves ?"))
    trackers = TextAreaField(_l("Traceurs tiers (un par ligne, vide si aucun)"))
    gar_access = _yes_no(_l("L’accès se fait-il par les identifiants pseudonymes du GAR ?"))
    dpo_contact = StringField(_l("Contact du délégué à la protection des données"))
    privacy_policy_url = StringField(_l("Adresse de la politique de confidentialité"))
    certifications = TextAreaField(_l("Certifications de sécurité (une par ligne)"))
    breach_notification_hours = IntegerField(
        _l("Délai de notification d’une violation de données (heures)"),
        validators=[Optional(), NumberRange(min=0)],
    )
    deletion_at_end = _yes_no(
        _l("Supprimez-vous ou restituez-vous les données à la fin du contrat ?")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teacher_data.choices = options(_categories("teacher"))
        self.pupil_data.choices = options(_categories("pupil"))

    def to_declaration(self) -> dict[str, Any]:
        """The declaration as written so far: a question left unanswered (yes/no, number)
        is left out, so that it is reported missing rather than read as "no" or 0."""
        declaration = {
            "hosting": [
                {"country": _text(h.country).upper(), "provider": _text(h.provider)}
                for h in (entry.form for entry in self.hosting)
                if _text(h.country) or _text(h.provider)
            ],
            "subprocessors": [
                {
                    "name": _text(s.name),
                    "country": _text(s.country).upper(),
                    "purpose": _text(s.purpose),
                }
                for s in (entry.form for entry in self.subprocessors)
                if _text(s.name) or _text(s.country) or _text(s.purpose)
            ],
            "teacher_data": list(self.teacher_data.data or []),
            "pupil_data": list(self.pupil_data.data or []),
            "purposes": lines(self.purposes.data),
            "retention_days": self.retention_days.data,
            "advertising": self.advertising.data == "oui",
            "data_sale": self.data_sale.data == "oui",
            "pupil_profiling": self.pupil_profiling.data == "oui",
            "trackers": lines(self.trackers.data),
            "gar_access": self.gar_access.data == "oui",
            "dpo_contact": (self.dpo_contact.data or "").strip(),
            "privacy_policy_url": (self.privacy_policy_url.data or "").strip(),
            "certifications": lines(self.certifications.data),
            "breach_notification_hours": self.breach_notification_hours.data,
            "deletion_at_end": self.deletion_at_end.data == "oui",
        }
        unanswered = [key for key in _ANSWERS if getattr(self, key).data not in ("oui", "non")]
        unanswered += [key for key in _NUMBERS if getattr(self, key).data is None]
        return {key: value for key, value in declaration.items() if key not in unanswered}

    def fill(self, declaration: dict[str, Any]) -> None:
        """Pre-fill from a stored declaration."""
        for i, item in enumerate(declaration.get("hosting", [])[: self.hosting.max_entries]):
            while len(self.hosting.entries) <= i:
                self.hosting.append_entry()
            self.hosting.entries[i].form.country.data = item["country"]
            self.hosting.entries[i].form.provider.data = item["provider"]
        subprocessors = declaration.get("subprocessors", [])[: self.subprocessors.max_entries]
        for i, item in enumerate(subprocessors):
            while len(self.subprocessors.entries) <= i:
                self.subprocessors.append_entry()
            for key in ("name", "country", "purpose"):
                getattr(self.subprocessors.entries[i].form, key).data = item[key]
        for key in ("teacher_data", "pupil_data"):
            getattr(self, key).data = list(declaration.get(key, []))
        for key in ("purposes", "trackers", "certifications"):
            getattr(self, key).data = "\n".join(declaration.get(key, []))
        for key in ("retention_days", "breach_notification_hours", "dpo_contact"):
            getattr(self, key).data = declaration.get(key)
        self.privacy_policy_url.data = declaration.get("privacy_policy_url")
        for key in ("advertising", "data_sale", "pupil_profiling", "gar_access", "deletion_at_end"):
            if key in declaration:
                getattr(self, key).data = "oui" if declaration[key] else "non"


class PlanForm(Form):
    offered = BooleanField(_l("Proposer cette offre"))
    price = StringField(_l("Prix TTC (€)"), render_kw={"inputmode": "decimal"})
    vat_rate = SelectField(_l("Taux de TVA"), choices=options(VAT_CHOICES), default="2000")
    max_pupils = IntegerField(_l("Nombre d’élèves au plus"), validators=[Optional()])


PlansForm = type(
    "PlansForm",
    (Form,),
    {kind.value: FormField(PlanForm, label=PLAN_LABELS[kind]) for kind in PlanKind},
)


class ProductForm(AppForm):
    title = StringField(_l("Titre"), validators=[Length(max=200)])
    summary = StringField(_l("Résumé en une phrase"), validators=[Length(max=300)])
    description = TextAreaField(_l("Description"), render_kw={"rows": 8})
    disciplines = MultiCheckboxField(_l("Disciplines"), choices=[])
    levels = MultiCheckboxField(_l("Niveaux"), choices=[])
    resource_type = SelectField(_l("Type de ressource"), choices=[])
    access_url = StringField(_l("Adresse d’accès à la ressource"), validators=[Length(max=500)])
    channel = RadioField(
        _l("Comment la licence parvient-elle à l’enseignant ?"),
        choices=options((c.value, label) for c, label in CHANNEL_LABELS.items()),
        default=Channel.CODES.value,
    )
    gar_resource_id = StringField(
        _l("Identifiant de la ressource dans le GAR (canal GAR seulement)"),
        validators=[Length(max=200)],
    )
    logo = FileField(
        _l("Logo (PNG, JPEG ou WebP, 512 Ko au plus)"),
        validators=[FileAllowed(["png", "jpg", "jpeg", "webp"], _l("PNG, JPEG ou WebP."))],
    )
    plans = FormField(PlansForm, label=_l("Offres et prix"))
    declaration = FormField(DeclarationForm)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.disciplines.choices = options((d.code, d.label) for d in vocabularies.disciplines())
        self.levels.choices = options((lv.code, lv.label) for lv in vocabularies.levels())
        self.resource_type.choices = options(
            (t.code, t.label) for t in vocabularies.resource_types()
        )

    def plan_drafts(self) -> tuple[list[PlanDraft], dict[str, list[str]]]:
        """The offered plans, and the price errors found while reading them."""
        drafts: list[PlanDraft] = []
        errors: dict[str, list[str]] = {}
        for kind in PlanKind:
            plan = getattr(self.plans.form, kind.value).form
            if not plan.offered.data:
                continue
            try:
                price = parse_euros(plan.price.data or "")
            except InvalidAmount as error:
                errors[f"plans.{kind.value}.price"] = [str(error)]
                continue
            max_pupils = plan.max_pupils.data if kind is PlanKind.CLASS else None
            drafts.append(PlanDraft(kind, price, int(plan.vat_rate.data), max_pupils))
        return drafts, errors

    def to_draft(self, plans: list[PlanDraft]) -> ProductDraft:
        return ProductDraft(
            title=self.title.data or "",
            summary=self.summary.data or "",
            description=self.description.data or "",
            disciplines=list(self.disciplines.data or []),
            levels=list(self.levels.data or []),
            resource_type=self.resource_type.data or "",
            access_url=(self.access_url.data or "").strip(),
            channel=Channel(self.channel.data),
            plans=plans,
            declaration=self.declaration.form.to_declaration(),
            gar_resource_id=(self.gar_resource_id.data or "").strip() or None,
        )

    def fill(self, draft: ProductDraft) -> None:
        self.gar_resource_id.data = draft.gar_resource_id
        for key in ("title", "summary", "description", "resource_type", "access_url"):
            getattr(self, key).data = getattr(draft, key)
        self.disciplines.data = list(draft.disciplines)
        self.levels.data = list(draft.levels)
        self.channel.data = draft.channel.value
        for plan in draft.plans:
            form = getattr(self.plans.form, plan.kind.value).form
            form.offered.data = True
            form.price.data = f"{plan.price_cents // 100},{plan.price_cents % 100:02d}"
            form.vat_rate.data = str(plan.vat_rate_bp)
            form.max_pupils.data = plan.max_pupils
        self.declaration.form.fill(draft.declaration)

    def label_of(self, path: str) -> str:
        """The words naming a field to the vendor, from a service's path of it
        (``declaration.hosting[0].country`` → "Hébergement n° 1 — Pays (code ISO, ex. FR)")."""
        words: list[str] = []
        target: Any = self
        for name, index in _PATH_PART.findall(path):
            if isinstance(target, FormField):
                target = target.form
            if index and isinstance(target, FieldList) and int(index) < len(target.entries):
                words[-1:] = [_("%(list)s n° %(n)s", list=words[-1], n=int(index) + 1)]
                target = target.entries[int(index)]
            elif name and isinstance(target, Form) and name in target._fields:
                target = target._fields[name]
                if target is not self.declaration:  # its questions speak for themselves
                    words.append(str(target.label.text))
            else:
                break
        return " — ".join(words) or _("Déclaration des pratiques en matière de données")


class ScreenshotForm(AppForm):
    """One screenshot to add to a draft, with the text that describes it."""

    screenshot = FileField(
        _l("Capture d’écran (PNG, JPEG ou WebP, 2 Mo au plus)"),
        validators=[FileAllowed(["png", "jpg", "jpeg", "webp"], _l("PNG, JPEG ou WebP."))],
    )
    # Required and at most 250 characters: checked by services.add_screenshot.
    alt_text = StringField(_l("Ce que montre la capture (texte alternatif, obligatoire)"))
