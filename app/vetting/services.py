"""Vetting: submitting a product version, the automated code-of-conduct checks, and the
commission's decisions.

Submitting runs the checks of ``catalog.conduct`` at once. A blocker refuses the
submission on the spot: the version stays a draft and keeps the findings, so the vendor
sees what to fix. Otherwise the version waits in the reviewers' queue. A reviewer who is
a member of the vendor cannot review its products. Approving grants the label until an
expiry date and puts the version on sale in place of the previous one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import notifications
from app.accounts.models import Role, User
from app.core import audit, dates, schedule
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.products import services as products
from app.products.models import Product, ProductVersion, VersionStatus
from app.vendors import services as vendors
from app.vetting.models import Decision, Review
from catalog import conduct

LABEL_YEARS = 3
# The vendor's staff are reminded this many days before a label ends (largest first).
LABEL_REMINDERS = (60, 15)


class VendorNotApproved(Conflict):
    """The vendor's registration waits for the operator: its products cannot be submitted."""

    code = "vendor_pending"


@dataclass(frozen=True)
class Submission:
    accepted: bool
    findings: list[conduct.Finding]


def findings_of(version: ProductVersion) -> list[conduct.Finding]:
    return [
        conduct.Finding(f["rule"], conduct.Severity(f["severity"]), f["message"], f.get("field"))
        for f in version.findings or []
    ]


@dataclass(frozen=True)
class Verification:
    """What the vendor's "Vérifier" shows on a draft, without submitting it: the fields
    still missing or wrong for a submission (by path, see ``products.missing_for_submission``)
    and the findings of the code-of-conduct rules that could be applied."""

    missing: dict[str, list[str]]
    findings: list[conduct.Finding]

    @property
    def submittable(self) -> bool:
        return not self.missing and not conduct.has_blocker(self.findings)


def verify(version: ProductVersion) -> Verification:
    """Run the checks a submission would run (``python -m catalog check``'s rules, with the
    vendor's company and the exclusion list) on the version as it is. Writes nothing."""
    partial = conduct.check_partial(
        version.declaration,
        company=products.company_of(version.product.vendor),
        excluded_names=vendors.exclusion_entries(),
    )
    return Verification(products.missing_for_submission(version), partial.findings)


def run_checks(version: ProductVersion) -> list[conduct.Finding]:
    """The code-of-conduct findings of a complete version, stored on it."""
    declaration = conduct.Declaration.from_dict(version.declaration)
    findings = conduct.check(
        declaration,
        company=products.company_of(version.product.vendor),
        excluded_names=vendors.exclusion_entries(),
    )
    version.findings = [
        {"rule": f.rule, "severity": f.severity.value, "message": f.message, "field": f.field}
        for f in findings
    ]
    return findings


def submit(actor: User | None, version: ProductVersion) -> Submission:
    """Submit a draft for review: ValidationFailed listing every field still missing or
    invalid (nothing written); refused on the spot when a check finds a blocker."""
    if not version.editable:
        raise Conflict("Cette version a déjà été soumise.")
    if version.product.vendor.pending:
        raise VendorNotApproved(
            "Votre inscription attend la validation de l'opérateur : vous pourrez soumettre "
            "ce produit à la commission dès qu'elle sera validée. En attendant, vous pouvez "
            "continuer à le préparer."
        )
    if not version.product.vendor.active:
        raise Conflict("Votre compte éditeur est suspendu : la soumission est impossible.")
    missing = products.missing_for_submission(version)
    if missing:
        raise ValidationFailed(
            "Le produit ne peut pas encore être soumis : des informations manquent ou sont "
            "invalides.",
            details=missing,
        )
    findings = run_checks(version)
    blockers = [f.rule for f in findings if f.severity is conduct.Severity.BLOCKER]
    if blockers:
        audit.record(
            actor,
            "version.blocked",
            "product",
            version.product_id,
            version=version.number,
            blockers=blockers,
        )
        _tell_blocked(version, findings)
        return Submission(accepted=False, findings=findings)
    version.status = VersionStatus.IN_REVIEW
    version.submitted_at = utcnow()
    audit.record(actor, "version.submitted", "product", version.product_id, version=version.number)
    return Submission(accepted=True, findings=findings)


def review_queue() -> list[ProductVersion]:
    """Versions waiting for a decision, oldest submission first."""
    query = (
        select(ProductVersion)
        .where(ProductVersion.status == VersionStatus.IN_REVIEW)
        .options(selectinload(ProductVersion.product).selectinload(Product.vendor))
        .order_by(ProductVersion.submitted_at, ProductVersion.id)
    )
    return list(db.session.scalars(query))


def submitted_version(version_id: int) -> ProductVersion:
    """A version the commission may read: one that was submitted (drafts stay private)."""
    version = products.get_version(version_id)
    if version.submitted_at is None:
        raise NotFound("Version introuvable.")
    return version


def conflict_of_interest(reviewer: User, version: ProductVersion) -> bool:
    """True when the reviewer belongs to the vendor of the product."""
    return reviewer.has_role(Role.VENDOR, version.product.vendor_id)


def reviews_of(version: ProductVersion) -> list[Review]:
    query = select(Review).where(Review.version_id == version.id).order_by(Review.id)
    return list(db.session.scalars(query))


def default_label_expiry(on: date) -> date:
    try:
        return on.replace(year=on.year + LABEL_YEARS)
    except ValueError:  # 29 February
        return on.replace(year=on.year + LABEL_YEARS, day=28)


