"""`flask payouts run --until 2026-10-31`: settle and pay vendors, showing progress."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from app.core.money import format_euros
from app.extensions import db
from app.payouts import services

payouts_cli = AppGroup("payouts", help="Versements aux éditeurs.")


@payouts_cli.command("run")
@click.option(
    "--until",
    "until",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date limite des ventes réglées (AAAA-MM-JJ), incluse.",
)
def run(until: datetime) -> None:
    """Settle every vendor up to a date (safe to run again: nothing is paid twice)."""
    settlement = services.start_run(None, until.date())
    db.session.commit()
    for result in services.settle(None, settlement):
        db.session.commit()
        if result.payout is not None:
            amount = format_euros(result.payout.amount_cents)
            note = f" — {result.skipped}" if result.skipped else ""
            click.echo(
                f"  {result.vendor.legal_name} : {amount} ({result.payout.status_label}){note}"
            )
        else:
            click.echo(f"  {result.vendor.legal_name} : rien — {result.skipped}")
    db.session.commit()
    click.echo(f"Règlement {settlement.id} terminé.")
