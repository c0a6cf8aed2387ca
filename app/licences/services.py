"""Licences: creating them, provisioning them through their channel, and their life after.

Checkout creates a licence per order line with :func:`create_licence`, which queues its
provisioning job in the same transaction. The job (:func:`provision`) asks the product's
channel and records the outcome; it is idempotent: a licence already active, revoked or
expired is left alone.

The first opening of the resource is recorded (:func:`open_resource`: the access redirect
and the "Révéler le code" button; :func:`confirm_first_use`: the vendor, for the GAR),
since it ends the right to cancel (:func:`opened`). A revoked licence is withdrawn at its
channel by a job of the outbox (:func:`withdraw_at_channel`).
"""

from __future__ import annotations

import csv
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import requests
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, func, insert, literal, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import notifications
from app.accounts.models import User
from app.budgets.models import School
from app.core import audit, dates, jobs, schedule
from app.core.db import UTCDateTime, insert_rows, text_rows, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.limits import too_many_lines
from app.extensions import db
from app.licences import channels, gar, notices, targets
from app.licences.models import ActivationCode, Licence, LicenceStatus
from app.orders.models import OrderLine
from app.pooled_purchases.models import PooledPurchase, PooledShare
from app.products.models import Channel, Plan, PlanKind, Product, ProductVersion
from app.vendors import services as vendors
from app.vendors.models import CODE_ALERT_MAX, Vendor

PROVISION = "provision"
WITHDRAW = "licence_withdraw"
# The GAR tells us nothing of use: a GAR licence delivered this many days ago counts as
# opened, unless the vendor confirmed its first use earlier.
GAR_PRESUMED_OPENED_AFTER_DAYS = 14
# A vendor's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
CLOSED = frozenset({LicenceStatus.ACTIVE, LicenceStatus.REVOKED, LicenceStatus.EXPIRED})


def school_year_end(school_year_code: str) -> date:
    """The last day of a school year: "2026-2027" → 31 August 2027."""
    return date(int(school_year_code[-4:]), 8, 31)


def create_licence(
    *,
    version: ProductVersion,
    plan: Plan,
    teacher: User,
    school: School,
    seats: int,
    school_year_code: str,
    valid_from: date,
    order_line: OrderLine | None = None,
) -> Licence:
    """A pending licence and, in the same transaction, the job that provisions it. A GAR
    licence gets its subscription identifier now, so that every try names the same one.
    `order_line`: the line that bought it (already written)."""
    values = {
        "order_line_id": order_line.id if order_line is not None else None,
        "product_id": version.product_id,
        "version_id": version.id,
        "vendor_id": version.product.vendor_id,
        "plan_kind": plan.kind,
        "seats": seats if plan.kind is PlanKind.CLASS else 1,
        "teacher_id": teacher.id,
        "school_id": school.id,
        "school_year_code": school_year_code,
        "valid_from": valid_from,
        "valid_until": school_year_end(school_year_code),
        "status": LicenceStatus.PENDING,
        "gar_subscription_id": (
            gar.new_subscription_id() if version.channel is Channel.GAR else None
        ),
    }
    [licence] = insert_rows(db.session, Licence, [values])  # every checkout writes licences
    if order_line is not None:
        set_committed_value(order_line, "licence", licence)
    jobs.enqueue(PROVISION, {"licence_id": licence.id}, key=f"provision:licence:{licence.id}")
    return licence


