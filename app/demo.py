"""`flask seed-demo`: a believable demo in an empty database, and again changes nothing.

Everything is generated from a fixed random seed and inserted only when missing
(academies by code, schools by UAI, people by email), so a second run finds all
of it already there. Refused under the production configuration.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from stdnum import iban
from werkzeug.security import generate_password_hash

from app.accounts import services as accounts
from app.accounts.models import Role, RoleGrant, User
from app.budgets import services as budgets
from app.budgets.models import Academy, School
from app.core.db import utcnow
from app.extensions import db
from app.ledger.models import JournalEntry
from app.licences import services as licences
from app.licences.models import ActivationCode
from app.opendata import services as opendata
from app.orders import services as orders
from app.payouts.models import BankDetails
from app.products import services as products
from app.products.models import Channel, PlanKind, Product, ProductVersion
from app.products.services import PlanDraft, ProductDraft
from app.reporting import services as reporting
from app.vendors.models import Vendor
from app.vetting import services as vetting
from app.vetting.models import Decision
from catalog import conduct, vocabularies
from catalog.demo_catalogue import DemoProduct, demo_catalogue
from catalog.identifiers import make_uai

DEMO_PASSWORD = "demo1234"  # noqa: S105 - published in README.md, demo only

# (academy code, cities) of the academies that get demo schools.
DEMO_ACADEMIES = (
    ("01", ("Paris",)),
    ("25", ("Versailles", "Nanterre", "Argenteuil", "Évry-Courcouronnes")),
    ("10", ("Lyon", "Villeurbanne", "Saint-Étienne", "Bourg-en-Bresse")),
    ("02", ("Marseille", "Aix-en-Provence", "Avignon", "Gap")),
    ("14", ("Rennes", "Brest", "Vannes", "Saint-Brieuc")),
    ("70", ("Rouen", "Caen", "Le Havre", "Cherbourg-en-Cotentin")),
)
SCHOOLS_PER_ACADEMY = 10
DEMO_FUNDING_CENTS = 5_000_000_00  # 5 million euros per demo academy
DEMO_CREDIT_CENTS = 300_00  # what each demo teacher receives
# The Paris manager's alert threshold: the demo's allocation crosses it, so the manager
# finds the pool alert in their notifications.
DEMO_POOL_THRESHOLD_CENTS = 4_995_000_00
TEACHERS = 300

SCHOOL_NAMES = {
    "ecole_maternelle": "École maternelle",
    "ecole_elementaire": "École élémentaire",
    "ecole_primaire": "École primaire",
    "college": "Collège",
    "lycee_general_technologique": "Lycée",
    "lycee_professionnel": "Lycée professionnel",
}
NAMESAKES = (
    "Jules-Ferry",
    "Victor-Hugo",
    "Marie-Curie",
    "Jean-Jaurès",
    "Louise-Michel",
    "Simone-Veil",
    "Jean-Moulin",
    "Pierre-et-Marie-Curie",
    "Condorcet",
    "George-Sand",
    "Jacques-Prévert",
    "Paul-Éluard",
    "Albert-Camus",
    "Émile-Zola",
    "Olympe-de-Gouges",
    "Germaine-Tillion",
    "Lucie-Aubrac",
    "Aimé-Césaire",
    "Jean-de-La-Fontaine",
    "Voltaire",
    "Molière",
    "Joséphine-Baker",
    "Gisèle-Halimi",
    "Antoine-de-Saint-Exupéry",
    "Colette",
)
FIRST_NAMES = (
    "Camille",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Céline",
    "Julie",
    "Sophie",
    "Aurélie",
    "Émilie",
    "Claire",
    "Anne",
    "Marie",
    "Laure",
    "Hélène",
    "Sandrine",
    "Thomas",
    "Nicolas",
    "Julien",
    "Sébastien",
    "Christophe",
    "Olivier",
    "Mathieu",
    "Frédéric",
    "Stéphane",
    "Laurent",
    "Pierre",
    "Antoine",
    "Karim",
    "Yasmina",
    "Mamadou",
    "Léa",
    "Inès",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefèvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Benali",
    "Nguyen",
    "Diallo",
    "Hoarau",
    "Payet",
    "Le Gall",
    "Le Goff",
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role


DEMO_ACCOUNTS = (
    DemoAccount("camille.enseignante@ac-paris.fr", "Camille Enseignante", Role.TEACHER),
    # Two colleagues of Camille's school: an « achat groupé » needs several teachers.
    DemoAccount("dominique.enseignant@ac-paris.fr", "Dominique Enseignant", Role.TEACHER),
    DemoAccount("sacha.enseignante@ac-paris.fr", "Sacha Enseignante", Role.TEACHER),
    DemoAccount("vendor@demo.test", "Marc Éditeur", Role.VENDOR),
    DemoAccount("reviewer@demo.test", "Rachida Commission", Role.REVIEWER),
    DemoAccount("academy@demo.test", "Alain Rectorat", Role.ACADEMY_MANAGER),
    DemoAccount("admin@demo.test", "Nadia Opératrice", Role.ADMIN),
)


def _ascii(text: str) -> str:
    """ "Lefèvre" → "lefevre", "Le Gall" → "le-gall": the local part of an academic email."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "-").replace("'", "")


