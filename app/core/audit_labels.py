"""The audit log in French: what each action, object and detail of `app/core/audit.py` is
called on the operator's pages, and where an object's own page is. The only place that
knows these words: a new `audit.record(...)` action gets its label here
(tests/core/test_audit_viewer.py fails until it has one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from app.core.audit import AuditEvent
from app.core.templating import format_cents

ACTION_LABELS = {
    "academy.funded": _l("Dotation versée à l’académie"),
    "academy.funding_reversed": _l("Dotation annulée"),
    "academy.pool_threshold_set": _l("Seuil d’alerte de l’enveloppe fixé"),
    "academy.pool_threshold_removed": _l("Seuil d’alerte de l’enveloppe retiré"),
    "allocation.applied": _l("Répartition de crédits appliquée"),
    "api_token.created": _l("Jeton d’API créé"),
    "api_token.revoked": _l("Jeton d’API révoqué"),
    "codes.uploaded": _l("Codes d’activation déposés"),
    "exclusion.added": _l("Entreprise ajoutée à la liste d’exclusion"),
    "exclusion.rechecked": _l("Éditeurs comparés à la liste d’exclusion"),
    "exclusion.removed": _l("Entreprise retirée de la liste d’exclusion"),
    "exclusion_match.suspended": _l("Éditeur suspendu (liste d’exclusion)"),
    "exclusion_match.dismissed": _l("Correspondance avec la liste d’exclusion écartée"),
    "gar.schools_imported": _l("Établissements du GAR importés"),
    "licence.activated": _l("Licence activée"),
    "licence.failed": _l("Livraison de la licence en échec"),
    "licence.opened": _l("Ressource ouverte par l’enseignant"),
    "licence.retried": _l("Livraison de la licence relancée"),
    "licence.revoked": _l("Licence révoquée"),
    "order.placed": _l("Commande passée"),
    "order_line.cancelled": _l("Ligne de commande annulée"),
    "payout.bank_details_changed": _l("Coordonnées bancaires modifiées"),
    "payout.created": _l("Versement préparé"),
    "payout.marked_paid": _l("Versement marqué comme payé"),
    "payout.reversal_requested": _l("Annulation du virement demandée"),
    "payout.reversed": _l("Virement annulé"),
    "payout.transferred": _l("Virement envoyé"),
    "payout_account.bank_failure": _l("Échec bancaire signalé par Stripe"),
    "payout_account.updated": _l("Compte de versement Stripe mis à jour"),
    "pooled_purchase.started": _l("Achat groupé lancé"),
    "pooled_purchase.withdrawn": _l("Participation à un achat groupé retirée"),
    "pooled_purchase.completed": _l("Achat groupé financé et commandé"),
    "pooled_purchase.expired": _l("Achat groupé échu, participations rendues"),
    "pooled_purchase.cancelled": _l("Achat groupé annulé, participations rendues"),
    "product.created": _l("Produit créé"),
    "review.approve": _l("Produit labellisé par la commission"),
    "review.changes_requested": _l("Modifications demandées par la commission"),
    "review.reject": _l("Produit refusé par la commission"),
    "role.granted": _l("Rôle donné"),
    "role.revoked": _l("Rôle retiré"),
    "scheduled_task.run_now": _l("Tâche planifiée lancée à la main"),
    "school_year.closed": _l("Année scolaire clôturée"),
    "school_year.credit_expired": _l("Crédits non dépensés expirés"),
    "settlement.started": _l("Règlement des éditeurs lancé"),
    "user.activated": _l("Compte activé"),
    "user.closed": _l("Compte fermé"),
    "user.email_change_requested": _l("Changement d’adresse demandé"),
    "user.email_changed": _l("Adresse électronique changée"),
    "user.logged_in": _l("Connexion"),
    "user.logged_out": _l("Déconnexion"),
    "user.password_changed": _l("Mot de passe changé"),
    "user.password_reset": _l("Mot de passe réinitialisé"),
    "user.password_reset_requested": _l("Réinitialisation du mot de passe demandée"),
    "user.proconnect_linked": _l("Compte relié à ProConnect"),
    "user.renamed": _l("Nom modifié"),
    "user.sessions_ended": _l("Déconnexion de tous les appareils"),
    "vendor.approved": _l("Inscription de l’éditeur validée"),
    "vendor.code_alert_threshold": _l("Seuil d’alerte des codes modifié"),
    "vendor.email_confirmed": _l("Adresse de l’inscrivant confirmée"),
    "vendor.invitation_declined": _l("Invitation dans l’équipe refusée"),
    "vendor.member_invited": _l("Membre invité dans l’équipe"),
    "vendor.member_joined": _l("Membre arrivé dans l’équipe"),
    "vendor.provisioning_url": _l("Adresse de livraison (webhook) modifiée"),
    "vendor.refused": _l("Inscription de l’éditeur refusée"),
    "vendor.registered": _l("Éditeur inscrit"),
    "vendor.reinstated": _l("Éditeur rétabli"),
    "vendor.suspended": _l("Éditeur suspendu"),
    "vendor.webhook_secret_rotated": _l("Clé de signature du webhook renouvelée"),
    "version.blocked": _l("Version refusée par les vérifications automatiques"),
    "version.created": _l("Nouvelle version du produit"),
    "version.edited": _l("Version du produit modifiée"),
    "version.logo": _l("Logo du produit changé"),
    "version.screenshot_added": _l("Capture d’écran ajoutée"),
    "version.screenshot_removed": _l("Capture d’écran supprimée"),
    "version.submitted": _l("Version soumise à la commission"),
}

OBJECT_TYPE_LABELS = {
    "academy": _l("Académie"),
    "allocation": _l("Répartition"),
    "api_token": _l("Jeton d’API"),
    "excluded_company": _l("Liste d’exclusion"),
    "licence": _l("Licence"),
    "order": _l("Commande"),
    "payout": _l("Versement"),
    "pooled_purchase": _l("Achat groupé"),
    "product": _l("Produit"),
    "scheduled_task": _l("Tâche planifiée"),
    "school": _l("Établissement"),
    "school_year": _l("Année scolaire"),
    "settlement_run": _l("Règlement"),
    "user": _l("Utilisateur"),
    "vendor": _l("Éditeur"),
}


def action_label(action: str) -> str:
    """The action in French; an action without a label is named as such, never by its code."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else _("Autre action")


