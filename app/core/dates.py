"""Civil dates in France. Timestamps are stored in UTC; a day (an order's date, a label's
expiry, a school year) is the day in Paris, whatever the server's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
# The days a person can mean in this application (a filter, a cut-off): anything else is
# a typing error, refused before it reaches date arithmetic or the database.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


def today() -> date:
    return datetime.now(PARIS).date()


def local_date(moment: datetime) -> date:
    """The day in Paris of a (UTC) timestamp."""
    return moment.astimezone(PARIS).date()