def decide(
    reviewer: User,
    version: ProductVersion,
    decision: Decision,
    *,
    comment: str = "",
    criteria: dict[str, bool] | None = None,
    label_expires_on: date | None = None,
) -> Review:
    """Record the commission's decision on a version under review."""
    if conflict_of_interest(reviewer, version):
        raise Forbidden(
            "Vous êtes membre de l'éditeur de ce produit : un autre membre de la commission "
            "doit l'examiner."
        )
    if version.status is not VersionStatus.IN_REVIEW:
        raise Conflict("Cette version n'est pas (ou plus) en attente d'examen.")
    criteria = criteria or {}
    grid = conduct.label_criteria()
    unknown = set(criteria) - {c.code for c in grid}
    if unknown:
        raise ValidationFailed(
            "Ce critère ne fait pas partie de la grille du label.",
            details={"criteria": [f"Critère inconnu : « {code} »." for code in sorted(unknown)]},
        )
    today = products.today()
    if decision is Decision.APPROVE:
        unmet = [c for c in grid if not criteria.get(c.code)]
        if unmet:
            raise ValidationFailed(
                "Le label ne peut être accordé que si tous les critères sont remplis.",
                details={
                    "criteria": [f"Le critère « {c.label} » n'est pas rempli." for c in unmet]
                },
            )
        label_expires_on = label_expires_on or default_label_expiry(today)
        if label_expires_on <= today:
            raise ValidationFailed(
                "La date de fin du label doit être dans le futur.",
                details={"label_expires_on": ["date passée"]},
            )
        if label_expires_on > today + timedelta(days=366 * 5):
            raise ValidationFailed(
                "Un label est accordé pour 5 ans au plus.",
                details={"label_expires_on": ["plus de 5 ans"]},
            )
    else:
        label_expires_on = None
        if not comment.strip():
            raise ValidationFailed(
                "Expliquez votre décision à l'éditeur.", details={"comment": ["obligatoire"]}
            )
    review = Review(
        version=version,
        reviewer=reviewer,
        decision=decision,
        comment=comment.strip(),
        criteria=criteria,
        label_expires_on=label_expires_on,
    )
    db.session.add(review)
    version.decided_at = utcnow()
    if decision is Decision.APPROVE:
        _list(version, label_expires_on)
    elif decision is Decision.CHANGES_REQUESTED:
        version.status = VersionStatus.CHANGES_REQUESTED
    else:
        version.status = VersionStatus.REJECTED
    db.session.flush()
    audit.record(
        reviewer,
        f"review.{decision.value}",
        "product",
        version.product_id,
        version=version.number,
        comment=review.comment,
        label_expires_on=label_expires_on.isoformat() if label_expires_on else None,
    )
    notifications.notify(
        "product_decision",
        {"review": review.id},
        users=vendors.member_ids(version.product.vendor_id),
        key=f"product-decision:{review.id}",
    )
    return review


def _tell_blocked(version: ProductVersion, findings: list[conduct.Finding]) -> None:
    """The vendor's staff are told a submission was refused on the spot, with the blockers
    in words; the same findings on the same version are one event (a replayed request)."""
    said = [f.message for f in findings if f.severity is conduct.Severity.BLOCKER]
    digest = hashlib.sha256("\n".join(said).encode()).hexdigest()[:16]
    notifications.notify(
        "submission_blocked",
        {"version": version.id, "findings": said},
        users=vendors.member_ids(version.product.vendor_id),
        key=f"submission-blocked:{version.id}:{digest}",
    )


def _list(version: ProductVersion, label_expires_on: date | None) -> None:
    """Put an approved version on sale in place of the one listed before."""
    previous = version.product.listed
    if previous is not None and previous is not version:
        previous.listed = False
        previous.status = VersionStatus.SUPERSEDED
        db.session.flush()  # the one-listed-version index sees the old one unlisted first
    version.status = VersionStatus.APPROVED
    version.label_expires_on = label_expires_on
    version.listed = True
    products.add_words_of(version)  # "did you mean" knows its words at once
    if previous is not None and previous is not version:
        # A new price of the school plan ends the open pooled purchases of the product.
        from app.pooled_purchases import services as pooled_purchases

        pooled_purchases.cancel_for_product(version.product_id)


def remind_label_expiry(today: date) -> int:
    """Tell the staff of each vendor whose listed product's label ends within 60 days, then
    within 15: once per label and step (the key holds the version and the step). A label
    that passed a mark while no run happened (a missed day) is told at the next run; one
    approved with less than 15 days left gets the 15 days' message only. Returns how many
    labels were looked at."""
    told = 0
    for index, step in enumerate(LABEL_REMINDERS):
        nearer = LABEL_REMINDERS[index + 1] if index + 1 < len(LABEL_REMINDERS) else 0
        query = (
            select(ProductVersion)
            .where(
                ProductVersion.listed,
                ProductVersion.label_expires_on <= today + timedelta(days=step),
                ProductVersion.label_expires_on > today + timedelta(days=nearer),
            )
            .options(selectinload(ProductVersion.product))
            .order_by(ProductVersion.id)
        )
        for version in db.session.scalars(query):  # a few labels, each to its own vendor
            ends = version.label_expires_on
            assert ends is not None  # a listed version has its label's end (a constraint)
            notifications.notify(
                "label_expiring",
                {"version": version.id, "step": step, "on": today.isoformat()},
                users=vendors.member_ids(version.product.vendor_id),
                key=f"label-expiring:{version.id}:{ends.isoformat()}:{step}",
            )
            told += 1
    return told


@schedule.task("vetting.label-expiry", "30 6 * * *", _l("Rappel des labels bientôt échus"))
def remind_label_expiry_today() -> None:
    remind_label_expiry(dates.today())


def timeline(product: Product) -> list[audit.AuditEvent]:
    return audit.history("product", product.id)
