from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from stdnum import bic, iban
from werkzeug.security import check_password_hash

from app import create_app
from app.accounts.models import Role, RoleGrant, User
from app.accounts.services import roles_held, scope_name
from app.budgets.models import School
from app.budgets.services import school_year_code
from app.core import audit
from app.demo import DEMO_ACCOUNTS, DEMO_COLLEAGUE_BUYERS, DEMO_PASSWORD, TEACHERS
from app.extensions import db
from app.ledger.models import LedgerAccount
from app.opendata.models import OpenDataGeneration
from app.payouts.models import BankDetails
from app.reporting import services as reporting
from app.vendors.models import Vendor
from tests.conftest import AuthActions
from tests.core.test_config import PRODUCTION


def _seed(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_twice_leaves_the_same_counts(app: Flask, session: object) -> None:
    first = _seed(app)
    assert "academies  30" in first
    assert "schools    60" in first
    assert "users      307" in first
    assert _seed(app) == first
    _seed(app)  # each seed publishes the open data: the last two generations are kept
    assert db.session.scalar(select(func.count()).select_from(OpenDataGeneration)) == 2


def test_the_demo_dashboards_have_their_figures_from_the_start(app: Flask, session: object) -> None:
    _seed(app)

    dash = reporting.dashboard(school_year_code(date.today()), "01")  # noqa: DTZ011 - as the seed
    assert dash.refreshed_at is not None
    assert dash.ledger["received"] > 0
    assert dash.buyers == 1 + DEMO_COLLEAGUE_BUYERS  # the demo teacher and Paris colleagues


def test_every_demo_account_logs_in_and_sees_its_home(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    _seed(app)
    for account in DEMO_ACCOUNTS:
        response = auth.login(account.email, DEMO_PASSWORD)
        assert response.status_code == 302, account.email
        home = client.get(response.headers["Location"], follow_redirects=True)
        assert home.status_code == 200, account.email
        auth.logout()


def test_every_demo_teacher_has_an_address_of_their_academy_and_the_credit(
    app: Flask, session: object
) -> None:
    _seed(app)
    teachers = db.session.execute(
        select(User, School)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .join(School, School.id == RoleGrant.school_id)
        .where(RoleGrant.role == Role.TEACHER)
    ).all()
    assert len(teachers) == 303  # 300 and three demo teachers of one school
    outside = [
        user.email for user, school in teachers if not school.academy.accepts_email(user.email)
    ]
    assert outside == []  # every one of them is reached by the allocation rule
    demo = next(user for user, _ in teachers if user.email == DEMO_ACCOUNTS[0].email)
    credited = db.session.scalar(
        select(func.count(LedgerAccount.id)).where(LedgerAccount.user_id == demo.id)
    )
    assert credited == 1


def test_seed_demo_refuses_production(monkeypatch: pytest.MonkeyPatch) -> None:
    never_reached = "postgresql+psycopg://postgres@127.0.0.1:9/prod"
    for name, value in {**PRODUCTION, "DATABASE_URL": never_reached}.items():
        monkeypatch.setenv(name, value)
    result = create_app("production").test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output


def test_every_demo_vendor_but_the_demo_company_can_be_paid_by_transfer(
    app: Flask, session: object
) -> None:
    _seed(app)
    details = {
        vendor.legal_name: bank
        for vendor, bank in db.session.execute(
            select(Vendor, BankDetails).outerjoin(BankDetails, BankDetails.vendor_id == Vendor.id)
        )
    }
    assert len(details) == 8
    assert details.pop("Éditions Lumière SAS") is None  # its staff enter them in the demo
    assert all(iban.is_valid(bank.iban) and bic.is_valid(bank.bic) for bank in details.values())
    assert len({bank.iban for bank in details.values()}) == 7


def test_the_demo_manager_is_told_once_that_the_pool_crossed_their_threshold(
    app: Flask, session: object
) -> None:
    from app.notifications.models import Notification

    _seed(app)
    _seed(app)

    told = db.session.scalars(
        select(Notification.event)
        .join(User, User.id == Notification.user_id)
        .where(User.email == "academy@demo.test")
    ).all()
    assert told.count("pool_low") == 1


def test_the_demo_teachers_are_written_as_the_accounts_services_would(
    app: Flask, session: object
) -> None:
    """Written set-based (app/demo.py), each demo teacher has what `create_user` and
    `grant_role` write: a teacher grant for a school, and its « role.granted » event."""
    _seed(app)

    demo_emails = {account.email for account in DEMO_ACCOUNTS}
    teachers = [
        user
        for user in db.session.scalars(select(User).order_by(User.id))
        if user.email not in demo_emails
    ]
    assert len(teachers) == TEACHERS
    for teacher in teachers[:20]:
        (grant,) = teacher.grants
        assert grant.role is Role.TEACHER
        assert grant.school is not None
        assert teacher.active
        assert teacher.session_version == 1
        assert check_password_hash(teacher.password_hash or "", DEMO_PASSWORD)
        (event,) = audit.history("user", teacher.id)
        assert (event.action, event.actor_id) == ("role.granted", None)
        assert event.details == {
            "role": "teacher",
            "scope": scope_name(grant),
            "before": [],
            "after": roles_held(teacher),
        }
