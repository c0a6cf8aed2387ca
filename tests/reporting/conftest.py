"""A small country for the reporting tests (on the rolled-back `session`).

Paris (01) and Lyon (10) are funded by the State; their managers give credit to teachers
of several schools; teachers buy resources of three vendors, of several disciplines,
levels and resource types, over several weeks of autumn 2026; one line is cancelled in
each academy. One Paris teacher never buys, one Lyon teacher's only purchase is cancelled.

| order        | teacher (school)      | bought                        | on         |
|--------------|-----------------------|-------------------------------|------------|
| paris_first  | Alice (Jean Moulin)   | atlas 40 € + maths 25 €       | 2026-09-15 |
| paris_quiz   | Alice (Jean Moulin)   | quiz 12,50 €                  | 2026-10-06 |
| paris_cancel | Bruno (Jean Moulin)   | lecture 30 € + sciences 55 €* | 2026-10-07 |
| paris_atlas  | Chloé (Victor Hugo)   | atlas 40 €                    | 2026-11-03 |
| lyon_first   | Emma (Lumière, Lyon)  | atlas 40 € + sciences 55 €    | 2026-10-08 |
| lyon_cancel  | Farid (Lumière, Lyon) | lecture 30 €*                 | 2026-11-04 |

(*) cancelled: Bruno's sciences on 2026-10-10, Farid's lecture on 2026-11-12.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.budgets.models import School
from app.extensions import db
from app.orders.models import Order
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from app.vendors.models import Vendor
from catalog.identifiers import make_uai
from tests import factories
from tests.conftest import AuthActions
from tests.reporting.helpers import allocate, at, buy, cancel, fund, line_of

PARIS, LYON = "01", "10"


@dataclass
class World:
    managers: dict[str, User]  # by academy code
    admin: User
    schools: dict[str, School]
    teachers: dict[str, User]
    vendors: dict[str, Vendor]
    products: dict[str, Product]
    orders: dict[str, Order]


def _product(vendor: Vendor, title: str, cents: int, **catalogue: object) -> Product:
    return factories.product(
        vendor, title=title, plans=[PlanDraft(PlanKind.SCHOOL, cents, 2000)], **catalogue
    )


def build_world() -> World:
    schools = {
        "jean_moulin": factories.SchoolFactory(
            name="Collège Jean Moulin", uai=make_uai("0750001"), academy_code=PARIS
        ),
        "victor_hugo": factories.SchoolFactory(
            name="Lycée Victor Hugo", uai=make_uai("0750002"), academy_code=PARIS
        ),
        "lumiere": factories.SchoolFactory(
            name="Collège Lumière", uai=make_uai("0690001"), city="Lyon", academy_code=LYON
        ),
    }
    teachers = {
        name: factories.teacher(schools[school], email=f"{name}@{domain}")
        for name, school, domain in (
            ("alice", "jean_moulin", "ac-paris.fr"),
            ("bruno", "jean_moulin", "ac-paris.fr"),
            ("chloe", "victor_hugo", "ac-paris.fr"),
            ("david", "victor_hugo", "ac-paris.fr"),  # never buys
            ("emma", "lumiere", "ac-lyon.fr"),
            ("farid", "lumiere", "ac-lyon.fr"),  # cancels his only purchase
        )
    }
    managers = {
        PARIS: factories.academy_manager(PARIS, email="gestion@ac-paris.fr"),
        LYON: factories.academy_manager(LYON, email="gestion@ac-lyon.fr"),
    }
    vendors = {
        name: factories.VendorFactory(legal_name=name)
        for name in ("Éditions Alpha SAS", "Beta Numérique SARL", "Gamma Vidéo SA")
    }
    alpha, beta, gamma = vendors.values()
    products = {
        "atlas": _product(
            alpha,
            "Atlas du monde",
            40_00,
            disciplines=["histoire_geographie"],
            levels=["cycle_3", "cycle_4"],
            resource_type="manuel_numerique",
        ),
        "maths": _product(alpha, "Fractions en jeu", 25_00),  # maths, cycle 3, exercises
        "lecture": _product(
            beta,
            "Lire en ligne",
            30_00,
            disciplines=["francais"],
            levels=["cycle_2"],
            resource_type="parcours_adaptatif",
        ),
        "sciences": _product(
            beta,
            "Sciences animées",
            55_00,
            disciplines=["svt", "physique_chimie"],
            levels=["cycle_4", "lycee"],
            resource_type="videos_animations",
        ),
        "quiz": _product(
            gamma,
            "Quiz malin",
            12_50,
            disciplines=["mathematiques", "francais"],
            levels=["lycee"],
            resource_type="jeu_serieux",
        ),
    }

    fund(PARIS, 1_000_00)
    fund(PARIS, 200_00)
    fund(LYON, 500_00)
    for name, school, cents in (
        ("alice", "jean_moulin", 100_00),
        ("alice", "jean_moulin", 20_00),  # a second allocation
        ("bruno", "jean_moulin", 150_00),
        ("chloe", "victor_hugo", 80_00),
        ("david", "victor_hugo", 60_00),
    ):
        allocate(managers[PARIS], teachers[name], schools[school], cents)
    allocate(managers[LYON], teachers["emma"], schools["lumiere"], 120_00)
    allocate(managers[LYON], teachers["farid"], schools["lumiere"], 90_00)

    p, t = products, teachers
    placed = {
        "paris_first": buy(t["alice"], [p["atlas"], p["maths"]], at("2026-09-15")),
        "paris_quiz": buy(t["alice"], [p["quiz"]], at("2026-10-06")),
        "paris_cancel": buy(t["bruno"], [p["lecture"], p["sciences"]], at("2026-10-07")),
        "paris_atlas": buy(t["chloe"], [p["atlas"]], at("2026-11-03")),
        "lyon_first": buy(t["emma"], [p["atlas"], p["sciences"]], at("2026-10-08")),
        "lyon_cancel": buy(t["farid"], [p["lecture"]], at("2026-11-04")),
    }
    cancel(line_of(placed["paris_cancel"], p["sciences"]), at("2026-10-10"))
    cancel(line_of(placed["lyon_cancel"], p["lecture"]), at("2026-11-12"))
    return World(
        managers=managers,
        admin=factories.with_role(Role.ADMIN, email="admin@education.gouv.fr"),
        schools=schools,
        teachers=teachers,
        vendors=vendors,
        products=products,
        orders=placed,
    )


@pytest.fixture
def world(session: Session) -> World:
    built = build_world()
    db.session.commit()  # a refused request rolls back to here, not further
    return built


@pytest.fixture
def paris_manager(client: FlaskClient, auth: AuthActions, world: World) -> FlaskClient:
    """The manager of the Paris academy, logged in."""
    auth.login(world.managers[PARIS].email)
    return client
