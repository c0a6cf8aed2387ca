"""What the commission's reviewers are told (see app/notifications): the daily digest of
the queue, to those who asked for it, and the task that sends it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, exists, func, literal, select
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app import mail, notifications
from app.accounts.models import Role, RoleGrant, User
from app.core import dates, schedule
from app.extensions import db
from app.notifications.models import MailChoice
from app.products.models import Product, ProductVersion, VersionStatus

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
