"""What a vendor's staff are told about the commission's work on their products (see
app/notifications): its decision, and a submission refused on the spot by a blocker."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from app import mail, notifications
from app.accounts.models import User
from app.core import dates
from app.extensions import db
from app.notifications.models import Topic
from app.products.models import ProductVersion
from app.vendors import services as vendors
from app.vetting.models import Decision, Review


def _product_link(version: ProductVersion) -> str:
    return mail.public_url(
        "products.detail", vendor_id=version.product.vendor_id, product_id=version.product_id
    )


@notifications.event("product_decision", label=_l("Décision de la commission sur un produit"))
def product_decision(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    review = db.session.get(Review, payload["review"])
    if review is None or not vendors.is_member(user, review.version.product.vendor_id):
        return None
    context = {
        "review": review,
        "version": review.version,
        "approved": review.decision is Decision.APPROVE,
        "changes": review.decision is Decision.CHANGES_REQUESTED,
    }
    return notifications.Notice(context, link=_product_link(review.version))


@notifications.event("submission_blocked", label=_l("Soumission refusée par les vérifications"))
def submission_blocked(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    version = db.session.get(ProductVersion, payload["version"])
    if version is None or not vendors.is_member(user, version.product.vendor_id):
        return None
    context = {"version": version, "findings": payload.get("findings") or []}
    return notifications.Notice(context, link=_product_link(version))


@notifications.event(
    "label_expiring", label=_l("Label bientôt arrivé à échéance"), topic=Topic.REMINDERS
)
def label_expiring(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    version = db.session.get(ProductVersion, payload["version"])
    if version is None or not vendors.is_member(user, version.product.vendor_id):
        return None
    if version.label_expires_on is None:
        return None
    told_on = date.fromisoformat(payload["on"]) if payload.get("on") else dates.today()
    days = (version.label_expires_on - told_on).days  # as on the day it was told
    context = {"version": version, "day": version.label_expires_on, "days": max(days, 0)}
    return notifications.Notice(context, link=_product_link(version))
