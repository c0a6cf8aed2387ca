"""`flask vendors …`: the operator's commands on vendors."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import ngettext

from app.extensions import db
from app.vendors import services

vendors_cli = AppGroup("vendors", help="Éditeurs et liste d'exclusion.")


@vendors_cli.command("load-exclusion-list")
def load_exclusion_list() -> None:
    """Add the missing entries of catalog/data/exclusion_list.json (safe to run again)."""
    added = services.load_exclusion_list()
    db.session.commit()
    click.echo(
        ngettext(
            "%(num)s entreprise ajoutée à la liste d'exclusion.",
            "%(num)s entreprises ajoutées à la liste d'exclusion.",
            added,
        )
    )
