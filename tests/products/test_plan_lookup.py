"""The one way to look a version's plan up: `ProductVersion.plan(PlanKind)`. A string, as a
template once passed (`version.plan("class")`), is refused loudly instead of never matching."""

from __future__ import annotations

import pytest

from app.products.models import Plan, PlanKind
from app.products.services import PlanDraft
from tests import factories

CLASS_AND_TEACHER = [
    PlanDraft(PlanKind.CLASS, 60_00, 550, max_pupils=30),
    PlanDraft(PlanKind.TEACHER, 25_00, 550),
]


def test_each_kind_finds_its_plan(session: object) -> None:
    version = factories.product(plans=CLASS_AND_TEACHER).latest

    klass = version.plan(PlanKind.CLASS)
    assert klass is not None
    assert (klass.kind, klass.max_pupils) == (PlanKind.CLASS, 30)
    teacher = version.plan(PlanKind.TEACHER)
    assert teacher is not None
    assert teacher.price_cents == 25_00
    assert version.plan(PlanKind.SCHOOL) is None


@pytest.mark.parametrize("wrong", ["class", "CLASS", None, 1])
def test_anything_but_a_plan_kind_is_refused(session: object, wrong: object) -> None:
    version = factories.product(plans=CLASS_AND_TEACHER).latest

    with pytest.raises(TypeError, match="takes a PlanKind"):
        version.plan(wrong)  # type: ignore[arg-type]


def test_a_plan_not_yet_reloaded_is_found_by_value(session: object) -> None:
    version = factories.product(plans=CLASS_AND_TEACHER).latest
    fresh = Plan(kind="school", price_cents=40_00, vat_rate_bp=2000)  # a str until reloaded
    version.plans.append(fresh)

    assert version.plan(PlanKind.SCHOOL) is fresh
