"""What the service tells about the commission's work (see app/notifications): to a
vendor's staff, its decision, a submission refused on the spot by a blocker and a label
coming to its end; to the reviewers who asked for it, the daily digest of the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, exists, func, literal, select
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app import mail, notifications
from app.accounts.models import Role, RoleGrant, User
from app.core import dates, schedule
from app.extensions import db
from app.notifications.models import MailChoice, Topic
from app.products.models import Product, ProductVersion, VersionStatus
from app.vendors import services as vendors
from app.vetting.models import Decision, Review

DIGEST_LINES = 10  # the oldest versions listed; the count says how many wait in all


def _reviewable_by(user_id: Any) -> ColumnElement[bool]:
    """The version waits and the reviewer is not a member of its vendor (they may not
    review it: it is none of their business in the digest either)."""
    member = aliased(RoleGrant)
    return (ProductVersion.status == VersionStatus.IN_REVIEW) & ~exists().where(
        member.user_id == user_id,
        member.role == Role.VENDOR,
        member.vendor_id == Product.vendor_id,
    )


@dataclass(frozen=True)
class Waiting:
    version: ProductVersion
    days: int  # since its submission, in Paris days


def waiting_for(user_id: int) -> list[Waiting]:
    """The versions the reviewer may review, oldest submission first."""
    query = (
        select(ProductVersion)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(_reviewable_by(user_id))
        .options(selectinload(ProductVersion.product).selectinload(Product.vendor))
        .order_by(ProductVersion.submitted_at, ProductVersion.id)
    )
    today = dates.today()
    return [
        Waiting(v, (today - dates.local_date(v.submitted_at)).days if v.submitted_at else 0)
        for v in db.session.scalars(query)
    ]


@notifications.event(
    "review_digest",
    label=_l("Récapitulatif de la file de la commission"),
    topic=notifications.Topic.DIGESTS,
)
def review_digest(payload: dict[str, Any], user: User) -> notifications.Notice | None:
    if not user.has_role(Role.REVIEWER):
        return None
    waiting = waiting_for(user.id)
    if not waiting:  # decided since the digest was queued: nothing left to say
        return None
    context = {
        "count": len(waiting),
        "oldest": waiting[:DIGEST_LINES],
        "day": payload["day"],
        "member": user.has_role(Role.VENDOR),  # some versions may be left out: say why
    }
    return notifications.Notice(context, link=mail.public_url("vetting.queue"))


@schedule.task("vetting.digest", "0 7 * * *", _l("Récapitulatif quotidien de la commission"))
def send_review_digests() -> None:
    """Each morning, to every reviewer who chose the daily digests and has at least one
    version to review: one message per reviewer and Paris day (the key)."""
    day = dates.today().isoformat()
    count = (
        select(func.count(ProductVersion.id))
        .join(Product, Product.id == ProductVersion.product_id)
        .where(_reviewable_by(User.id))
        .correlate(User)
        .scalar_subquery()
    )
    reviewers = (
        select(User.id.label("user"), literal(day, String).label("day"))
        .join(RoleGrant, (RoleGrant.user_id == User.id) & (RoleGrant.role == Role.REVIEWER))
        .join(
            MailChoice,
            (MailChoice.user_id == User.id)
            & (MailChoice.topic == notifications.Topic.DIGESTS)
            & MailChoice.wanted,
        )
        .where(User.active, count > 0)
    )
    notifications.notify_many("review_digest", reviewers, key=f"review-digest:{day}")


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
