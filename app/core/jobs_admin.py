"""`flask jobs work`, `flask jobs schedule` and the admins' pages of jobs: the dead ones,
the periodic tasks."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.accounts.models import Role
from app.core import jobs, schedule
from app.core.auth import role_required
from app.core.errors import NotFound
from app.extensions import db

blueprint = Blueprint("jobs", __name__)
jobs_cli = AppGroup("jobs", help="Tâches de fond (outbox).")


@jobs_cli.command("work")
@click.option("--once", is_flag=True, help="S'arrêter quand plus aucune tâche n'est prête.")
@click.option("--max-jobs", type=int, default=None, help="S'arrêter après N tâches.")
@click.option("--kinds", default="", help="Sortes de tâches, séparées par des virgules.")
@click.option("--poll", type=float, default=1.0, help="Attente entre deux essais (s).")
@click.option(
    "--schedule",
    "with_schedule",
    is_flag=True,
    help="Mettre aussi en file les tâches périodiques dues (comme `flask jobs schedule`).",
)
def work_command(
    once: bool, max_jobs: int | None, kinds: str, poll: float, with_schedule: bool
) -> None:
    """Run a worker: claims and runs jobs; stops cleanly on SIGTERM. With --schedule it
    also enqueues the periodic tasks when due (any number of workers may do so)."""
    jobs.install_signal_handlers()
    wanted = [kind.strip() for kind in kinds.split(",") if kind.strip()]
    current_app.logger.info("Worker %s started (kinds: %s)", jobs.worker_name(), wanted or "all")

    def report(job_id: int, status: jobs.JobStatus) -> None:
        click.echo(f"job {job_id}: {status.value}")

    tick = schedule.Ticker() if with_schedule else None
    count = jobs.work(
        kinds=wanted, once=once, max_jobs=max_jobs, poll_seconds=poll, on_job=report, tick=tick
    )
    click.echo(ngettext("%(num)s tâche traitée.", "%(num)s tâches traitées.", count))


@jobs_cli.command("schedule")
@click.option(
    "--once", is_flag=True, help="Mettre en file ce qui est dû maintenant, puis s'arrêter."
)
@click.option("--poll", type=float, default=30.0, help="Attente maximale entre deux passages (s).")
@click.option(
    "--list", "listing", is_flag=True, help="Lister les tâches périodiques, sans rien lancer."
)
def schedule_command(once: bool, poll: float, listing: bool) -> None:
    """Run the scheduler: enqueues each periodic task once per period (Paris time), as a
    job for the workers; stops cleanly on SIGTERM. Several schedulers may run at once."""
    if listing:
        for state in schedule.states():
            next_run = state.next_run.strftime("%Y-%m-%d %H:%M")
            click.echo(f"{state.task.name} ({state.task.cron}) : prochaine le {next_run}")
        return
    jobs.install_signal_handlers()
    current_app.logger.info(
        "Scheduler %s started (%d tasks)", jobs.worker_name(), len(schedule.TASKS)
    )

    def report(task: schedule.Task, period: datetime) -> None:
        click.echo(f"{task.name} : période du {period.strftime('%Y-%m-%d %H:%M')} mise en file.")

    count = schedule.run_scheduler(once=once, poll_seconds=poll, on_enqueued=report)
    click.echo(ngettext("%(num)s période mise en file.", "%(num)s périodes mises en file.", count))


@blueprint.get("/admin/taches")
@role_required(Role.ADMIN)
def dead() -> ResponseReturnValue:
    return render_template("jobs/dead.html", jobs=jobs.dead_jobs(), describe=jobs.describe)


@blueprint.post("/admin/taches/<int:job_id>/relancer")
@role_required(Role.ADMIN)
def retry(job_id: int) -> ResponseReturnValue:
    job = db.session.get(jobs.Job, job_id)
    if job is None:
        raise NotFound(_("Tâche introuvable."))
    jobs.retry(job)
    db.session.commit()
    flash(_("La tâche %(id)s est relancée.", id=job_id), "success")
    return redirect(url_for("jobs.dead"))


@blueprint.get("/admin/taches-planifiees")
@role_required(Role.ADMIN)
def scheduled() -> ResponseReturnValue:
    return render_template("jobs/scheduled.html", states=schedule.states())


@blueprint.post("/admin/taches-planifiees/<name>/lancer")
@role_required(Role.ADMIN)
def run_now(name: str) -> ResponseReturnValue:
    task = schedule.get_task(name)
    schedule.run_now(task.name, current_user)
    db.session.commit()
    flash(
        _("« %(label)s » est mise en file : elle s’exécute dans un instant.", label=task.label),
        "success",
    )
    return redirect(url_for("jobs.scheduled"))
