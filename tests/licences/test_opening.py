"""When a resource counts as opened (the end of the right to cancel): recorded by the
access redirect, the revealed code or the vendor's confirmation; and, for a GAR licence,
presumed 14 days (Paris dates) after its delivery, since the GAR says nothing of use."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.licences import services
from app.licences.models import Licence, LicenceStatus
from app.products.models import Channel
from tests import factories
from tests.licences.test_provisioning import buy


def delivered_on(licence: Licence, moment: datetime) -> Licence:
    licence.status = LicenceStatus.ACTIVE
    licence.access_url = "https://ressource.example/acces"
    licence.activated_at = moment
    return licence


def test_a_gar_licence_counts_as_opened_14_days_after_its_delivery(session: Session) -> None:
    product = factories.product(channel=Channel.GAR, gar_resource_id="ark:/12345/r1")
    # 23:30 UTC on 1 December is 00:30 in Paris on 2 December
    licence = delivered_on(buy(product), datetime(2026, 12, 1, 23, 30, tzinfo=UTC))

    assert not services.opened(licence, on=date(2026, 12, 16))
    assert services.opened(licence, on=date(2026, 12, 17))


def test_other_channels_are_opened_only_when_recorded(session: Session) -> None:
    licence = delivered_on(buy(factories.product()), datetime(2026, 9, 1, 8, tzinfo=UTC))

    assert not services.opened(licence, on=date(2027, 6, 1))
    licence.opened_at = utcnow()
    assert services.opened(licence)
