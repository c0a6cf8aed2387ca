"""The messages of getting in: activation link, password reset, address confirmation.

Each builder runs when its mail is about to be sent and returns None when there is no
longer anything to say (the account was activated, closed, or moved meanwhile).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app import mail
from app.accounts import services
from app.accounts.models import User
from app.extensions import db
from app.vendors.models import Vendor


def _active_user(payload: dict[str, Any]) -> User | None:
    """The user the message is for, without their role grants (a mail needs none)."""
    query = select(User).where(User.id == payload["user"]).options(lazyload(User.grants))
    user = db.session.scalar(query)
    return user if user is not None and user.active else None


@mail.message("account_activation", label="Lien d'activation du compte")
def account_activation(payload: dict[str, Any]) -> mail.Letter | None:
    user = _active_user(payload)
    if user is None or user.password_hash is not None:
        return None  # activated meanwhile: nothing to say
    vendor = db.session.get(Vendor, payload["vendor"]) if payload.get("vendor") else None
    link = mail.public_url("accounts.activate", token=services.activation_token(user))
    days = services.ACTIVATION_MAX_AGE // 86400
    context = {"user": user, "vendor": vendor, "link": link, "days": days}
    return mail.Letter(to=user.email, name=user.name, context=context)


@mail.message("password_reset", label="Nouveau mot de passe")
def password_reset(payload: dict[str, Any]) -> mail.Letter | None:
    user = _active_user(payload)
    if user is None or user.password_hash is None:
        return None
    link = mail.public_url("accounts.reset_password", token=services.password_reset_token(user))
    return mail.Letter(to=user.email, name=user.name, context={"user": user, "link": link})


@mail.message("email_change", label="Confirmation de la nouvelle adresse")
def email_change(payload: dict[str, Any]) -> mail.Letter | None:
    user = _active_user(payload)
    if user is None:
        return None
    token = services.email_change_token(user, payload["email"])
    link = mail.public_url("profile.confirm_email", token=token)
    return mail.Letter(to=payload["email"], name=user.name, context={"user": user, "link": link})
