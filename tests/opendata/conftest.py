"""A small country for the open-data tests (on the rolled-back `session`): enough teachers
in some cells for their figures to be published, too few in others.

| product  | disciplines           | level   | bought by                       | on         |
|----------|-----------------------|---------|---------------------------------|------------|
| maths    | mathématiques         | cycle 3 | 12 Paris teachers (one cancels) | 2026-09-15 |
| sciences | SVT, physique-chimie  | cycle 4 | 10 Paris teachers               | 2026-10-06 |
| lecture  | français              | cycle 2 | 3 Paris teachers                | 2026-10-07 |
| atlas    | histoire-géographie   | cycle 4 | 2 Lyon teachers                 | 2026-11-03 |

So in Paris, maths in September has 11 teachers who kept their purchase (published),
sciences in October 10 (published, once under each of its disciplines), lecture 3
(suppressed); Lyon's atlas 2 (suppressed).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.budgets.models import School
from app.extensions import db
from app.products.models import PlanKind, Product
from app.products.services import PlanDraft
from catalog.identifiers import make_uai
from tests import factories
from tests.reporting.helpers import allocate, at, buy, cancel, fund, line_of

PARIS, LYON = "01", "10"


@dataclass
class World:
    teachers: list[User]
    schools: dict[str, School]
    products: dict[str, Product]


def build_world() -> World:
    schools = {
        "paris": factories.SchoolFactory(
            name="Collège Jean Moulin", uai=make_uai("0750001"), academy_code=PARIS
        ),
        "lyon": factories.SchoolFactory(
            name="Collège Lumière", uai=make_uai("0690001"), city="Lyon", academy_code=LYON
        ),
    }
    managers = {
        PARIS: factories.academy_manager(PARIS, email="gestion@ac-paris.fr"),
        LYON: factories.academy_manager(LYON, email="gestion@ac-lyon.fr"),
    }
    vendor = factories.VendorFactory(legal_name="Éditions Alpha SAS", siret="12345678200010")
    plans = [
        PlanDraft(PlanKind.TEACHER, 20_00, 550),
        PlanDraft(PlanKind.SCHOOL, 40_00, 2000),
    ]
    products = {
        "maths": factories.product(vendor, title="Fractions en jeu", plans=plans),
        "sciences": factories.product(
            vendor,
            title="Sciences animées",
            plans=plans,
            disciplines=["svt", "physique_chimie"],
            levels=["cycle_4"],
            resource_type="videos_animations",
        ),
        "lecture": factories.product(
            vendor,
            title="Lire en ligne",
            plans=plans,
            disciplines=["francais"],
            levels=["cycle_2"],
            resource_type="parcours_adaptatif",
        ),
        "atlas": factories.product(
            vendor,
            title="Atlas du monde",
            plans=plans,
            disciplines=["histoire_geographie"],
            levels=["cycle_4"],
            resource_type="manuel_numerique",
        ),
    }
    fund(PARIS, 10_000_00)
    fund(LYON, 1_000_00)
    teachers: list[User] = []
    for number in range(1, 16):
        school = schools["paris"] if number <= 13 else schools["lyon"]
        domain = "ac-paris.fr" if number <= 13 else "ac-lyon.fr"
        person = factories.teacher(
            school, email=f"prof{number}@{domain}", name=f"Professeur Numéro{number}"
        )
        allocate(managers[school.academy_code], person, school, 100_00)
        teachers.append(person)
    paris, lyon = teachers[:13], teachers[13:]
    first = None
    for person in paris[:12]:
        order = buy(person, [products["maths"]], at("2026-09-15"))
        first = first or order
    assert first is not None
    cancel(line_of(first, products["maths"]), at("2026-09-20"))
    for person in paris[:10]:
        buy(person, [products["sciences"]], at("2026-10-06"))
    for person in paris[10:13]:
        buy(person, [products["lecture"]], at("2026-10-07"))
    for person in lyon:
        buy(person, [products["atlas"]], at("2026-11-03"))
    return World(teachers=teachers, schools=schools, products=products)


@pytest.fixture
def world(session: Session) -> World:
    built = build_world()
    db.session.commit()
    return built
