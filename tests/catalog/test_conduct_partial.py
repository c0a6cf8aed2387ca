"""Checking a declaration still being written: the rules whose answers are there, and what
is missing or wrong, by field path."""

from __future__ import annotations

from typing import Any

from catalog.conduct import (
    RULE_FIELDS,
    RULES,
    Company,
    Declaration,
    Severity,
    check,
    check_partial,
    sample_declaration,
)


def partial(*missing: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {**sample_declaration(), **changes}
    for key in missing:
        del data[key]
    return data


def test_every_rule_says_which_fields_it_reads() -> None:
    assert set(RULE_FIELDS) == set(RULES)


def test_a_complete_declaration_gets_exactly_the_findings_of_check() -> None:
    data = partial(advertising=True, hosting=[{"country": "US", "provider": "AWS"}])
    company = Company("Éditions Tangram SAS")

    result = check_partial(data, company=company, excluded_names=["Meta"])

    assert result.complete
    assert result.errors == []
    assert result.findings == check(
        Declaration.from_dict(data), company=company, excluded_names=["Meta"]
    )


def test_missing_answers_are_listed_and_their_rules_left_out() -> None:
    data = partial("advertising", "retention_days", data_sale=True, hosting=[])

    result = check_partial(data)

    assert not result.complete
    assert {path for path, _ in result.errors} == {"advertising", "retention_days", "hosting"}
    rules = [f.rule for f in result.findings]
    assert "advertising" not in rules
    assert "retention" not in rules
    assert "hosting_eea" not in rules
    assert [f.severity for f in result.findings if f.rule == "data_sale"] == [Severity.BLOCKER]
    assert "?" not in " ".join(f.message for f in result.findings)  # no placeholder shows


def test_an_invalid_item_leaves_out_only_the_rule_of_its_field() -> None:
    data = partial(
        subprocessors=[{"name": "Brevo", "country": "F1", "purpose": "Courriels"}],
        pupil_data=["identity"],
        gar_access=False,
    )

    result = check_partial(data)

    assert [path for path, _ in result.errors] == ["subprocessors[0].country"]
    rules = {f.rule: f.severity for f in result.findings}
    assert "subprocessors_eea" not in rules
    assert rules["pupil_identity_gar"] is Severity.BLOCKER
    assert len(rules) == len(RULES) - 1


def test_an_empty_declaration_lists_every_answer_and_applies_only_the_company_check() -> None:
    result = check_partial({}, company=Company("Éditions Tangram SAS"), excluded_names=[])

    expected = set(sample_declaration()) - {"company"}
    assert {path for path, _ in result.errors} == expected
    assert [(f.rule, f.severity) for f in result.findings] == [("exclusion_list", Severity.OK)]
