"""The messages of vendor onboarding: the registering person's address confirmation, and
the operator's decision on the registration, to each member of the vendor."""

from __future__ import annotations

from typing import Any

from app import mail
from app.accounts.models import User
from app.extensions import db
from app.vendors import services
from app.vendors.models import InvitationStatus, Vendor, VendorInvitation


@mail.message("vendor_email_confirmation", label="Confirmation de l'adresse de l'éditeur")
def vendor_email_confirmation(payload: dict[str, Any]) -> mail.Letter | None:
    vendor = db.session.get(Vendor, payload["vendor"])
    user = db.session.get(User, payload["user"])
    if vendor is None or user is None or vendor.registrant_email_confirmed_at is not None:
        return None  # confirmed meanwhile: nothing to say
    token = services.email_confirmation_token(vendor, user)
    link = mail.public_url("vendors.confirm_email", token=token)
    days = services.EMAIL_CONFIRMATION_MAX_AGE // 86400
    context = {"user": user, "vendor": vendor, "link": link, "days": days}
    return mail.Letter(to=user.email, name=user.name, context=context)


@mail.message("vendor_decision", label="Décision sur l'inscription de l'éditeur")
def vendor_decision(payload: dict[str, Any]) -> mail.Letter | None:
    vendor = db.session.get(Vendor, payload["vendor"])
    user = db.session.get(User, payload["user"])
    if vendor is None or user is None or not user.active:
        return None
    link = mail.public_url("vendors.space", vendor_id=vendor.id)
    context = {
        "user": user,
        "vendor": vendor,
        "approved": payload["decision"] == "approved",
        "link": link,
    }
    return mail.Letter(to=user.email, name=user.name, context=context)


@mail.message("vendor_invitation", label="Invitation dans l'équipe d'un éditeur")
def vendor_invitation(payload: dict[str, Any]) -> mail.Letter | None:
    invitation = db.session.get(VendorInvitation, payload["invitation"])
    if invitation is None or invitation.status is not InvitationStatus.PENDING:
        return None  # answered meanwhile: nothing to say
    link = mail.public_url("vendors.invitation", token=services.invitation_token(invitation))
    context = {
        "vendor": invitation.vendor,
        "inviter": invitation.invited_by.name,
        "link": link,
        "days": services.INVITATION_MAX_AGE // 86400,
    }
    return mail.Letter(to=invitation.email, context=context)
