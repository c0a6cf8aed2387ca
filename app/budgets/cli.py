"""`flask budgets …`: reference data and budget operations at national scale.

Each command commits at its own boundary (after each chunk for the long ones), shows
its progress, and can be run again safely: nothing is ever moved twice.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import click
from flask.cli import AppGroup
from flask_babel import ngettext

from app.budgets import services
from app.core.errors import DomainError
from app.core.money import InvalidAmount, format_euros, parse_euros
from app.extensions import db
from app.licences import services as licences

budgets_cli = AppGroup("budgets", help="Académies, établissements et budgets.")


def _cents(value: str) -> int:
    try:
        return parse_euros(value)
    except InvalidAmount as error:
        raise click.BadParameter(str(error)) from None


@budgets_cli.command("sync-academies")
def sync_academies() -> None:
    """Create or rename the academies from the catalogue's reference list."""
    changes = services.sync_academies()
    db.session.commit()
    click.echo(
        ngettext(
            "%(num)s académie créée ou mise à jour.",
            "%(num)s académies créées ou mises à jour.",
            changes,
        )
    )


@budgets_cli.command("fund")
@click.option("--academy", "academy_code", required=True, help="Code de l'académie (01…70).")
@click.option("--year", "school_year", required=True, help="Année scolaire, ex. 2026-2027.")
@click.option("--amount", required=True, help="Montant en euros, ex. 1000000.00.")
@click.option("--key", default=None, help="Clé d'idempotence (par défaut : une par commande).")
def fund(academy_code: str, school_year: str, amount: str, key: str | None) -> None:
    """Fund an academy's pool for a school year (national funding → academy pool)."""
    cents = _cents(amount)
    key = key or f"fund:{academy_code}:{school_year}:{cents}:{uuid.uuid4()}"
    try:
        entry = services.fund_academy(None, academy_code, school_year, cents, key)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    state = "déjà enregistrée" if entry.replayed else "enregistrée"
    click.echo(
        f"Dotation {state} (écriture n°{entry.id}) : {format_euros(cents)} pour l'académie "
        f"{academy_code}, {school_year}. Enveloppe : "
        f"{format_euros(services.pool_balance(academy_code, school_year))}."
    )


@budgets_cli.command("allocate")
@click.option("--academy", "academy_code", required=True, help="Code de l'académie (01…70).")
@click.option("--year", "school_year", required=True, help="Année scolaire, ex. 2026-2027.")
@click.option("--amount", required=True, help="Montant par enseignant en euros, ex. 300.00.")
@click.option("--all-teachers", is_flag=True, required=True, help="Tous les enseignants.")
def allocate(academy_code: str, school_year: str, amount: str, all_teachers: bool) -> None:
    """Give every teacher of the academy the same amount (again: only those who lack it)."""
    rule = services.Rule(_cents(amount))
    try:
        preview = services.preview_rule(
            None, academy_code, school_year, rule, f"cli:{uuid.uuid4()}"
        )
        to_credit = ngettext(
            "%(num)s enseignant à créditer de %(each)s (%(total)s) ;",
            "%(num)s enseignants à créditer de %(each)s (%(total)s) ;",
            preview.teacher_count,
            each=format_euros(rule.cents),
            total=format_euros(preview.total_cents),
        )
        served = ngettext("%(num)s déjà servi.", "%(num)s déjà servis.", preview.already_served)
        click.echo(f"{to_credit} {served}")
        if preview.teacher_count == 0:
            db.session.rollback()
            click.echo("Rien à faire : chaque enseignant a déjà reçu cette répartition.")
            return
        steps = services.apply_allocation(None, preview.allocation)
        done, todo = next(steps)
        db.session.commit()  # the teachers' accounts exist from now on
        with click.progressbar(length=todo, label="Répartition") as bar:
            for done_now, _ in steps:
                db.session.commit()
                bar.update(done_now - done)
                done = done_now
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    click.echo(
        ngettext(
            "%(num)s enseignant crédité. Enveloppe restante : %(pool)s.",
            "%(num)s enseignants crédités. Enveloppe restante : %(pool)s.",
            preview.allocation.teacher_count,
            pool=format_euros(services.pool_balance(academy_code, school_year)),
        )
    )


@budgets_cli.command("close-year")
@click.argument("school_year")
def close_year(school_year: str) -> None:
    """Close a school year: unspent teacher credit goes back to each academy's pool, and
    the licences of the year expire."""
    try:
        for academy, teachers, cents in services.close_year(None, school_year):
            db.session.commit()
            accounts = ngettext("%(num)s compte", "%(num)s comptes", teachers)
            click.echo(
                f"  {academy.code} {academy.name} : {accounts}, "
                f"{format_euros(cents)} rendus à l'académie"
            )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    expired = licences.expire_ended(licences.school_year_end(school_year) + timedelta(days=1))
    db.session.commit()
    click.echo(
        "  "
        + ngettext(
            "%(num)s licence arrivée à échéance.", "%(num)s licences arrivées à échéance.", expired
        )
    )
    click.echo(f"Année scolaire {school_year} clôturée.")
