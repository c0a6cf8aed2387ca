"""Where each role lands after login, and the links the header shows it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _

from app.accounts.models import Role, User


@dataclass(frozen=True)
class Link:
    label: str
    url: str


def role_links(user: User) -> list[tuple[Role, Link]]:
    """One home link per role the user holds (per academy for academy managers)."""
    links: list[tuple[Role, Link]] = []
    if user.has_role(Role.TEACHER):
        links.append(
            (Role.TEACHER, Link(_("Mon compte ressources"), url_for("budgets.my_account")))
        )
        links.append((Role.TEACHER, Link(_("Catalogue"), url_for("products.storefront"))))
        links.append((Role.TEACHER, Link(_("Mes ressources"), url_for("licences.my_resources"))))
        links.append((Role.TEACHER, Link(_("Mes commandes"), url_for("orders.my_orders"))))
        links.append((Role.TEACHER, Link(_("Achats groupés"), url_for("pooled_purchases.index"))))
        links.append((Role.TEACHER, Link(_("Panier"), url_for("orders.cart"))))
    if user.has_role(Role.ACADEMY_MANAGER):
        for grant in user.grants:
            if grant.role == Role.ACADEMY_MANAGER and grant.academy is not None:
                url = url_for("budgets.academy_home", academy_code=grant.academy.code)
                links.append(
                    (
                        Role.ACADEMY_MANAGER,
                        Link(_("Budget — %(name)s", name=grant.academy.name), url),
                    )
                )
    if user.has_role(Role.VENDOR):
        links.append((Role.VENDOR, Link(_("Espace éditeur"), url_for("vendors.home"))))
    if user.has_role(Role.REVIEWER):
        links.append((Role.REVIEWER, Link(_("Commission"), url_for("vetting.queue"))))
    if user.has_role(Role.ADMIN):
        links.append((Role.ADMIN, Link(_("Administration"), url_for("budgets.national"))))
        links.append(
            (Role.ADMIN, Link(_("Tableau de bord"), url_for("reporting.national_dashboard")))
        )
        links.append((Role.ADMIN, Link(_("Éditeurs"), url_for("vendors.admin_list"))))
        links.append((Role.ADMIN, Link(_("Utilisateurs"), url_for("users.index"))))
        links.append((Role.ADMIN, Link(_("Versements"), url_for("payouts.admin_runs"))))
        links.append((Role.ADMIN, Link(_("Tâches en échec"), url_for("jobs.dead"))))
        links.append((Role.ADMIN, Link(_("Tâches planifiées"), url_for("jobs.scheduled"))))
        links.append((Role.ADMIN, Link(_("Journal d’audit"), url_for("audit.journal"))))
    return links


# When a person holds several roles, they land on the first of these they hold.
LANDING_ORDER = (Role.ADMIN, Role.ACADEMY_MANAGER, Role.VENDOR, Role.TEACHER, Role.REVIEWER)


def home_url(user: User) -> str:
    links = dict(reversed(role_links(user)))  # the first link of each role wins
    for role in LANDING_ORDER:
        if role in links:
            return links[role].url
    return url_for("accounts.no_role")
