"""Two operators removing each other's operator role at the same instant (PostgreSQL
only): one of them comes first, the other is refused; the platform keeps an operator."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import Role, RoleGrant, User
from app.extensions import db
from tests import factories
from tests.conftest import requires_postgres
from tests.orders.test_checkout_concurrency import run_together

pytestmark = [requires_postgres, pytest.mark.committed]


def _remove_admin_role(actor_id: int, user_id: int) -> int:
    actor, user = db.session.get(User, actor_id), db.session.get(User, user_id)
    assert actor is not None
    assert user is not None
    grant = next(g for g in user.grants if g.role is Role.ADMIN)
    services.remove_role(actor, user, grant.id)
    return user_id


def test_two_operators_removing_each_other_keep_one(committed: Flask) -> None:
    app = committed
    for _ in range(5):
        with app.app_context():
            first, second = factories.with_role(Role.ADMIN), factories.with_role(Role.ADMIN)
            db.session.commit()
            ids = (first.id, second.id)

        a, b = ids
        outcome = run_together(
            app,
            [
                lambda a=a, b=b: _remove_admin_role(a, b),  # type: ignore[misc]
                lambda a=a, b=b: _remove_admin_role(b, a),  # type: ignore[misc]
            ],
        )

        assert outcome.errors == []
        assert len(outcome.results) == 1
        [refusal] = outcome.refusals
        assert "c'est le dernier opérateur national" in refusal.message
        with app.app_context():
            operators = db.session.scalar(
                select(func.count()).select_from(RoleGrant).where(RoleGrant.role == Role.ADMIN)
            )
            assert operators == 1
            for grant in db.session.scalars(select(RoleGrant).where(RoleGrant.role == Role.ADMIN)):
                db.session.delete(grant)
            db.session.commit()
