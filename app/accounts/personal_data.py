"""Everything the service holds about one person, as one JSON document (RGPD, article 15).

:func:`export` reads each table once, filtered on the person: their account, roles, ways
of signing in, mail choices, credit (accounts and every movement), cart, orders and their
lines, licences, notifications, the API tokens they created, the reviews they wrote and
the actions the journal records them doing. Secrets never leave: no password hash, no
token hash, no session version; the access links and activation codes of licences stay
on « Mes ressources », where they are shown to their owner only. An e-mail address in an
action's details that is not the person's own (someone they invited) is left out: the
document tells a person about themselves, not about others.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from app.accounts.models import ApiToken, ExternalIdentity, RoleGrant, User
from app.budgets.models import School
from app.core.audit import AuditEvent
from app.extensions import db
from app.ledger.models import AccountKind, JournalEntry, LedgerAccount, Posting
from app.licences.models import Licence
from app.notifications.models import MailChoice, Notification
from app.orders.models import CartLine, Order, OrderLine
from app.products.models import ProductVersion
from app.vendors.models import Vendor
from app.vetting.models import Review

FILENAME = "mes-donnees-compte-ressources.json"
FORMAT_VERSION = 1
LEFT_OUT = "(adresse d'une autre personne, non exportée)"


def _plain(value: Any) -> Any:
    """A value JSON can hold: dates in ISO 8601, enums by their value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _rows(query: Any) -> list[dict[str, Any]]:
    """The rows of a SELECT of labelled columns, as plain dictionaries."""
    return [
        {key: _plain(value) for key, value in row._mapping.items()}
        for row in db.session.execute(query)
    ]


def _own_details(details: dict[str, Any], email: str) -> dict[str, Any]:
    """An action's details without the e-mail addresses of other people."""
    kept: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, str) and "@" in value and value.lower() != email:
            kept[key] = LEFT_OUT
        else:
            kept[key] = _plain(value)
    return kept


