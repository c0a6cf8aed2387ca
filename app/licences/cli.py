"""`flask licences expire`: licences whose school year is over become expired.
`flask gar import-etablissements FILE`: the GAR's list of schools."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import ngettext

from app.core import dates
from app.extensions import db
from app.licences import gar, services

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


gar_cli = AppGroup("gar", help="GAR (Gestionnaire d'accès aux ressources).")


@gar_cli.command("import-etablissements")
@click.argument("file", type=click.File("rb"))
def import_etablissements(file: BinaryIO) -> None:
    """Read the GAR's list of schools (etablissements.xml): the schools in it use the GAR,
    the others do not, and their kind follows the list. The whole file is checked before
    anything is written; safe to run again."""
    try:
        schools = gar.read_etablissements(file.read())
    except gar.InvalidEtablissements as error:
        for where, reason in error.errors:
            click.echo(f"{where} : {reason}", err=True)
        raise click.ClickException(
            _("Liste des établissements du GAR refusée : rien n'a été enregistré.")
        ) from error
    result = services.import_gar_schools(schools)
    db.session.commit()
    click.echo(
        _(
            "%(listed)s établissement(s) utilisent le GAR, %(not_listed)s n'y sont plus ou pas, "
            "%(kinds)s type(s) d'établissement corrigé(s).",
            listed=result.listed,
            not_listed=result.not_listed,
            kinds=result.kinds_changed,
        )
    )
    if result.unknown:
        click.echo(
            _(
                "%(num)s UAI de la liste ne correspondent à aucun établissement connu ici "
                "(ignorées) : %(uais)s",
                num=len(result.unknown),
                uais=", ".join(result.unknown[:20]) + (" …" if len(result.unknown) > 20 else ""),
            )
        )
