"""The messages of paying out: the vendor's bank details were changed.

Changing where a vendor's money goes is what a fraudster would do: every member of the
vendor is told, with who did it and when, and only the IBAN's last 4 characters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app import mail
from app.accounts.models import User
from app.extensions import db
from app.vendors.models import Vendor


@mail.message("bank_details_changed", label="Coordonnées bancaires modifiées")
def bank_details_changed(payload: dict[str, Any]) -> mail.Letter | None:
    user = db.session.get(User, payload["user"])
    vendor = db.session.get(Vendor, payload["vendor"])
    if user is None or not user.active or vendor is None:
        return None
    author = db.session.get(User, payload["by"])
    context = {
        "user": user,
        "vendor": vendor,
        "author_name": author.name if author else "—",
        "changed_at": datetime.fromisoformat(payload["at"]),
        "iban_end": payload["iban_end"],
        "link": mail.public_url("payouts.bank_details", vendor_id=vendor.id),
    }
    return mail.Letter(to=payload["to"], name=user.name, context=context)
