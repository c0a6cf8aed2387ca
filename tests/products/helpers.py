"""Helpers of the product and vetting tests: the product form's data, reading the storefront."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.products.models import Product, ProductVersion
from app.vendors.models import Vendor
from catalog import conduct
from tests import factories
from tests.helpers import page_text


def form_data(**overrides: Any) -> dict[str, Any]:
    """What the vendor's product form posts for a valid product (a teacher plan at 24,90 €
    and a compliant declaration). Override any field by its form name; None leaves it out."""
    data: dict[str, Any] = {
        "title": "Tangram géométrique",
        "summary": "Des puzzles de tangram pour la géométrie au cycle 3.",
        "description": "Les élèves reproduisent des figures avec les sept pièces du tangram.",
        "disciplines": ["mathematiques"],
        "levels": ["cycle_3"],
        "resource_type": "jeu_serieux",
        "access_url": "https://tangram.example/jeu",
        "channel": "codes",
        "plans-teacher-offered": "y",
        "plans-teacher-price": "24,90",
        "plans-teacher-vat_rate": "550",
        "declaration-hosting-0-country": "fr",
        "declaration-hosting-0-provider": "OVHcloud",
        "declaration-subprocessors-0-name": "Brevo",
        "declaration-subprocessors-0-country": "FR",
        "declaration-subprocessors-0-purpose": "Envoi des courriels",
        "declaration-teacher_data": ["identity", "email"],
        "declaration-pupil_data": ["pseudonym", "results"],
        "declaration-purposes": "Fournir le service\nSuivre la progression de la classe",
        "declaration-retention_days": "90",
        "declaration-advertising": "non",
        "declaration-data_sale": "non",
        "declaration-pupil_profiling": "non",
        "declaration-trackers": "",
        "declaration-gar_access": "oui",
        "declaration-dpo_contact": "dpo@tangram.example",
        "declaration-privacy_policy_url": "https://tangram.example/confidentialite",
        "declaration-certifications": "ISO 27001",
        "declaration-breach_notification_hours": "48",
        "declaration-deletion_at_end": "oui",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def product_count() -> int:
    return db.session.scalar(select(func.count(Product.id))) or 0


def listed_versions(product: Product) -> list[ProductVersion]:
    query = select(ProductVersion).where(
        ProductVersion.product_id == product.id, ProductVersion.listed
    )
    return list(db.session.scalars(query))


def result_titles(response: Any) -> list[str]:
    """The titles of the storefront's results, in the order shown."""
    return re.findall(
        r'<h2 class="fr-card__title"><a href="[^"]+">([^<]+)</a>', page_text(response)
    )


def all_criteria_met() -> dict[str, bool]:
    return {criterion.code: True for criterion in conduct.label_criteria()}


def on_sale(vendor: Vendor, title: str, state: str = "approved", **overrides: Any) -> Product:
    """A product whose texts say nothing but what the test gives them."""
    fields: dict[str, Any] = {
        "summary": "Une ressource pour la classe.",
        "description": "Une ressource numérique pour travailler en classe avec les élèves.",
        "disciplines": ["francais"],
    }
    fields.update(overrides)
    return factories.product(vendor, state=state, title=title, **fields)