def object_type_label(object_type: str) -> str:
    label = OBJECT_TYPE_LABELS.get(object_type)
    return str(label) if label is not None else _("Autre objet")


# The operator's page of an object, when there is one: (endpoint, argument name, converter).
OBJECT_PAGES: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "vendor": ("vendors.admin_detail", "vendor_id", int),
    "user": ("users.detail", "user_id", int),
    "academy": ("budgets.fundings", "academy_code", str),
    "settlement_run": ("payouts.admin_run", "run_id", int),
}


def object_url(object_type: str, object_id: str) -> str | None:
    """The address of the object's page for the operator, or None."""
    page = OBJECT_PAGES.get(object_type)
    if page is None:
        return None
    endpoint, argument, convert = page
    try:
        return url_for(endpoint, **{argument: convert(object_id)})
    except (ValueError, BuildError):
        return None


def _roles(value: Any) -> str:
    if not isinstance(value, list) or not value:
        return str(_("aucun"))
    described = []
    for held in value:
        if not isinstance(held, dict):
            continue
        role = _role(held.get("role"))
        scope = held.get("scope")
        described.append(f"{role} ({scope})" if scope else role)
    return ", ".join(described) or str(_("aucun"))


def _role(value: Any) -> str:
    from app.accounts.models import Role

    try:
        return str(Role(str(value)).label)
    except ValueError:
        return str(_("autre rôle"))


def _amount(value: Any) -> str:
    return format_cents(int(value)) if isinstance(value, int) else ""


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)


# The details shown, in this order, each with its French name and how it reads. The others
# (internal ids, codes, bank numbers) stay in the log but are not shown.
DETAILS: list[tuple[str, Any, Callable[[Any], str]]] = [
    ("role", _l("Rôle"), _role),
    ("scope", _l("Périmètre"), _text),
    ("before", _l("Rôles avant"), _roles),
    ("after", _l("Rôles après"), _roles),
    ("reason", _l("Motif"), _text),
    ("comment", _l("Commentaire"), _text),
    ("amount_cents", _l("Montant"), _amount),
    ("total_cents", _l("Montant total"), _amount),
    ("cents", _l("Montant"), _amount),
    ("threshold_cents", _l("Seuil"), _amount),
    ("school_year", _l("Année scolaire"), _text),
    ("teachers", _l("Enseignants"), _text),
    ("count", _l("Nombre"), _text),
    ("email", _l("Adresse électronique"), _text),
    ("previous", _l("Adresse précédente"), _text),
    ("name", _l("Nom"), _text),
    ("title", _l("Titre"), _text),
    ("siret", _l("SIRET"), _text),
    ("version", _l("Version"), _text),
    ("entry", _l("Entrée de la liste d’exclusion"), _text),
    ("label_expires_on", _l("Label jusqu’au"), _text),
    ("bank_reference", _l("Référence du virement"), _text),
]


def details(event: AuditEvent) -> list[tuple[str, str]]:
    """The event's details a person can read, as (French name, value)."""
    shown = []
    token = event.details.get("api_token")
    if isinstance(token, dict) and token.get("name"):
        shown.append((_("Par le jeton d’API"), str(token["name"])))
    for key, label, read in DETAILS:
        if key in event.details:
            value = read(event.details[key])
            if value:
                shown.append((str(label), value))
    return shown


def object_names(events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """The names of the people, companies and academies the events are about, by (type,
    id): one query per type, whatever the number of events."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.budgets.models import Academy
    from app.extensions import db
    from app.vendors.models import Vendor

    wanted: dict[str, set[str]] = {}
    for event in events:
        wanted.setdefault(event.object_type, set()).add(event.object_id)
    names: dict[tuple[str, str], str] = {}
    numbers = {t: [int(i) for i in ids if i.isdigit()] for t, ids in wanted.items()}
    if numbers.get("user"):
        rows = db.session.execute(select(User.id, User.name).where(User.id.in_(numbers["user"])))
        names.update({("user", str(i)): name for i, name in rows})
    if numbers.get("vendor"):
        vendors = select(Vendor.id, Vendor.legal_name).where(Vendor.id.in_(numbers["vendor"]))
        names.update({("vendor", str(i)): name for i, name in db.session.execute(vendors)})
    if wanted.get("academy"):
        academies = select(Academy.code, Academy.name).where(Academy.code.in_(wanted["academy"]))
        names.update({("academy", code): name for code, name in db.session.execute(academies)})
    return names
