"""`flask jobs work` and the admins' page of dead jobs."""

from __future__ import annotations

import click
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from app.accounts.models import Role
from app.core import jobs
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
def work_command(once: bool, max_jobs: int | None, kinds: str, poll: float) -> None:
    """Run a worker: claims and runs jobs; stops cleanly on SIGTERM."""
    jobs.install_signal_handlers()
    wanted = [kind.strip() for kind in kinds.split(",") if kind.strip()]
    current_app.logger.info("Worker %s started (kinds: %s)", jobs.worker_name(), wanted or "all")

    def report(job_id: int, status: jobs.JobStatus) -> None:
        click.echo(f"job {job_id}: {status.value}")

    count = jobs.work(kinds=wanted, once=once, max_jobs=max_jobs, poll_seconds=poll, on_job=report)
    click.echo(ngettext("%(num)s tâche traitée.", "%(num)s tâches traitées.", count))


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
