"""Budget pages: the teacher's account, the academy's budget, national funding."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.accounts.models import Role
from app.budgets import services
from app.core.auth import role_required

blueprint = Blueprint("budgets", __name__, template_folder="templates")


@blueprint.get("/mon-compte")
@role_required(Role.TEACHER)
def my_account() -> ResponseReturnValue:
    year = services.school_year_code(date.today())  # noqa: DTZ011 - the civil date in France
    schools = current_user.scopes(Role.TEACHER)
    return render_template("budgets/my_account.html", school_year=year, schools=schools)


@blueprint.get("/academies/<academy_code>")
@role_required(Role.ACADEMY_MANAGER, scope="academy_code")
def academy_home(academy_code: str) -> ResponseReturnValue:
    academy = services.get_academy(academy_code)
    summary = next(row for row in services.academy_summaries() if row[0].code == academy.code)
    return render_template(
        "budgets/academy_home.html", academy=academy, schools=summary[1], teachers=summary[2]
    )


@blueprint.get("/admin/academies")
@role_required(Role.ADMIN)
def national() -> ResponseReturnValue:
    return render_template("budgets/national.html", rows=services.academy_summaries())