def seed_schools(rng: random.Random) -> list[School]:
    existing = {school.uai: school for school in db.session.scalars(select(School))}
    kinds = list(SCHOOL_NAMES)
    schools: list[School] = []
    for academy_code, cities in DEMO_ACADEMIES:
        academy = budgets.get_academy(academy_code)
        reference = vocabularies.academy(academy_code)
        assert reference is not None
        for index in range(SCHOOLS_PER_ACADEMY):
            department = rng.choice(reference.departments)
            uai = make_uai(f"{department}{rng.randrange(10_000):04d}")
            kind = kinds[index % len(kinds)]
            name = f"{SCHOOL_NAMES[kind]} {rng.choice(NAMESAKES)}"
            city = rng.choice(cities)
            school = existing.get(uai)
            if school is None:
                school = budgets.create_school(uai, name, kind, city, academy)
                existing[uai] = school
            schools.append(school)
    return schools


def seed_teachers(rng: random.Random, schools: list[School], password_hash: str) -> int:
    """The demo's teachers, written set-based: what `accounts.create_user` and
    `accounts.grant_role` would write for each (the user, the teacher grant, the audit
    event), in one INSERT each, as every browser test seeds the demo again."""
    emails = set(db.session.scalars(select(User.email)))
    wanted: list[tuple[str, str, School]] = []
    for number in range(1, TEACHERS + 1):
        first, last, school = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(schools)
        email = f"{_ascii(first)}.{_ascii(last)}{number}@{school.academy.email_domain}"
        if email not in emails:
            wanted.append((email, f"{first} {last}", school))
    return accounts.create_teachers(wanted, password_hash)


def seed_vendors() -> dict[str, Vendor]:
    """The vendors of the demo catalogue, by key."""
    vendors: dict[str, Vendor] = {}
    for item in demo_catalogue().vendors:
        vendor = db.session.scalar(select(Vendor).where(Vendor.siret == item.siret))
        if vendor is None:
            vendor = Vendor(
                legal_name=item.legal_name,
                siret=item.siret,
                vat_number=item.vat_number,
                street=item.address.street,
                postcode=item.address.postcode,
                city=item.address.city,
                country=item.country,
                parent_company=item.parent_company,
                contact_name=item.contact.name,
                contact_email=item.contact.email,
                contact_phone=item.contact.phone,
                # The demo's companies say their form in their name ("… SAS").
                legal_form=item.legal_name.rsplit(" ", 1)[-1],
                billing_mandate_accepted_at=utcnow(),
            )
            db.session.add(vendor)
            db.session.flush()
        vendors[item.key] = vendor
    return vendors


def _draft(item: DemoProduct) -> ProductDraft:
    return ProductDraft(
        title=item.title,
        summary=item.summary,
        description=item.description,
        disciplines=item.disciplines,
        levels=item.levels,
        resource_type=item.resource_type,
        access_url=item.access_url,
        channel=Channel(item.channel),
        plans=[
            PlanDraft(PlanKind(p.kind), p.price_cents, int(p.vat_rate * 100), p.max_pupils)
            for p in item.plans
        ],
        declaration=dict(item.declaration),
        gar_resource_id=f"ark:/86527/{item.key}" if item.channel == "gar" else None,
    )


def seed_catalogue(vendors: dict[str, Vendor]) -> None:
    """The demo products, each brought to its state through the real vetting steps
    (submission, checks, reviews). A product already there (same vendor and title) is kept."""
    reviewer = accounts.find_user("reviewer@demo.test")
    assert reviewer is not None
    existing = set(
        db.session.execute(
            select(Product.vendor_id, ProductVersion.title).join(ProductVersion.product)
        ).all()
    )
    for item in demo_catalogue().products:
        vendor = vendors[item.vendor]
        if (vendor.id, item.title) in existing:
            continue
        product = products.create_product(None, vendor, _draft(item))
        version = product.latest
        if item.state == "draft":
            continue
        vetting.submit(None, version)
        comment = item.review_comment or ""
        if item.state == "approved":
            all_met = {criterion.code: True for criterion in conduct.label_criteria()}
            # Demo only: labels near or past their end (the commission grants future ones).
            days = item.label_expires_in_days
            ends = None if days is None else date.today() + timedelta(days=days)  # noqa: DTZ011
            future = ends if ends is not None and days is not None and days > 0 else None
            review = vetting.decide(
                reviewer, version, Decision.APPROVE, criteria=all_met, label_expires_on=future
            )
            if ends is not None and future is None:
                version.label_expires_on = review.label_expires_on = ends
        elif item.state == "changes_requested":
            vetting.decide(reviewer, version, Decision.CHANGES_REQUESTED, comment=comment)
        elif item.state == "rejected":
            vetting.decide(reviewer, version, Decision.REJECT, comment=comment)