def _locked(licence_id: int) -> Licence | None:
    """The licence, its row locked, read afresh (another transaction may have changed it
    while this one waited for the lock)."""
    query = (
        select(Licence)
        .where(Licence.id == licence_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.scalar(query)


def lock(licence: Licence) -> Licence:
    """`licence` with its row locked and read afresh (cancellation, opening and delivery
    take turns on it)."""
    return _locked(licence.id) or licence


@jobs.handler(
    PROVISION,
    on_dead=lambda payload, error: _gave_up(payload["licence_id"], error),
    describe=lambda payload: gettext(
        "Mise à disposition de la licence n°%(id)s", id=payload["licence_id"]
    ),
)
def provision(payload: dict[str, Any]) -> None:
    """The provisioning job: ask the channel, record what it answered."""
    licence = _locked(int(payload["licence_id"]))
    if licence is None or licence.status in CLOSED:
        return
    outcome = channels.deliver(licence)
    if outcome.state == "active":
        _activate(licence, outcome.access_url, outcome.external_id, None, "channel")
    elif outcome.state == "refused":
        _failed_at_channel(licence, outcome.reason or "Refusé.")
    else:
        licence.status = LicenceStatus.PENDING
        licence.status_reason = outcome.reason


def _gave_up(licence_id: int, error: str) -> None:
    licence = _locked(licence_id)
    if licence is not None and licence.status not in CLOSED:
        _failed_at_channel(licence, f"La livraison a échoué après plusieurs tentatives ({error})")


def _activate(
    licence: Licence,
    access_url: str | None,
    external_id: str | None,
    actor: audit.Actor,
    source: str,
) -> None:
    # The access first: reading the version may flush, and an active licence without
    # access is refused by the database (ck_licence_active_has_access).
    licence.access_url = access_url or licence.access_url or licence.version.access_url
    licence.external_id = external_id or licence.external_id
    licence.status = LicenceStatus.ACTIVE
    licence.status_reason = None
    licence.activated_at = utcnow()
    licence.updated_at = utcnow()
    audit.record(actor, "licence.activated", "licence", licence.id, source=source)
    notifications.notify(
        "licence_ready",
        {"licence": licence.id},
        users=[licence.teacher_id],
        key=f"licence-ready:{licence.id}",
    )


def confirm(
    actor: audit.Actor, licence: Licence, *, access_url: str | None, external_id: str | None
) -> Licence:
    """The vendor confirms provisioning (API): the licence becomes active. Confirming
    an active licence again with the same access changes nothing."""
    if not access_url and not external_id:
        raise ValidationFailed(
            "Indiquez l'adresse d'accès ou votre identifiant de la licence.",
            details={"access_url": ["obligatoire sans external_id"]},
        )
    if access_url and not access_url.startswith("https://"):
        raise ValidationFailed(
            "L'adresse d'accès doit commencer par https://.",
            details={"access_url": ["adresse https:// attendue"]},
        )
    licence = _locked(licence.id) or licence  # the provisioning job may be at it too
    if licence.status in (LicenceStatus.REVOKED, LicenceStatus.EXPIRED):
        raise Conflict(
            f"La licence {licence.id} est {licence.status.label.lower()} : rien à confirmer."
        )
    _activate(licence, access_url, external_id, actor, "vendor")
    return licence


def fail(licence: Licence, reason: str, actor: audit.Actor) -> None:
    """Provisioning gave up or was refused: visible to the teacher, the vendor, admins."""
    if licence.status in (LicenceStatus.REVOKED, LicenceStatus.EXPIRED):
        raise Conflict(f"La licence {licence.id} est {licence.status.label.lower()}.")
    licence.status = LicenceStatus.FAILED
    licence.status_reason = reason[:2000]
    licence.updated_at = utcnow()
    audit.record(actor, "licence.failed", "licence", licence.id, reason=licence.status_reason)
    notifications.notify(
        "licence_failed",
        {"licence": licence.id},
        users=[licence.teacher_id],
        key=f"licence-failed:{licence.id}",
    )


def _failed_at_channel(licence: Licence, reason: str) -> None:
    """The channel refused the licence or never answered: it fails; on the webhook channel
    the vendor's server is at fault, so their staff are told (not when they report the
    failure themselves through the API: they know)."""
    fail(licence, reason, None)
    if licence.version.channel is Channel.WEBHOOK:
        _tell_vendor(licence, notices.FAILED)


def _tell_vendor(licence: Licence, cause: str) -> None:
    """A licence waits for the vendor's staff: one message per licence and cause."""
    notifications.notify(
        "licence_needs_action",
        {"licence": licence.id, "cause": cause},
        users=vendors.member_ids(licence.vendor_id),
        key=f"licence-action:{licence.id}:{cause}",
    )


UNCONFIRMED_AFTER = timedelta(days=1)
# Licences bought this long before the mark are not looked at again each hour (they were
# told then; a scheduler down for a week still catches up).
UNCONFIRMED_LOOKBACK = timedelta(days=7)


def tell_unconfirmed(now: datetime | None = None) -> int:
    """Webhook licences still waiting for the vendor more than a day after purchase: their
    staff are told, once per licence. Returns how many licences were looked at."""
    before = (now or utcnow()) - UNCONFIRMED_AFTER
    query = (
        select(Licence)
        .join(ProductVersion, ProductVersion.id == Licence.version_id)
        .where(
            Licence.status == LicenceStatus.PENDING,
            ProductVersion.channel == Channel.WEBHOOK,
            Licence.created_at < before,
            Licence.created_at >= before - UNCONFIRMED_LOOKBACK,
        )
        .order_by(Licence.id)
    )
    waiting = list(db.session.scalars(query))
    for licence in waiting:  # a few licences, each told to its own vendor
        _tell_vendor(licence, notices.UNCONFIRMED)
    return len(waiting)


@schedule.task("licences.unconfirmed", "20 * * * *", _l("Licences en attente de l’éditeur"))
def tell_unconfirmed_now() -> None:
    tell_unconfirmed()


def retry(actor: User | None, licence: Licence) -> None:
    """Try a failed (or waiting) licence again: a new provisioning job."""
    if licence.status not in (LicenceStatus.FAILED, LicenceStatus.PENDING):
        raise Conflict("Seule une licence en échec ou en attente peut être relancée.")
    licence.status = LicenceStatus.PENDING
    licence.status_reason = None
    licence.updated_at = utcnow()
    key = f"provision:licence:{licence.id}:retry:{uuid.uuid4().hex}"
    jobs.enqueue(PROVISION, {"licence_id": licence.id}, key=key)
    audit.record(actor, "licence.retried", "licence", licence.id)


def revoke(actor: User | None, licence: Licence, reason: str) -> None:
    """The licence ends now; its channel is told by a job of the outbox (committed with
    this change, sent after)."""
    if licence.status in (LicenceStatus.REVOKED, LicenceStatus.EXPIRED):
        return
    licence.status = LicenceStatus.REVOKED
    licence.status_reason = reason
    licence.updated_at = utcnow()
    if licence.version.channel is not Channel.CODES:
        jobs.enqueue(WITHDRAW, {"licence_id": licence.id}, key=f"withdraw:licence:{licence.id}")
    audit.record(actor, "licence.revoked", "licence", licence.id, reason=reason)


@jobs.handler(
    WITHDRAW,
    describe=lambda payload: (
        f"Retrait de la licence n°{payload['licence_id']} chez l'éditeur ou au GAR"
    ),
)
def withdraw_at_channel(payload: dict[str, Any]) -> None:
    """The withdrawal job: the vendor's server or the GAR is told the licence is revoked."""
    licence = db.session.get(Licence, int(payload["licence_id"]))
    if licence is None or licence.status is not LicenceStatus.REVOKED:
        return
    channels.withdraw(licence)


# --- opening --------------------------------------------------------------------------------


def opened(licence: Licence, on: date | None = None) -> bool:
    """Whether the teacher has opened the resource: recorded (access link, revealed code,
    the vendor's confirmation), or presumed for a GAR licence delivered more than
    GAR_PRESUMED_OPENED_AFTER_DAYS days ago (Paris dates)."""
    if licence.opened_at is not None:
        return True
    if licence.version.channel is Channel.GAR and licence.activated_at is not None:
        day = on or dates.today()
        delivered = dates.local_date(licence.activated_at)
        return day > delivered + timedelta(days=GAR_PRESUMED_OPENED_AFTER_DAYS)
    return False


def _record_opening(
    licence: Licence, actor: audit.Actor, source: str, at: datetime | None = None
) -> None:
    if licence.opened_at is None:
        licence.opened_at = at or utcnow()
        licence.updated_at = utcnow()
        audit.record(actor, "licence.opened", "licence", licence.id, source=source)


def open_resource(teacher: User, licence_id: int, source: str) -> Licence:
    """The teacher opens the resource (`source`: "link" through the access redirect, "code"
    by revealing the activation code). The first time is kept: the right to cancel ends."""
    licence = _locked(licence_id)
    if licence is None or not holds(teacher, licence):
        raise NotFound("Licence introuvable.")
    if licence.status is not LicenceStatus.ACTIVE:
        raise Conflict(_NOT_OPENABLE.get(licence.status, "Cette ressource n'est pas accessible."))
    _record_opening(licence, teacher, source)
    return licence


_NOT_OPENABLE = {
    LicenceStatus.PENDING: "Cette ressource est encore en cours de livraison : réessayez "
    "dans quelques minutes.",
    LicenceStatus.FAILED: "La livraison de cette ressource a échoué : elle ne peut pas être "
    "ouverte.",
    LicenceStatus.REVOKED: "Cette ressource a été annulée : elle ne peut plus être ouverte.",
    LicenceStatus.EXPIRED: "Cette licence a expiré à la fin de l'année scolaire.",
}


def confirm_first_use(
    licence: Licence, at: datetime | None = None, actor: audit.Actor = None
) -> Licence:
    """The vendor confirms that a GAR licence was used for the first time (API), at `at`
    (now by default). The first confirmation is kept; the right to cancel ends."""
    licence = lock(licence)
    if licence.version.channel is not Channel.GAR:
        raise Conflict(
            "Seule une licence distribuée par le GAR est déclarée ouverte par l'éditeur : "
            "les autres le sont quand l'enseignant suit son lien d'accès ou révèle son code."
        )
    if licence.status is not LicenceStatus.ACTIVE:
        raise Conflict(
            f"La licence {licence.id} n'est pas active : sa première utilisation ne peut "
            "pas être confirmée."
        )
    now = utcnow()
    if at is not None and at > now + CLOCK_SKEW:
        raise ValidationFailed(
            "La date de première utilisation est dans le futur.",
            details={"opened_at": ["date future"]},
        )
    if at is not None and at < licence.created_at:
        raise ValidationFailed(
            "La date de première utilisation précède l'achat de la licence.",
            details={"opened_at": ["antérieure à l'achat"]},
        )
    _record_opening(licence, actor, "vendor", min(at, now) if at is not None else now)
    return licence


def expire_ended(on: date) -> int:
    """Licences whose school year ended before `on` become expired. Safe to re-run."""
    result = db.session.execute(
        update(Licence)
        .where(
            Licence.valid_until < on,
            Licence.status.in_([LicenceStatus.ACTIVE, LicenceStatus.PENDING]),
        )
        .values(status=LicenceStatus.EXPIRED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@schedule.task("licences.expire", "5 0 * * *", _l("Clôture des licences arrivées à échéance"))
def expire_today() -> None:
    """What `flask licences expire` does, each night just after midnight (Paris)."""
    expire_ended(dates.today())


# --- the GAR's list of schools ----------------------------------------------------------


@dataclass(frozen=True)
class GarImport:
    listed: int  # schools of the file known here: they use the GAR
    unknown: list[str]  # UAIs of the file that no school here has
    not_listed: int  # schools here that are not in the file: they do not use the GAR
    kinds_changed: int


def import_gar_schools(schools: Sequence[gar.GarSchool]) -> GarImport:
    """The GAR's whole list of schools (checked by :func:`gar.read_etablissements`): the
    schools in it use the GAR, the others do not; a school's kind follows the list's when
    the list tells one. Safe to run again with the same or a newer list."""
    by_uai = {school.uai: school for school in schools}
    listed_uais = text_rows(db.session, "gar_list", uai=list(by_uai))  # one parameter
    listed = kinds_changed = 0
    found: set[str] = set()
    ours = db.session.scalars(
        select(School).join(listed_uais, listed_uais.c.uai == School.uai).order_by(School.id)
    )
    for school in ours:
        entry = by_uai[school.uai]
        found.add(school.uai)
        listed += 1
        school.uses_gar = True
        if entry.kind is not None and school.kind != entry.kind:
            school.kind = entry.kind
            kinds_changed += 1
    db.session.flush()
    not_listed = db.session.execute(
        update(School)
        .where(School.uses_gar.is_(None) | School.uses_gar.is_(True))
        .where(~School.uai.in_(select(listed_uais.c.uai)))
        .values(uses_gar=False)
        .execution_options(synchronize_session=False)
    )
    audit.record(None, "gar.schools_imported", "school", "etablissements.xml", listed=listed)
    return GarImport(
        listed=listed,
        unknown=sorted(set(by_uai) - found),
        not_listed=int(not_listed.rowcount or 0),  # type: ignore[attr-defined]
        kinds_changed=kinds_changed,
    )


# --- reading ----------------------------------------------------------------------------


def get_licence(licence_id: int) -> Licence:
    licence = db.session.get(Licence, licence_id)
    if licence is None:
        raise NotFound("Licence introuvable.")
    return licence


def vendor_licence(vendor_id: int, licence_id: int) -> Licence:
    """A licence of this vendor's products; NotFound for anyone else's."""
    licence = db.session.get(Licence, licence_id)
    if licence is None or licence.vendor_id != vendor_id:
        raise NotFound("Licence introuvable.")
    return licence


def _pooled_lines(teacher: User) -> Any:
    """The order lines of completed pooled purchases the teacher has a share in: the
    school licence is theirs to open too."""
    return (
        select(OrderLine.id)
        .join(PooledPurchase, PooledPurchase.order_id == OrderLine.order_id)
        .join(PooledShare, PooledShare.pooled_purchase_id == PooledPurchase.id)
        .where(PooledShare.teacher_id == teacher.id, PooledShare.withdrawn_at.is_(None))
    )


def holds(teacher: User, licence: Licence) -> bool:
    """The teacher bought the licence, or paid a share of the pooled purchase that did."""
    if licence.teacher_id == teacher.id:
        return True
    if licence.order_line_id is None:
        return False
    query = _pooled_lines(teacher).where(OrderLine.id == licence.order_line_id)
    return db.session.scalar(query) is not None


def teacher_licences(teacher: User) -> list[Licence]:
    """The teacher's licences, newest first, with what "Mes ressources" shows of each."""
    query = (
        select(Licence)
        .where(
            (Licence.teacher_id == teacher.id) | Licence.order_line_id.in_(_pooled_lines(teacher))
        )
        .options(
            selectinload(Licence.version),
            selectinload(Licence.school),
            selectinload(Licence.code),
            selectinload(Licence.order_line).selectinload(OrderLine.order),
        )
        .order_by(Licence.created_at.desc(), Licence.id.desc())
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class LicencePage:
    licences: list[Licence]
    total: int
    page: int
    per_page: int


def vendor_licences(
    vendor_id: int,
    *,
    status: LicenceStatus | None = None,
    updated_since: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> LicencePage:
    query = select(Licence).where(Licence.vendor_id == vendor_id)
    if status is not None:
        query = query.where(Licence.status == status)
    if updated_since is not None:
        query = query.where(Licence.updated_at >= updated_since)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Licence.updated_at, Licence.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return LicencePage(list(rows), total, page, per_page)


# --- activation codes -------------------------------------------------------------------

CODE_MAX_LENGTH = 200
CODES_MAX_LINES = 100_000


def parse_codes(text: Iterable[str]) -> list[str]:
    """The codes of an uploaded CSV given as its lines of text (one code a line, optional
    header ``code``), read one row at a time and checked as a whole: every problem is
    reported with its line number, and nothing is kept. Past CODES_MAX_LINES codes, the
    lines are only counted, for the message."""
    errors: dict[str, list[str]] = {}
    codes: list[str] = []
    first_line: dict[str, int] = {}
    count = number = 0
    try:
        for number, row in enumerate(csv.reader(text, delimiter=";"), start=1):
            cells = [cell.strip() for cell in row if cell.strip()]
            if not cells or (number == 1 and cells[0].lower() == "code"):
                continue
            count += 1
            if count > CODES_MAX_LINES:
                continue
            where = f"ligne {number}"
            code = cells[0]
            if len(cells) > 1:
                errors.setdefault(where, []).append("une seule colonne (le code) est attendue")
            elif len(code) > CODE_MAX_LENGTH:
                errors.setdefault(where, []).append(f"code trop long ({CODE_MAX_LENGTH} au plus)")
            elif any(c.isspace() for c in code):
                errors.setdefault(where, []).append("un code ne contient pas d'espace")
            elif code in first_line:
                errors.setdefault(where, []).append(
                    f"code en double (déjà ligne {first_line[code]})"
                )
            else:
                first_line[code] = number
                codes.append(code)
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            "Le fichier doit être encodé en UTF-8.",
            details={"fichier": [f"encodage invalide à la ligne {number + 1}"]},
        ) from error
    except csv.Error as error:
        raise ValidationFailed(
            "Le fichier n'est pas un CSV lisible.",
            details={"fichier": [f"ligne {number + 1} : {error}"]},
        ) from error
    if count > CODES_MAX_LINES:
        message = too_many_lines(count, CODES_MAX_LINES)
        raise ValidationFailed(message, details={"fichier": [message]})
    if not codes and not errors:
        errors["fichier"] = ["aucun code dans le fichier"]
    if errors:
        raise ValidationFailed(
            "Le fichier de codes est refusé : rien n'a été enregistré.", details=errors
        )
    return codes


def upload_codes(
    actor: audit.Actor, product: Product, plan_kind: PlanKind, codes: Sequence[str]
) -> int:
    """Store the codes for a product's plan (all or nothing), then give codes to the
    licences that were waiting for them. Returns how many codes were added. What the
    product or the codes already stored refuse is a Conflict (409 in the API), naming
    the field; the codes themselves are checked by `parse_codes`."""
    listed = product.listed or product.latest
    if listed.channel is not Channel.CODES:
        raise Conflict(
            "Ce produit n'est pas livré par codes d'activation.",
            details={"product": ["canal de livraison différent"]},
        )
    if listed.plan(plan_kind) is None:
        raise Conflict(
            "Ce produit n'a pas cette offre.",
            details={"plan": [f"Ce produit n'a pas d'offre « {PlanKind(plan_kind).label} »."]},
        )
    uploaded = text_rows(db.session, "uploaded", code=codes)  # one parameter, any count
    known = set(
        db.session.scalars(
            select(ActivationCode.code).join(
                uploaded,
                (ActivationCode.code == uploaded.c.code)
                & (ActivationCode.product_id == product.id),
            )
        )
    )
    if known:
        lines = {f"code {code}": ["déjà déposé pour ce produit"] for code in sorted(known)[:50]}
        raise Conflict(
            ngettext(
                "%(num)s code a déjà été déposé : rien n'a été enregistré.",
                "%(num)s codes ont déjà été déposés : rien n'a été enregistré.",
                len(known),
            ),
            details=lines,
        )
    uploaded_by = actor.id if isinstance(actor, User) else None  # a person, not a token
    rows = select(
        literal(product.id),
        literal(PlanKind(plan_kind).value),
        uploaded.c.code,
        literal(uploaded_by, Integer()),
        literal(utcnow(), UTCDateTime()),
    )
    db.session.execute(
        insert(ActivationCode).from_select(
            ["product_id", "plan_kind", "code", "uploaded_by", "uploaded_at"], rows
        )
    )
    batch = uuid.uuid4().hex
    waiting = db.session.scalars(
        select(Licence.id).where(
            Licence.product_id == product.id,
            Licence.plan_kind == plan_kind,
            Licence.status == LicenceStatus.PENDING,
            ~Licence.code.has(),
        )
    )
    for licence_id in waiting:
        key = f"provision:licence:{licence_id}:codes:{batch}"
        jobs.enqueue(PROVISION, {"licence_id": licence_id}, key=key)
    audit.record(
        actor, "codes.uploaded", "product", product.id, plan=plan_kind.value, count=len(codes)
    )
    return len(codes)


@dataclass(frozen=True)
class CodeStock:
    product: Product
    plan_kind: PlanKind
    available: int
    waiting: int  # licences pending for lack of a code


def code_stock(vendor: Vendor) -> list[CodeStock]:
    """For each codes product's plan of the vendor: codes left, licences waiting."""
    available = {
        (product_id, kind): count
        for product_id, kind, count in db.session.execute(
            select(ActivationCode.product_id, ActivationCode.plan_kind, func.count())
            .join(Product, Product.id == ActivationCode.product_id)
            .where(Product.vendor_id == vendor.id, ActivationCode.licence_id.is_(None))
            .group_by(ActivationCode.product_id, ActivationCode.plan_kind)
        )
    }
    waiting = {
        (product_id, kind): count
        for product_id, kind, count in db.session.execute(
            select(Licence.product_id, Licence.plan_kind, func.count())
            .where(
                Licence.vendor_id == vendor.id,
                Licence.status == LicenceStatus.PENDING,
                ~Licence.code.has(),
            )
            .group_by(Licence.product_id, Licence.plan_kind)
        )
    }
    stock: list[CodeStock] = []
    products = db.session.scalars(select(Product).where(Product.vendor_id == vendor.id))
    for product in products:
        version = product.listed or product.latest
        if version.channel is not Channel.CODES:
            continue
        for plan in version.plans:
            key = (product.id, plan.kind)
            stock.append(CodeStock(product, plan.kind, available.get(key, 0), waiting.get(key, 0)))
    return stock


def set_code_alert_threshold(actor: User, vendor: Vendor, value: str) -> int:
    """Under how many codes left for a product's plan the vendor's staff are told (0: only
    when none is left)."""
    reason = f"indiquez un nombre entier de 0 à {CODE_ALERT_MAX:_}".replace("_", "\u202f")
    try:
        threshold = int(value.strip())
    except ValueError:
        threshold = -1
    if not 0 <= threshold <= CODE_ALERT_MAX:
        raise ValidationFailed(
            f"Seuil d'alerte des codes : {reason}.",
            details={"code_alert_threshold": [f"Seuil d'alerte des codes : {reason}."]},
        )
    vendor.code_alert_threshold = threshold
    audit.record(actor, "vendor.code_alert_threshold", "vendor", vendor.id, threshold=threshold)
    return threshold


# --- the vendor's delivery settings (webhook channel) -----------------------------------


def set_provisioning_url(actor: User, vendor: Vendor, url: str) -> str | None:
    """Where the webhook channel announces licences. Outside development, the URL must
    lead to public Internet addresses only (targets.py). A signing secret is made on
    first use: returned then, to be shown once (None otherwise)."""
    url = url.strip()
    if url and not url.startswith("https://"):
        raise ValidationFailed(
            "L'adresse de livraison doit commencer par https://.",
            details={"provisioning_url": ["adresse https:// attendue"]},
        )
    if url and not targets.local_targets_allowed():
        try:
            targets.checked_addresses(url)
        except targets.TargetRefused as refused:
            raise ValidationFailed(
                f"L'adresse de livraison est refusée : {refused.reason}.",
                details={"provisioning_url": [refused.reason]},
            ) from refused
        except requests.RequestException as unresolved:
            reason = "le nom du serveur ne peut pas être résolu (vérifiez l'adresse)"
            raise ValidationFailed(
                f"L'adresse de livraison est refusée : {reason}.",
                details={"provisioning_url": [reason]},
            ) from unresolved
    vendor.provisioning_url = url or None
    audit.record(actor, "vendor.provisioning_url", "vendor", vendor.id, url=url)
    if vendor.webhook_secret is None:
        return rotate_webhook_secret(actor, vendor)
    return None


def rotate_webhook_secret(actor: User, vendor: Vendor) -> str:
    """A new signing secret (the previous one stops working at once); returned to be
    shown once: the pages show only its last characters afterwards."""
    vendor.webhook_secret = secrets.token_hex(32)
    audit.record(actor, "vendor.webhook_secret_rotated", "vendor", vendor.id)
    return vendor.webhook_secret
