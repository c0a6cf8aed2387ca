"""The dashboards count in French: one thing in the singular, two in the plural, never
`(s)`."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.accounts.models import Role
from app.reporting import services
from app.reporting.services import CatalogueFigures
from tests import factories
from tests.conftest import AuthActions
from tests.reporting.helpers import YEAR, visible_text


@pytest.mark.parametrize(
    ("n", "sentences"),
    [
        (
            1,
            [
                "1 ressource au catalogue",
                "1 version en cours d’examen",
                "1 version refusée",
                "1 label expire dans les 90 jours",
            ],
        ),
        (
            2,
            [
                "2 ressources au catalogue",
                "2 versions en cours d’examen",
                "2 versions refusées",
                "2 labels expirent dans les 90 jours",
            ],
        ),
    ],
)
def test_the_catalogue_figures_agree_with_their_count(
    session: object,
    client: FlaskClient,
    auth: AuthActions,
    monkeypatch: pytest.MonkeyPatch,
    n: int,
    sentences: list[str],
) -> None:
    monkeypatch.setattr(services, "catalogue_figures", lambda on: CatalogueFigures(n, n, n, n))
    auth.login(factories.with_role(Role.ADMIN).email)

    page = visible_text(client.get(f"/admin/tableau-de-bord?annee={YEAR}"))

    for sentence in sentences:
        assert sentence in page
    assert "(s)" not in page