def seed_demo_accounts(schools: list[School], vendor: Vendor, password_hash: str) -> None:
    paris = budgets.get_academy("01")
    paris_school = next(school for school in schools if school.academy_code == "01")
    scope: dict[Role, dict[str, School | Academy | Vendor]] = {
        Role.TEACHER: {"school": paris_school},
        Role.VENDOR: {"vendor": vendor},
        Role.ACADEMY_MANAGER: {"academy": paris},
    }
    for account in DEMO_ACCOUNTS:
        user = accounts.find_user(account.email)
        if user is None:
            user = accounts.create_user(account.email, account.name, password_hash=password_hash)
        accounts.grant_role(None, user, account.role, **scope.get(account.role, {}))  # type: ignore[arg-type]


def seed_demo() -> dict[str, int]:
    """Fill the database with the demo; returns the counts of what now exists."""
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    password_hash = generate_password_hash(DEMO_PASSWORD)
    budgets.sync_academies()
    year = budgets.ensure_school_year(budgets.school_year_code(date.today()))  # noqa: DTZ011
    schools = seed_schools(rng)
    seed_teachers(rng, schools, password_hash)
    vendors = seed_vendors()
    seed_demo_accounts(schools, vendors["lumiere"], password_hash)
    seed_budgets(year.code)
    seed_catalogue(vendors)
    seed_delivery(vendors)
    seed_bank_details(vendors)
    seed_orders()
    # The dashboards' figures, summed now: the first visit shows them, not zeros.
    reporting.refresh(year.code)
    # The search's vocabulary, made again: a database seeded before it existed has none.
    products.rebuild_vocabulary()
    # The open data, published once: the page « Données ouvertes » has its files at once.
    opendata.publish()
    return demo_counts()


