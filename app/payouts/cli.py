"""`flask payouts run --until 2026-10-31`: settle and pay vendors, showing progress."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from app.core.errors import DomainError, ValidationFailed
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
    """Settle every vendor up to a date (safe to run again: nothing is paid twice). A date
    after today is refused; when nothing is due, it says so and writes nothing."""
    try:
        summary = services.preview(until.date())
    except ValidationFailed as refused:
        raise click.BadParameter(refused.details["until"][0], param_hint="'--until'") from None
    if summary.nothing_to_pay:
        click.echo(summary.nothing_to_pay_message)
        for vendor, reason in summary.skipped:
            click.echo(f"  {vendor.legal_name} : {reason}")
        return
    try:
        settlement = services.start_run(None, until.date(), confirmed=summary.fingerprint)
    except DomainError as refused:  # another run paid meanwhile, or the amounts changed
        db.session.rollback()
        raise click.ClickException(refused.message) from None
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
