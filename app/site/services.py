"""What the public information pages show that comes from elsewhere, so that no figure
is typed twice: the results of the automated accessibility checks (a JSON file the test
suite writes), the retention periods (app/core/retention.py), the cookie the app sets
(its configuration) and the site map (the pages of this package and the navigation of
each role, app/accounts/navigation.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.accounts.models import Role, User
from app.accounts.navigation import Link, role_links
from app.core.retention import PERIODS


@dataclass(frozen=True)
class Page:
    endpoint: str
    title: Any  # lazy French words


# The information pages, in the order of the footer and the site map.
PAGES: tuple[Page, ...] = (
    Page("site.accessibility", _l("Déclaration d’accessibilité")),
    Page("site.legal_notice", _l("Mentions légales")),
    Page("site.privacy", _l("Données personnelles")),
    Page("site.cookies", _l("Gestion des cookies")),
    Page("site.site_map", _l("Plan du site")),
    Page("site.help", _l("Aide")),
    Page("site.contact", _l("Contact")),
)
TITLES = {page.endpoint: page.title for page in PAGES}


# --- the accessibility audit ----------------------------------------------------------------

# Written by the automated checks of the test suite (axe-core and the Nu HTML Checker).
AUDIT_FILE = Path(__file__).resolve().with_name("accessibility_audit.json")


@dataclass(frozen=True)
class AuditedPage:
    title: str
    path: str
    role: str
    axe_violations: int
    html_errors: int


@dataclass(frozen=True)
class AccessibilityAudit:
    date: date
    tools: dict[str, str]
    pages: list[AuditedPage]

    @property
    def axe_violations(self) -> int:
        return sum(page.axe_violations for page in self.pages)

    @property
    def html_errors(self) -> int:
        return sum(page.html_errors for page in self.pages)

    @property
    def pages_without_findings(self) -> int:
        return sum(1 for page in self.pages if not page.axe_violations and not page.html_errors)


def accessibility_audit(path: Path | None = None) -> AccessibilityAudit:
    """The last results of the automated checks, read from `path` (AUDIT_FILE)."""
    data = json.loads((path or AUDIT_FILE).read_text(encoding="utf-8"))
    return AccessibilityAudit(
        date=date.fromisoformat(data["date"]),
        tools={str(name): str(version) for name, version in data["tools"].items()},
        pages=[
            AuditedPage(
                title=str(page["title"]),
                path=str(page["path"]),
                role=str(page["role"]),
                axe_violations=int(page["axe_violations"]),
                html_errors=int(page["html_errors"]),
            )
            for page in data["pages"]
        ],
    )


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    description: str
    days: int
    duration: str


def duration_words(days: int) -> str:
    """« 30 jours », « 1 an », « 10 ans »: whole years when the period is some."""
    if days % 365 == 0:
        years = days // 365
        return str(ngettext("%(num)d an", "%(num)d ans", years))
    return str(ngettext("%(num)d jour", "%(num)d jours", days))


def retention_periods() -> list[Retention]:
    """The periods of app/core/retention.py, longest last, with their description."""
    return [
        Retention(str(period.description), period.kept.days, duration_words(period.kept.days))
        for period in sorted(PERIODS, key=lambda period: period.kept)
    ]


# --- cookies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str


def cookies() -> list[Cookie]:
    """Every cookie the service sets: the session's, under its configured name. The
    language, the sign-in and the forms' CSRF token all live inside it."""
    config = current_app.config
    hours = int(current_app.permanent_session_lifetime.total_seconds()) // 3600
    return [
        Cookie(
            name=str(config["SESSION_COOKIE_NAME"]),
            purpose=str(
                _l(
                    "Session : garde votre connexion, la langue choisie, le jeton qui protège "
                    "les formulaires contre les requêtes forgées (CSRF) et les messages à "
                    "afficher d’une page à l’autre. Signé par le serveur, illisible par les "
                    "scripts de la page (HttpOnly), jamais envoyé par un autre site (SameSite)."
                )
            ),
            lifetime=ngettext(
                "Jusqu’à la fermeture du navigateur ; une fois connecté, %(num)d heure au plus.",
                "Jusqu’à la fermeture du navigateur ; une fois connecté, %(num)d heures au plus.",
                hours,
            ),
        )
    ]


# The one key the DSFR's script keeps in the browser's local storage (never sent to us).
LOCAL_STORAGE_KEYS = ("scheme",)


# --- the site map ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    title: str
    links: list[Link]


def _public_links(signed_in: bool) -> list[Link]:
    """The pages open to everyone; those that only lead a visitor in are left out once
    signed in (they would send the person on to their own home page)."""
    links = [Link(str(_l("Catalogue des ressources labellisées")), url_for("products.storefront"))]
    if not signed_in:
        links[:0] = [Link(str(_l("Accueil")), url_for("accounts.index"))]
        links += [
            Link(str(_l("Se connecter")), url_for("accounts.login")),
            Link(str(_l("Mot de passe oublié")), url_for("accounts.forgotten_password")),
        ]
    return [
        *links,
        Link(str(_l("Inscrire votre entreprise (éditeurs)")), url_for("vendors.register")),
        Link(str(_l("Conditions d’utilisation pour les éditeurs")), url_for("vendors.terms")),
        Link(str(_l("Données ouvertes")), url_for("opendata.index")),
    ]


def site_map(user: User | None) -> list[Section]:
    """The public pages, the information pages, and, for a signed-in person, the pages of
    each role they hold (the navigation's links) and of their account."""
    sections = [
        Section(str(_l("Pages publiques")), _public_links(user is not None)),
        Section(
            str(_l("Informations sur le service")),
            [Link(str(page.title), url_for(page.endpoint)) for page in PAGES],
        ),
    ]
    if user is None:
        return sections
    by_role: dict[Role, list[Link]] = {}
    for role, link in role_links(user):
        by_role.setdefault(role, []).append(link)
    for role, links in by_role.items():
        sections.append(Section(role.label, links))
    sections.append(
        Section(
            str(_l("Mon compte")),
            [
                Link(str(_l("Mon profil")), url_for("profile.show")),
                Link(str(_l("Notifications")), url_for("notifications.index")),
            ],
        )
    )
    return sections
