"""Academies, schools and school years. Functions flush, never commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.accounts.models import Role, RoleGrant
from app.budgets.models import Academy, School, SchoolYear
from app.core.errors import NotFound, ValidationFailed
from app.extensions import db
from catalog import vocabularies
from catalog.identifiers import is_valid_uai, normalize_uai

SCHOOL_YEAR_START_MONTH = 9  # a school year runs from 1 September to 31 August


def school_year_code(day: date) -> str:
    """The school year `day` belongs to: 2026-09-01 → "2026-2027", 2027-08-31 → "2026-2027"."""
    first = day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1
    return f"{first}-{first + 1}"


def ensure_school_year(code: str) -> SchoolYear:
    """The school year `code` ("2026-2027"), created on first use."""
    year = db.session.get(SchoolYear, code)
    if year is not None:
        return year
    first, _, second = code.partition("-")
    if not (first.isdigit() and second.isdigit() and int(second) == int(first) + 1):
        raise ValidationFailed(
            f"Année scolaire invalide : {code!r} (format attendu : 2026-2027).",
            details={"school_year": ["format attendu : 2026-2027"]},
        )
    year = SchoolYear(code=code, starts_on=date(int(first), 9, 1), ends_on=date(int(second), 8, 31))
    db.session.add(year)
    db.session.flush()
    return year


def sync_academies() -> int:
    """Create or rename the academies from the catalogue's reference list; returns changes."""
    existing = {academy.code: academy for academy in db.session.scalars(select(Academy))}
    changes = 0
    for reference in vocabularies.academies():
        academy = existing.get(reference.code)
        if academy is None:
            db.session.add(
                Academy(
                    code=reference.code, name=reference.name, email_domain=reference.email_domain
                )
            )
            changes += 1
        elif (academy.name, academy.email_domain) != (reference.name, reference.email_domain):
            academy.name, academy.email_domain = reference.name, reference.email_domain
            changes += 1
    db.session.flush()
    return changes


def get_academy(code: str) -> Academy:
    academy = db.session.get(Academy, code)
    if academy is None:
        raise NotFound(f"Académie inconnue : {code}.")
    return academy


def create_school(uai: str, name: str, kind: str, city: str, academy: Academy) -> School:
    """A school with a valid UAI (7 digits and the right check letter) and a known kind."""
    uai = normalize_uai(uai)
    errors: dict[str, list[str]] = {}
    if not is_valid_uai(uai):
        errors["uai"] = ["UAI invalide : 7 chiffres suivis de la bonne lettre de contrôle"]
    if kind not in {school_kind.code for school_kind in vocabularies.school_kinds()}:
        errors["kind"] = [f"type d'établissement inconnu : {kind}"]
    if not name.strip():
        errors["name"] = ["le nom est obligatoire"]
    if errors:
        raise ValidationFailed("L'établissement n'a pas été créé.", details=errors)
    school = School(uai=uai, name=name.strip(), kind=kind, city=city.strip(), academy=academy)
    db.session.add(school)
    db.session.flush()
    return school


def academy_summaries() -> list[tuple[Academy, int, int]]:
    """Each academy with its number of schools and of teachers, in ministry code order."""
    schools = (
        select(School.academy_code, func.count(School.id).label("n"))
        .group_by(School.academy_code)
        .subquery()
    )
    teachers = (
        select(School.academy_code, func.count(func.distinct(RoleGrant.user_id)).label("n"))
        .join(RoleGrant, RoleGrant.school_id == School.id)
        .where(RoleGrant.role == Role.TEACHER)
        .group_by(School.academy_code)
        .subquery()
    )
    query = (
        select(Academy, func.coalesce(schools.c.n, 0), func.coalesce(teachers.c.n, 0))
        .outerjoin(schools, schools.c.academy_code == Academy.code)
        .outerjoin(teachers, teachers.c.academy_code == Academy.code)
        .order_by(Academy.code)
    )
    return [
        (academy, n_schools, n_teachers)
        for academy, n_schools, n_teachers in db.session.execute(query)
    ]
