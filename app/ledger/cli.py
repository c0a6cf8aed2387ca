"""`flask ledger verify`: prove the ledger's invariants on the whole database."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from app.ledger import services

ledger_cli = AppGroup("ledger", help="Le grand livre : vérifications.")


@ledger_cli.command("verify")
def verify() -> None:
    """Check that every entry balances and every balance equals its postings; the result
    is kept for the monitoring."""
    report = services.verify_and_record()
    db.session.commit()
    click.echo(
        f"{report.entries} écritures, {report.postings} lignes, {report.accounts} comptes "
        f"vérifiés en {report.seconds:.2f} s."
    )
    faults = {
        "écritures déséquilibrées ou sans lignes": report.unbalanced_entries,
        "comptes dont le solde diffère de la somme des lignes": report.wrong_balances,
        "comptes au solde négatif": report.negative_balances,
    }
    for label, ids in faults.items():
        if ids:
            click.echo(f"ERREUR — {label} : {', '.join(map(str, ids))}", err=True)
    if not report.ok:
        raise SystemExit(1)
    click.echo("Le grand livre est équilibré.")
