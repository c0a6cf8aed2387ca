"""Helpers of the vetting tests: declarations that break the code of conduct, the decision form."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.audit import AuditEvent
from app.extensions import db
from app.products.models import Product
from catalog import conduct


def declaration(**changes: Any) -> dict[str, Any]:
    """The compliant example declaration with some answers changed."""
    return {**conduct.sample_declaration(), **changes}


def decision_form(decision: str, *, unmet: tuple[str, ...] = (), **fields: str) -> dict[str, str]:
    """What the reviewer posts: the decision, every criterion ticked but `unmet`, and fields."""
    data = {"decision": decision, **fields}
    for criterion in conduct.label_criteria():
        if criterion.code not in unmet:
            data[f"criterion_{criterion.code}"] = "y"
    return data


def actions(product: Product) -> list[str]:
    query = (
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "product", AuditEvent.object_id == str(product.id))
        .order_by(AuditEvent.id)
    )
    return list(db.session.scalars(query))


def product_page(product: Product) -> str:
    return f"/editeur/{product.vendor_id}/produits/{product.id}"