def seed_budgets(school_year: str) -> None:
    """Fund the demo academies and give each of their teachers 300 € (keys make it replayable)."""
    admin = accounts.find_user("admin@demo.test")
    manager = accounts.find_user("academy@demo.test")
    assert manager is not None  # seeded by seed_demo_accounts
    for academy_code, _ in DEMO_ACADEMIES:
        key = f"demo:{academy_code}:{school_year}"
        budgets.fund_academy(admin, academy_code, school_year, DEMO_FUNDING_CENTS, f"{key}:fund")
        if academy_code == "01" and budgets.pool_threshold(academy_code, school_year) is None:
            euros = str(DEMO_POOL_THRESHOLD_CENTS // 100)
            budgets.set_pool_threshold(manager, academy_code, school_year, euros)
        preview = budgets.preview_rule(
            manager, academy_code, school_year, budgets.Rule(DEMO_CREDIT_CENTS), f"{key}:rule"
        )
        for _ in budgets.apply_allocation(manager, preview.allocation):
            pass


DEMO_CODES_PER_PLAN = 25

# The demo teacher's past orders: (days ago, products' keys and plans, line cancelled).
DEMO_ORDERS = (
    (30, (("lumiere-fractions-en-images", "teacher", 1),), None),
    (30, (("numeris-calcul-mental", "teacher", 1), ("polyglotte-english-time", "class", 25)), 1),
    (0, (("lumiere-maths-6e", "teacher", 1),), None),
)


# Paris teachers who bought the same resource as the demo teacher this month: 10 buyers or
# more, so the open data publishes that cell of the spending instead of hiding it.
DEMO_COLLEAGUE_BUYERS = 12
DEMO_COLLEAGUE_PRODUCT = "lumiere-fractions-en-images"


def _demo_item(key: str, plan: str, seats: int) -> orders.Item:
    """The item of a demo catalogue product (by its key) at today's price."""
    title = next(item.title for item in demo_catalogue().products if item.key == key)
    product_id = db.session.scalar(
        select(ProductVersion.product_id).where(
            ProductVersion.title == title, ProductVersion.listed
        )
    )
    assert product_id is not None, key
    found = orders.offer(product_id, PlanKind(plan))
    assert found is not None, key
    return orders.Item(product_id, PlanKind(plan), seats, found.plan.price_cents)


def seed_orders() -> None:
    """A few orders of the demo teacher, two of them a month old (so a settlement has
    something to pay), one line cancelled; then the same resource bought by Paris
    colleagues. Replayed by their keys."""
    teacher = accounts.find_user("camille.enseignante@ac-paris.fr")
    assert teacher is not None
    for number, (days_ago, wanted, cancelled) in enumerate(DEMO_ORDERS, start=1):
        items = [_demo_item(key, plan, seats) for key, plan, seats in wanted]
        order = orders.place_order(teacher, items, f"demo:teacher:order:{number}")
        if days_ago and order.created_at > utcnow() - timedelta(days=days_ago - 1):
            order.created_at = utcnow() - timedelta(days=days_ago)  # demo history only
        if cancelled is not None:
            ordered_on = order.created_at.date()
            orders.cancel_line(teacher, order.lines[cancelled].id, on=ordered_on)
    colleagues = db.session.scalars(
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .join(School, School.id == RoleGrant.school_id)
        .where(
            RoleGrant.role == Role.TEACHER,
            School.academy_code == "01",
            User.id != teacher.id,
            User.email.not_like("%@demo.test"),
        )
        .order_by(User.id)
        .limit(DEMO_COLLEAGUE_BUYERS)
    ).all()
    for colleague in colleagues:
        item = _demo_item(DEMO_COLLEAGUE_PRODUCT, "teacher", 1)
        orders.place_order(colleague, [item], f"demo:colleague:order:{colleague.email}")


def seed_delivery(vendors: dict[str, Vendor]) -> None:
    """Every channel works in the demo: webhook vendors point at the app's own stand-in
    (app/licences/demo_peers.py), codes products have a stock of codes."""
    base = current_app.config["DEMO_BASE_URL"] or "http://127.0.0.1:5000"
    for item in demo_catalogue().vendors:
        vendor = vendors[item.key]
        if item.provisioning_url and vendor.provisioning_url is None:
            vendor.provisioning_url = f"{base}/demo/editeur/{vendor.id}/licences"
            vendor.webhook_secret = secrets.token_hex(32)
    for product in db.session.scalars(select(Product).order_by(Product.id)):
        version = product.listed or product.latest
        if version.channel is not Channel.CODES:
            continue
        for plan in version.plans:
            exists = db.session.scalar(
                select(ActivationCode.id).where(
                    ActivationCode.product_id == product.id,
                    ActivationCode.plan_kind == plan.kind,
                )
            )
            if exists is None:
                codes = [
                    f"DEMO-{product.id}-{plan.kind.value.upper()}-{n:03d}"
                    for n in range(1, DEMO_CODES_PER_PLAN + 1)
                ]
                licences.upload_codes(None, product, plan.kind, codes)


def _demo_iban(number: int) -> str:
    """A valid French IBAN of a demo bank account (RIB key and IBAN check digits computed)."""
    bank, branch, account = "30006", "00001", f"{number:011d}"
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = f"{bank}{branch}{account}{key:02d}"
    return f"FR{iban.calc_check_digits('FR00' + bban)}{bban}"


def seed_bank_details(vendors: dict[str, Vendor]) -> None:
    """Bank details for every demo vendor but Éditions Lumière (the demo vendor's own
    company enters them itself; until then a manual payout run says why it is skipped)."""
    for number, (key, vendor) in enumerate(sorted(vendors.items()), start=1):
        if key == "lumiere" or db.session.get(BankDetails, vendor.id) is not None:
            continue
        bank = BankDetails(
            vendor_id=vendor.id, holder=vendor.legal_name, iban=_demo_iban(number), bic="AGRIFRPP"
        )
        db.session.add(bank)
    db.session.flush()


def demo_counts() -> dict[str, int]:
    def count(model: type[object]) -> int:
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)

    return {
        "academies": count(Academy),
        "schools": count(School),
        "users": count(User),
        "vendors": count(Vendor),
        "products": count(Product),
        "entries": count(JournalEntry),
    }


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Fill the database with the demonstration data (safe to run again)."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.UsageError(
            "seed-demo refuse de s'exécuter avec la configuration de production."
        )
    click.echo("Données de démonstration…")
    counts = seed_demo()
    db.session.commit()
    opendata.purge_old_generations()  # each seed publishes one: keep the last two, as nightly
    for name, value in counts.items():
        click.echo(f"  {name:<10} {value}")
    click.echo(
        "Comptes de démonstration (mot de passe demo1234) : "
        + ", ".join(account.email for account in DEMO_ACCOUNTS)
    )
