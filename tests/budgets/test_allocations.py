"""Funding, allocation (file, rule, one teacher) and year closing, through the services."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.budgets import services
from app.budgets.models import Allocation, AllocationMethod, SchoolYear
from app.core.audit import AuditEvent
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.ledger.services import InsufficientFunds, YearClosed
from tests import factories

YEAR = "2026-2027"


@pytest.fixture
def paris(session: object) -> dict[str, object]:
    """Academy 01 funded with 1 000 €, two schools, a manager."""
    services.ensure_school_year(YEAR)
    services.fund_academy(None, "01", YEAR, 100_000, "fund:test")
    return {
        "manager": factories.academy_manager("01"),
        "school": factories.SchoolFactory(uai="0750654D", academy_code="01"),
        "other": factories.SchoolFactory(
            uai="0750655E", academy_code="01", kind="lycee_professionnel"
        ),
        "lyon": factories.SchoolFactory(uai="0690001B", academy_code="10"),
    }


def _entries() -> int:
    return int(db.session.scalar(select(func.count(JournalEntry.id))) or 0)


def _apply(allocation: Allocation, actor: User | None = None) -> None:
    for _ in services.apply_allocation(actor, allocation):
        pass


def _balance_of(email: str) -> int:
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None
    return ledger.balance(ledger.teacher_credit(user.id, "01", YEAR))


@pytest.mark.parametrize(
    "content",
    [
        b"email;amount_eur;uai\nanne.martin@ac-paris.fr;12,50;0750654D\n",
        b"\xef\xbb\xbfemail;amount_eur;uai\r\nanne.martin@ac-paris.fr;12.50;0750654D\r\n",
        b"anne.martin@ac-paris.fr;12,5;0750654d\n",
        b'email,amount_eur,uai\nanne.martin@ac-paris.fr,"12,50",0750654D\n',
        b"Anne.Martin@AC-Paris.fr , 12.50 , 0750654D\n",
        b'Email,Montant,UAI\nanne.martin@ac-paris.fr,"12,50",0750654D\n',
        "\ufeffCourriel;Montant (€);Établissement\nanne.martin@ac-paris.fr;12,50;0750654D".encode(),
        b"E-mail;MONTANT_EUR;uai\nanne.martin@ac-paris.fr;12,50;0750654D\n",
        b"COURRIEL;montant_eur;ETABLISSEMENT\nanne.martin@ac-paris.fr;12,50;0750654D\n",
        b"email;amount;uai\nanne.martin@ac-paris.fr;12.50;0750654D\n",
        b"UAI;Courriel;Montant\n0750654D;anne.martin@ac-paris.fr;12,50\n",
    ],
    ids=[
        "semicolon-comma",
        "bom-crlf-dot",
        "no-header-lowercase-uai",
        "comma-quoted",
        "spaces",
        "french-header-comma",
        "french-header-bom-accents",
        "e-mail-montant-eur",
        "upper-case-etablissement",
        "english-amount",
        "header-in-another-order",
    ],
)
def test_accepted_file_formats(paris: dict[str, User], content: bytes) -> None:
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert preview.valid, (preview.parsed.errors, [line.errors for line in preview.parsed.lines])
    assert preview.allocation is not None
    _apply(preview.allocation, paris["manager"])
    assert _balance_of("anne.martin@ac-paris.fr") == 1250


def test_an_unknown_header_is_refused_by_name_not_read_as_a_teacher(
    paris: dict[str, User],
) -> None:
    content = b"Adresse;Somme;Code\nanne.martin@ac-paris.fr;12,50;0750654D\n"
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert not preview.valid
    assert preview.parsed.errors == [
        "Ligne 1 : en-tête non reconnu (« Adresse », « Somme », « Code »). En-têtes acceptés : "
        "courriel (ou email), montant (ou montant_eur, amount_eur) et uai (ou établissement)."
    ]


def test_the_template_file_is_read_back_as_it_is_offered(paris: dict[str, User]) -> None:
    template = services.allocation_template("01")
    assert template.startswith(b"\xef\xbb\xbfcourriel;montant;uai\r\n")
    lines = template.decode("utf-8-sig").splitlines()
    assert lines == ["courriel;montant;uai", "prenom.nom@ac-paris.fr;300,00;0750654D"]
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(template))
    assert preview.valid
    assert [(line.number, line.email, line.cents) for line in preview.parsed.lines] == [
        (2, "prenom.nom@ac-paris.fr", 30_000)
    ]


def test_one_bad_line_among_many_writes_nothing(paris: dict[str, User]) -> None:
    lines = [f"prof{n}@ac-paris.fr;10;0750654D" for n in range(1, 40)]
    lines[24] = "prof25@ac-paris.fr;-3;0750654D"
    content = ("email;amount_eur;uai\n" + "\n".join(lines) + "\n").encode()
    entries, users = _entries(), db.session.scalar(select(func.count(User.id)))
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert not preview.valid
    assert preview.allocation is None
    (bad,) = [line for line in preview.parsed.lines if line.errors]
    assert bad.number == 26  # the header is line 1
    assert bad.errors == ["Le montant doit être strictement positif."]
    assert _entries() == entries
    assert db.session.scalar(select(func.count(User.id))) == users
    assert db.session.scalar(select(func.count(Allocation.id))) == 0


def test_every_kind_of_bad_line_is_reported_with_its_reason(paris: dict[str, User]) -> None:
    content = "\n".join(
        [
            "email;amount_eur;uai",
            "pas-une-adresse;10;0750654D",
            "a@ac-paris.fr;0;0750654D",
            "b@ac-paris.fr;1,234;0750654D",
            "c@ac-paris.fr;10;0750654A",
            "d@ac-paris.fr;10;0759999L",
            "e@ac-paris.fr;10;0690001B",
            "f@ac-paris.fr;10;0750654D",
            "F@ac-paris.fr;10;0750654D",
            "g@ac-paris.fr;10",
        ]
    ).encode()
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    errors = {line.number: " ".join(line.errors) for line in preview.parsed.lines}
    assert "Adresse électronique invalide" in errors[2]
    assert "strictement positif" in errors[3]
    assert "plus de deux décimales" in errors[4]
    assert "UAI invalide" in errors[5]
    assert "Établissement inconnu" in errors[6]
    assert "relève de l'académie de Lyon" in errors[7]
    assert errors[8] == ""
    assert "Doublon" in errors[9]
    assert "ligne 8" in errors[9]
    assert "Trois colonnes attendues" in errors[10]


def test_a_file_above_the_pool_is_refused(paris: dict[str, User]) -> None:
    content = b"a@ac-paris.fr;600;0750654D\nb@ac-paris.fr;400,01;0750654D\n"
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert not preview.valid
    assert "dépasse ce qui reste" in preview.parsed.errors[0]


def test_the_same_file_is_never_applied_twice(paris: dict[str, User]) -> None:
    content = b"a@ac-paris.fr;100;0750654D\n"
    first = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert first.allocation is not None
    again = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert again.allocation is first.allocation  # previewing twice: one allocation
    _apply(first.allocation)
    _apply(first.allocation)  # confirming twice: applied once
    assert _balance_of("a@ac-paris.fr") == 10_000
    third = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert not third.valid
    assert "déjà été réparti" in third.parsed.errors[0]
    assert services.pool_balance("01", YEAR) == 90_000


def test_a_file_creates_unregistered_teachers_whose_credit_waits(paris: dict[str, User]) -> None:
    known = factories.teacher(paris["other"], email="connu@ac-paris.fr")
    content = b"connu@ac-paris.fr;10;0750655E\nnouvelle.venue@ac-paris.fr;20;0750654D\n"
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert preview.allocation is not None
    _apply(preview.allocation)
    newcomer = db.session.scalar(select(User).where(User.email == "nouvelle.venue@ac-paris.fr"))
    assert newcomer is not None
    assert newcomer.password_hash is None  # not registered yet
    assert newcomer.name == "Nouvelle Venue"
    assert newcomer.has_role(Role.TEACHER, paris["school"].id)  # joins the school of the line
    assert not known.has_role(Role.TEACHER, paris["school"].id)  # stays in their own school
    assert _balance_of("nouvelle.venue@ac-paris.fr") == 2000
    assert _balance_of("connu@ac-paris.fr") == 1000


# --- only the academy's addresses, only the teacher's schools (issue 14, point 4) ---------


@pytest.mark.parametrize(
    "email", ["claire.roux@gmail.com", "anne.martin@ac-lyon.fr", "x@ac-paris.fr.evil.com"]
)
def test_allocate_one_refuses_an_address_outside_the_academy(
    paris: dict[str, User], email: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.allocate_one(paris["manager"], "01", YEAR, email, "0750654D", "25", "tok")
    (reason,) = refused.value.details["email"]
    assert reason.startswith(f"Adresse électronique hors de l'académie : « {email} »")
    assert "@ac-paris.fr" in reason
    assert db.session.scalar(select(User).where(User.email == email)) is None
    assert services.pool_balance("01", YEAR) == 100_000


def test_a_file_with_an_outside_address_names_the_line_and_writes_nothing(
    paris: dict[str, User],
) -> None:
    content = (
        b"courriel;montant;uai\n"
        b"anne.martin@ac-paris.fr;10;0750654D\n"
        b"claire.roux@gmail.com;10;0750654D\n"
    )
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert not preview.valid
    assert preview.allocation is None
    (bad,) = [line for line in preview.parsed.lines if line.errors]
    assert bad.number == 3
    assert bad.errors[0].startswith("Adresse électronique hors de l'académie")
    assert db.session.scalar(select(func.count(Allocation.id))) == 0


def test_an_academy_with_several_domains_accepts_each_of_them(session: object) -> None:
    services.ensure_school_year(YEAR)
    services.fund_academy(None, "70", YEAR, 10_000, "fund:normandie")
    caen = factories.SchoolFactory(uai="0140001A", academy_code="70", city="Caen")
    manager = factories.academy_manager("70")
    for n, email in enumerate(["a@ac-normandie.fr", "b@ac-caen.fr", "c@AC-ROUEN.fr"]):
        services.allocate_one(manager, "70", YEAR, email, caen.uai, "10", f"tok-{n}")
    with pytest.raises(ValidationFailed) as refused:
        services.allocate_one(manager, "70", YEAR, "d@ac-paris.fr", caen.uai, "10", "tok-x")
    assert "@ac-normandie.fr ou @ac-caen.fr ou @ac-rouen.fr" in refused.value.details["email"][0]


def test_a_known_teacher_is_credited_only_in_one_of_their_schools(
    paris: dict[str, User],
) -> None:
    known = factories.teacher(paris["other"], email="connu@ac-paris.fr")
    with pytest.raises(ValidationFailed) as refused:
        services.allocate_one(
            paris["manager"], "01", YEAR, "connu@ac-paris.fr", "0750654D", "10", "tok"
        )
    (reason,) = refused.value.details["uai"]
    assert reason == (
        f"connu@ac-paris.fr enseigne à {paris['other']}, pas à {paris['school']} : "
        "indiquez l'un de ses établissements."
    )
    assert paris["school"].name in reason
    assert not known.has_role(Role.TEACHER, paris["school"].id)
    assert services.pool_balance("01", YEAR) == 100_000


def test_a_rule_credits_only_teachers_with_an_address_of_the_academy(
    paris: dict[str, User],
) -> None:
    inside = factories.teacher(paris["school"])
    outside = factories.teacher(paris["school"], email="claire.roux@gmail.com")
    preview = services.preview_rule(paris["manager"], "01", YEAR, services.Rule(1000), "r")
    assert (preview.teacher_count, preview.outside_count) == (1, 1)
    _apply(preview.allocation)
    assert services.teacher_balance(inside.id, YEAR) == 1000
    assert services.teacher_balance(outside.id, YEAR) == 0


def test_rule_allocation_and_its_top_up(paris: dict[str, User]) -> None:
    teachers = [factories.teacher(paris["school"]) for _ in range(3)]
    factories.teacher(paris["lyon"])  # another academy: not reached
    rule = services.Rule(5000)
    preview = services.preview_rule(paris["manager"], "01", YEAR, rule, "rule:1")
    assert (preview.teacher_count, preview.total_cents) == (3, 15_000)
    _apply(preview.allocation)
    assert all(_balance_of(t.email) == 5000 for t in teachers)
    # The same rule again: only the newcomer is served.
    late = factories.teacher(paris["other"])
    again = services.preview_rule(paris["manager"], "01", YEAR, rule, "rule:2")
    assert (again.teacher_count, again.already_served) == (1, 3)
    _apply(again.allocation)
    assert _balance_of(late.email) == 5000
    assert _balance_of(teachers[0].email) == 5000
    assert services.pool_balance("01", YEAR) == 100_000 - 4 * 5000
    # Replaying a preview (same key) changes nothing.
    replay = services.preview_rule(paris["manager"], "01", YEAR, rule, "rule:1")
    assert replay.allocation.id == preview.allocation.id
    assert replay.allocation.teacher_count == 3


def test_rule_restricted_to_school_kinds(paris: dict[str, User]) -> None:
    factories.teacher(paris["school"])
    pro = factories.teacher(paris["other"])
    rule = services.Rule(1000, school_kinds=("lycee_professionnel",))
    preview = services.preview_rule(paris["manager"], "01", YEAR, rule, "rule:pro")
    assert preview.teacher_count == 1
    _apply(preview.allocation)
    assert _balance_of(pro.email) == 1000


@pytest.mark.parametrize(
    ("kinds", "schools", "described"),
    [
        ((), 0, "10,00 € à tous les enseignants de l'académie"),
        (("college",), 0, "10,00 € aux enseignants des collèges de l'académie"),
        (
            ("college", "lycee_professionnel"),
            0,
            "10,00 € aux enseignants des collèges et des lycées professionnels de l'académie",
        ),
        ((), 2, "10,00 € aux enseignants de 2 établissements choisis"),
        (("college",), 2, "10,00 € aux enseignants des collèges parmi 2 établissements choisis"),
    ],
)
def test_a_rule_is_described_in_french_with_the_plural_of_the_school_kinds(
    paris: dict[str, User], kinds: tuple[str, ...], schools: int, described: str
) -> None:
    ids = (paris["school"].id, paris["other"].id)[:schools]
    rule = services.Rule(1000, school_ids=ids, school_kinds=kinds)

    preview = services.preview_rule(paris["manager"], "01", YEAR, rule, f"rule:{described}")

    assert preview.allocation.description == described.replace(" €", "\u00a0€")


def test_rule_above_the_pool_is_refused_and_writes_nothing(paris: dict[str, User]) -> None:
    for _ in range(3):
        factories.teacher(paris["school"])
    entries = _entries()
    preview = services.preview_rule(paris["manager"], "01", YEAR, services.Rule(40_000), "r")
    with pytest.raises(InsufficientFunds, match="ne suffit pas"):
        _apply(preview.allocation)
    assert _entries() == entries
    assert services.pool_balance("01", YEAR) == 100_000


def test_rule_in_chunks(paris: dict[str, User], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "ALLOCATION_CHUNK", 2)
    for _ in range(5):
        factories.teacher(paris["school"])
    preview = services.preview_rule(paris["manager"], "01", YEAR, services.Rule(100), "chunks")
    progress = list(services.apply_allocation(paris["manager"], preview.allocation))
    assert progress == [(0, 5), (2, 5), (4, 5), (5, 5)]
    entries = db.session.scalars(
        select(JournalEntry).where(JournalEntry.reference == preview.allocation.reference)
    ).all()
    assert len(entries) == 3
    assert preview.allocation.teacher_count == 5
    assert ledger.verify().ok


def test_allocate_one_teacher_is_idempotent(paris: dict[str, User]) -> None:
    manager = paris["manager"]
    first = services.allocate_one(manager, "01", YEAR, "x@ac-paris.fr", "0750654D", "25", "tok")
    again = services.allocate_one(manager, "01", YEAR, "x@ac-paris.fr", "0750654D", "25", "tok")
    assert first.id == again.id
    assert first.method == AllocationMethod.ONE
    assert _balance_of("x@ac-paris.fr") == 2500
    with pytest.raises(ValidationFailed) as refused:
        services.allocate_one(manager, "01", YEAR, "y@ac-paris.fr", "0690001B", "25", "tok2")
    assert "Lyon" in refused.value.details["uai"][0]


def test_funding_is_idempotent_and_audited(paris: dict[str, User]) -> None:
    admin = factories.with_role(Role.ADMIN)
    first = services.fund_academy(admin, "10", YEAR, 500_000, "fund:lyon")
    again = services.fund_academy(admin, "10", YEAR, 500_000, "fund:lyon")
    assert first.id == again.id
    assert again.replayed
    assert services.pool_balance("10", YEAR) == 500_000
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "academy.funded", AuditEvent.object_id == "10"
        )
    ).all()
    assert [(e.actor_id, e.details["amount_cents"]) for e in events] == [(admin.id, 500_000)]


def test_budget_summary_follows_the_ledger(paris: dict[str, User]) -> None:
    teacher = factories.teacher(paris["school"])
    preview = services.preview_rule(paris["manager"], "01", YEAR, services.Rule(30_000), "all")
    _apply(preview.allocation)
    credit = ledger.teacher_credit(teacher.id, "01", YEAR)
    vendor = ledger.vendor_payable(factories.VendorFactory().id)
    ledger.transfer(
        credit,
        vendor,
        12_000,
        kind=EntryKind.PURCHASE,
        idempotency_key="o1",
        reference="order:1",
        actor=teacher,
    )
    summary = services.budget_summary("01", YEAR)
    assert summary.received_cents == 100_000
    assert summary.allocated_cents == 30_000
    assert summary.spent_cents == 12_000
    assert summary.pool_cents == 70_000
    assert summary.teachers_cents == 18_000


def test_close_year_returns_unspent_credit_once(paris: dict[str, User]) -> None:
    spender, saver = factories.teacher(paris["school"]), factories.teacher(paris["school"])
    preview = services.preview_rule(paris["manager"], "01", YEAR, services.Rule(30_000), "all")
    _apply(preview.allocation)
    vendor = ledger.vendor_payable(factories.VendorFactory().id)
    spender_credit = ledger.teacher_credit(spender.id, "01", YEAR)
    ledger.transfer(
        spender_credit,
        vendor,
        10_000,
        kind=EntryKind.PURCHASE,
        idempotency_key="o1",
        reference="order:1",
        actor=spender,
    )

    closed = [(a.code, n, cents) for a, n, cents in services.close_year(None, YEAR)]
    assert closed == [("01", 2, 50_000)]
    assert _balance_of(spender.email) == 0
    assert _balance_of(saver.email) == 0
    assert services.pool_balance("01", YEAR) == 40_000 + 50_000
    assert list(services.close_year(None, YEAR)) == []  # re-running does nothing
    year = db.session.get(SchoolYear, YEAR)
    assert year is not None
    assert year.closed_at is not None
    assert ledger.verify().ok
    # Spending on a closed year is refused.
    with pytest.raises(YearClosed):
        ledger.transfer(
            ledger.academy_pool("01", YEAR),
            spender_credit,
            100,
            kind=EntryKind.ALLOCATE,
            idempotency_key="late",
            reference="late",
            actor=None,
        )
    with pytest.raises(YearClosed):
        services.preview_rule(paris["manager"], "01", YEAR, services.Rule(100), "late")
    expired = db.session.scalar(
        select(func.sum(Posting.amount_cents))
        .join(JournalEntry)
        .where(JournalEntry.kind == EntryKind.EXPIRE, Posting.amount_cents > 0)
    )
    assert expired == 50_000
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "school_year.closed")
        )
        == 1
    )


def test_cli_fund_allocate_close_and_verify(app: Flask, session: object) -> None:
    services.ensure_school_year(YEAR)
    school = factories.SchoolFactory(academy_code="01")
    teachers = [factories.teacher(school) for _ in range(3)]
    runner = app.test_cli_runner()

    def run(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    assert "000,00" in run(
        "budgets", "fund", "--academy", "01", "--year", YEAR, "--amount", "1000.00"
    )
    assert "3 enseignants crédités" in run(
        "budgets",
        "allocate",
        "--academy",
        "01",
        "--year",
        YEAR,
        "--amount",
        "300,00",
        "--all-teachers",
    )
    assert "Rien à faire" in run(
        "budgets",
        "allocate",
        "--academy",
        "01",
        "--year",
        YEAR,
        "--amount",
        "300,00",
        "--all-teachers",
    )
    assert all(_balance_of(t.email) == 30_000 for t in teachers)
    assert "équilibré" in run("ledger", "verify")
    assert "3 comptes" in run("budgets", "close-year", YEAR)
    refused = runner.invoke(
        args=[
            "budgets",
            "allocate",
            "--academy",
            "01",
            "--year",
            YEAR,
            "--amount",
            "1",
            "--all-teachers",
        ]
    )
    assert refused.exit_code == 1
    assert "clôturée" in refused.output
    bad = runner.invoke(
        args=["budgets", "fund", "--academy", "01", "--year", YEAR, "--amount", "12,345"]
    )
    assert bad.exit_code == 2
    assert "plus de deux décimales" in bad.output


def test_a_rule_preview_token_cannot_be_reused_for_another_rule(paris: dict[str, User]) -> None:
    factories.teacher(paris["school"])
    services.preview_rule(paris["manager"], "01", YEAR, services.Rule(10_000), "rule:tok")
    with pytest.raises(Conflict):
        services.preview_rule(paris["manager"], "01", YEAR, services.Rule(500), "rule:tok")


def test_allocate_one_with_empty_fields_is_refused_cleanly(paris: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed):
        services.allocate_one(paris["manager"], "01", YEAR, "", "", "", "tok-empty")


def test_a_deactivated_teacher_gets_no_credit(paris: dict[str, User]) -> None:
    factories.teacher(paris["school"], email="parti@ac-paris.fr", active=False)
    content = b"parti@ac-paris.fr;10;0750654D\nreste@ac-paris.fr;10;0750654D\n"
    preview = services.preview_file(paris["manager"], "01", YEAR, io.BytesIO(content))
    assert not preview.valid
    assert preview.parsed.lines[0].errors == ["Le compte de parti@ac-paris.fr est désactivé."]
    with pytest.raises(ValidationFailed):
        services.allocate_one(
            paris["manager"], "01", YEAR, "parti@ac-paris.fr", "0750654D", "10", "tok-parti"
        )
