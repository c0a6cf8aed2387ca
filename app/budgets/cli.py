"""`flask budgets …`: reference data and budget operations at national scale."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.budgets import services
from app.extensions import db

budgets_cli = AppGroup("budgets", help="Académies, établissements et budgets.")


@budgets_cli.command("sync-academies")
def sync_academies() -> None:
    """Create or rename the academies from the catalogue's reference list."""
    changes = services.sync_academies()
    db.session.commit()
    click.echo(f"{changes} académie(s) créée(s) ou mise(s) à jour.")