def export(user: User) -> dict[str, Any]:
    """The personal data of `user`, one query per table. Reads only."""
    profile = {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "active": user.active,
        "created_at": _plain(user.created_at),
        "closed_at": _plain(user.closed_at),
        "last_login_at": _plain(user.last_login_at),
        "locale": user.locale,
        "has_password": user.password_hash is not None,
    }
    roles = _rows(
        select(
            RoleGrant.role,
            RoleGrant.created_at,
            School.uai.label("school_uai"),
            School.name.label("school_name"),
            RoleGrant.academy_code,
            Vendor.legal_name.label("vendor"),
        )
        .outerjoin(School, School.id == RoleGrant.school_id)
        .outerjoin(Vendor, Vendor.id == RoleGrant.vendor_id)
        .where(RoleGrant.user_id == user.id)
        .order_by(RoleGrant.id)
    )
    identities = _rows(
        select(
            ExternalIdentity.provider,
            ExternalIdentity.subject,
            ExternalIdentity.created_at,
            ExternalIdentity.last_login_at,
        )
        .where(ExternalIdentity.user_id == user.id)
        .order_by(ExternalIdentity.id)
    )
    mail_choices = _rows(
        select(MailChoice.topic, MailChoice.wanted)
        .where(MailChoice.user_id == user.id)
        .order_by(MailChoice.topic)
    )
    credit_accounts = _rows(
        select(
            LedgerAccount.id,
            LedgerAccount.school_year_code.label("school_year"),
            LedgerAccount.academy_code,
            LedgerAccount.balance_cents,
            LedgerAccount.created_at,
        )
        .where(LedgerAccount.kind == AccountKind.TEACHER_CREDIT, LedgerAccount.user_id == user.id)
        .order_by(LedgerAccount.id)
    )
    credit_movements = _rows(
        select(
            JournalEntry.created_at,
            JournalEntry.kind,
            JournalEntry.reference,
            JournalEntry.memo,
            Posting.amount_cents,
            LedgerAccount.school_year_code.label("school_year"),
            LedgerAccount.academy_code,
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(LedgerAccount.kind == AccountKind.TEACHER_CREDIT, LedgerAccount.user_id == user.id)
        .order_by(JournalEntry.id, Posting.id)
    )
    cart = _rows(
        select(
            CartLine.product_id,
            CartLine.plan_kind,
            CartLine.seats,
            CartLine.seen_price_cents,
            CartLine.added_at,
        )
        .where(CartLine.teacher_id == user.id)
        .order_by(CartLine.id)
    )
    orders = _rows(
        select(
            Order.id,
            Order.school_year_code.label("school_year"),
            Order.academy_code,
            School.uai.label("school_uai"),
            Order.total_cents,
            Order.credit_after_cents,
            Order.created_at,
        )
        .join(School, School.id == Order.school_id)
        .where(Order.teacher_id == user.id)
        .order_by(Order.id)
    )
    for order in orders:  # the number people read on their receipt (Order.number)
        order["number"] = f"CR-{str(order['school_year'])[:4]}-{int(order['id']):06d}"
    order_lines = _rows(
        select(
            OrderLine.order_id,
            OrderLine.title,
            OrderLine.plan_kind,
            OrderLine.seats,
            OrderLine.price_cents,
            OrderLine.vat_cents,
            OrderLine.status,
            OrderLine.cancelled_at,
            Vendor.legal_name.label("vendor"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Vendor, Vendor.id == OrderLine.vendor_id)
        .where(Order.teacher_id == user.id)
        .order_by(OrderLine.id)
    )
    for order in orders:
        order["lines"] = [line for line in order_lines if line["order_id"] == order["id"]]
    licences = _rows(
        select(
            Licence.id,
            Licence.order_line_id,
            ProductVersion.title,
            Licence.plan_kind,
            Licence.seats,
            School.uai.label("school_uai"),
            Licence.school_year_code.label("school_year"),
            Licence.valid_from,
            Licence.valid_until,
            Licence.status,
            Licence.created_at,
            Licence.activated_at,
            Licence.opened_at,
        )
        .join(ProductVersion, ProductVersion.id == Licence.version_id)
        .join(School, School.id == Licence.school_id)
        .where(Licence.teacher_id == user.id)
        .order_by(Licence.id)
    )
    notifications = _rows(
        select(
            Notification.event,
            Notification.payload,
            Notification.created_at,
            Notification.read_at,
        )
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    )
    api_tokens = _rows(
        select(
            ApiToken.name,
            ApiToken.prefix,
            Vendor.legal_name.label("vendor"),
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .join(Vendor, Vendor.id == ApiToken.vendor_id)
        .where(ApiToken.created_by == user.id)
        .order_by(ApiToken.id)
    )
    reviews = _rows(
        select(
            Review.version_id,
            ProductVersion.title,
            Review.decision,
            Review.comment,
            Review.created_at,
        )
        .join(ProductVersion, ProductVersion.id == Review.version_id)
        .where(Review.reviewer_id == user.id)
        .order_by(Review.id)
    )
    actions = [
        {
            "created_at": _plain(event.created_at),
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "details": _own_details(event.details or {}, user.email),
        }
        for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id)
        )
    ]
    return {
        "format_version": FORMAT_VERSION,
        "about": (
            "Données personnelles détenues par le service Compte Ressources sur le titulaire "
            "de ce compte (article 15 du RGPD). Montants en centimes d'euro, dates en UTC "
            "(ISO 8601). Les liens d'accès et codes d'activation des licences restent "
            "affichés dans « Mes ressources » ; aucun mot de passe ni secret n'est exporté."
        ),
        "profile": profile,
        "roles": roles,
        "sign_in_identities": identities,
        "mail_choices": mail_choices,
        "credit_accounts": credit_accounts,
        "credit_movements": credit_movements,
        "cart": cart,
        "orders": orders,
        "licences": licences,
        "notifications": notifications,
        "api_tokens": api_tokens,
        "reviews": reviews,
        "actions": actions,
    }
