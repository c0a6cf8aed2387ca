"""`flask opendata publish`: a new generation of the open data, now."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.dates import PARIS
from app.extensions import db
from app.opendata import services

opendata_cli = AppGroup("opendata", help="Données ouvertes : catalogue et dépenses.")


@opendata_cli.command("publish")
def publish_command() -> None:
    """Générer et publier les fichiers des données ouvertes (peut être relancé)."""
    click.echo("Publication des données ouvertes…")
    try:
        generation = services.publish(progress=click.echo)
        db.session.commit()
    except Exception:
        db.session.rollback()
        click.echo("Échec : la génération précédente reste publiée.", err=True)
        raise
    moment = generation.generated_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    click.echo(f"Génération n° {generation.id} publiée le {moment}.")
    purged = services.purge_old_generations()
    if purged == 1:
        click.echo("La génération la plus ancienne est supprimée, avec ses fichiers.")
    elif purged:
        click.echo(f"{purged} générations plus anciennes sont supprimées, avec leurs fichiers.")
