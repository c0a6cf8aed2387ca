"""`flask licences expire`: licences whose school year is over become expired."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from flask_babel import ngettext

from app.core import dates
from app.extensions import db
from app.licences import services

licences_cli = AppGroup("licences", help="Licences.")


@licences_cli.command("expire")
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date du jour (AAAA-MM-JJ) ; aujourd'hui par défaut.",
)
def expire(on: datetime | None) -> None:
    """Expire the licences that ended before the day (safe to run again, e.g. nightly)."""
    day = on.date() if on is not None else dates.today()
    count = services.expire_ended(day)
    db.session.commit()
    click.echo(
        ngettext(
            "%(num)s licence arrivée à échéance.", "%(num)s licences arrivées à échéance.", count
        )
    )
