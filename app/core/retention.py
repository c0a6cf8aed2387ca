"""How long what is kept only for a while is kept, and the task that removes it after.

:data:`PERIODS` is the one place the retention periods are written: the daily task
reads it, and so can the privacy page (each period has its French description).

Every night the task ``retention.purge`` removes, per category, one batch (:data:`BATCH`
rows) of what is older than its period; where it found a full batch, it queues the next
one as a job, which does the same (one transaction per batch). Any run can be repeated: what is gone
is not found again. ``flask retention purge`` does the same at once, from a terminal,
and prints the counts.

The ledger is never touched: its entries and postings name accounts by id, never by a
person's name, so an account's holder can be made anonymous and ``flask ledger verify``
still passes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, delete, literal, literal_column, select, update

from app.accounts.models import ApiToken, ExternalIdentity, User
from app.core import dates, jobs, schedule
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.jobs import Job
from app.extensions import db
from app.notifications.models import MailChoice, Notification

BATCH = 5000
# Orders, invoices and the ledger are accounting records: kept ten years (Code de commerce,
# article L123-22). No task removes them (the ledger is append-only); the audit log, which
# tells where they came from, goes with them.
ACCOUNTING_YEARS = 10
JOB_KIND = "retention"
# What a closed account's address becomes ("compte-ferme-42@anonyme.invalid"): a reserved
# domain (RFC 2606) no mail goes to, unique per account as the column requires.
CLOSED_DOMAIN = "anonyme.invalid"
CLOSED_NAME = "Compte fermé"

logger = logging.getLogger("app.retention")
retention_cli = AppGroup("retention", help="Durées de conservation : effacement.")

Purge = Callable[[datetime, int], int]  # (older than, at most) → how many were removed


@dataclass(frozen=True)
class Period:
    category: str
    kept: timedelta
    description: Any  # lazy French words, for the privacy page
    purge: Purge


def _done_jobs(cutoff: datetime, limit: int, *, kind: str | None, but: str | None) -> int:
    batch = select(Job.id).where(
        Job.status == literal_column("'done'"), Job.finished_at < cutoff
    )  # a literal: the partial index ix_job_done
    if kind is not None:
        batch = batch.where(Job.kind == kind)
    if but is not None:
        batch = batch.where(Job.kind != but)
    return _delete(Job, batch.limit(limit))


def _sent_mails(cutoff: datetime, limit: int) -> int:
    return _done_jobs(cutoff, limit, kind="mail", but=None)


def _finished_jobs(cutoff: datetime, limit: int) -> int:
    return _done_jobs(cutoff, limit, kind=None, but=schedule.KIND)


def _scheduled_runs(cutoff: datetime, limit: int) -> int:
    return _done_jobs(cutoff, limit, kind=schedule.KIND, but=None)


def _read_notifications(cutoff: datetime, limit: int) -> int:
    batch = select(Notification.id).where(Notification.read_at < cutoff).limit(limit)
    return _delete(Notification, batch)


def _revoked_api_tokens(cutoff: datetime, limit: int) -> int:
    return _delete(ApiToken, select(ApiToken.id).where(ApiToken.revoked_at < cutoff).limit(limit))


def _audit_events(cutoff: datetime, limit: int) -> int:
    oldest = select(AuditEvent.id).where(AuditEvent.created_at < cutoff)
    return _delete(AuditEvent, oldest.order_by(AuditEvent.created_at).limit(limit))


def _closed_accounts(cutoff: datetime, limit: int) -> int:
    """Replace the name and address of accounts closed before `cutoff` by a placeholder;
    forget how they signed in, their mail choices and notifications."""
    ids = list(
        db.session.scalars(
            select(User.id)
            .where(
                User.active.is_(False),
                User.closed_at < cutoff,
                ~User.email.endswith(f"@{CLOSED_DOMAIN}"),
            )
            .order_by(User.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    placeholder = literal("compte-ferme-") + cast(User.id, String) + literal(f"@{CLOSED_DOMAIN}")
    db.session.execute(
        update(User)
        .where(User.id.in_(ids))
        .values(
            email=placeholder,
            name=CLOSED_NAME,
            password_hash=None,
            locale=None,
            last_login_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    for model in (ExternalIdentity, MailChoice, Notification):
        db.session.execute(delete(model).where(model.user_id.in_(ids)))
    return len(ids)


def _delete(model: Any, ids: Any) -> int:
    """Delete the rows of `model` whose id `ids` (a SELECT) lists; how many."""
    result = db.session.execute(
        delete(model)
        .where(model.id.in_(ids.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# The retention periods, in one place. The privacy page lists them with their description.
PERIODS: tuple[Period, ...] = (
    Period(
        "sent_mails",
        timedelta(days=30),
        _l(
            "Courriels envoyés (adresse du destinataire et contenu) : effacés 30 jours "
            "après leur envoi."
        ),
        _sent_mails,
    ),
    Period(
        "finished_jobs",
        timedelta(days=90),
        _l("Traces des traitements automatiques terminés : effacées après 90 jours."),
        _finished_jobs,
    ),
    Period(
        "scheduled_runs",
        timedelta(days=400),
        _l("Exécutions des tâches planifiées : effacées après 400 jours."),
        _scheduled_runs,
    ),
    Period(
        "read_notifications",
        timedelta(days=180),
        _l("Notifications lues : effacées 180 jours après leur lecture."),
        _read_notifications,
    ),
    Period(
        "revoked_api_tokens",
        timedelta(days=365),
        _l("Jetons d’accès à l’API révoqués : effacés un an après leur révocation."),
        _revoked_api_tokens,
    ),
    Period(
        "closed_accounts",
        timedelta(days=365),
        _l(
            "Comptes fermés : nom et adresse électronique remplacés par un pseudonyme un an "
            "après la fermeture. Les mouvements de crédit restent au grand livre, rattachés "
            "au seul numéro du compte."
        ),
        _closed_accounts,
    ),
    Period(
        "audit_events",
        timedelta(days=ACCOUNTING_YEARS * 365),
        _l(
            "Journal des actions (connexions, commandes, répartitions, décisions de la "
            "commission, versements) : effacé dix ans après l’action, comme les pièces "
            "comptables dont il retrace l’origine."
        ),
        _audit_events,
    ),
)
BY_CATEGORY = {period.category: period for period in PERIODS}


def purge_batch(category: str, *, now: datetime | None = None, limit: int | None = None) -> int:
    """Remove one batch of `category` older than its period; how many rows. Flushes."""
    period = BY_CATEGORY[category]
    count = period.purge((now or utcnow()) - period.kept, limit or BATCH)
    db.session.flush()
    return count


# --- the nightly task ---------------------------------------------------------------------


@schedule.task(
    "retention.purge",
    "40 3 * * *",
    _l("Effacement des données arrivées au terme de leur conservation"),
)
def purge_due() -> None:
    """Remove the first batch of every category; where there is more, queue the next
    batch as a job of its own (one transaction per batch)."""
    day = dates.today().isoformat()
    for period in PERIODS:
        _purge_and_continue(period.category, day, 1)


def _purge_and_continue(category: str, day: str, number: int) -> None:
    removed = purge_batch(category)
    logger.info(
        "Retention %s: %s removed (batch %s)",
        category,
        removed,
        number,
        extra={"retention_category": category, "removed": removed, "batch": number},
    )
    if removed >= BATCH:
        payload = {"category": category, "day": day, "batch": number + 1}
        key = f"{JOB_KIND}:{category}:{day}:{number + 1}"
        jobs.enqueue(JOB_KIND, payload, key=key)


def _describe(payload: dict[str, Any]) -> str:
    category, number = payload.get("category"), payload.get("batch")
    return str(gettext("Effacement « %(category)s », lot %(n)s", category=category, n=number))


@jobs.handler(JOB_KIND, describe=_describe)
def _purge(payload: dict[str, Any]) -> None:
    category = str(payload["category"])
    if category not in BY_CATEGORY:
        raise jobs.GiveUp(f"Catégorie de conservation inconnue : {category}.")
    _purge_and_continue(category, str(payload["day"]), int(payload["batch"]))


# --- by hand --------------------------------------------------------------------------------


@retention_cli.command("purge")
@click.option("--batch", type=int, default=BATCH, show_default=True, help="Lignes par lot.")
def purge_command(batch: int) -> None:
    """Remove now, batch after batch (one transaction each), what is past its period."""
    for period in PERIODS:
        total = 0
        while True:
            removed = purge_batch(period.category, limit=batch)
            db.session.commit()
            total += removed
            if removed < batch:
                break
        click.echo(f"{period.category} : {total}")
