"""The person's notifications, the bell's count, and the choice of optional e-mails."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.models import User
from app.core import args
from app.extensions import csrf, db
from app.notifications import services
from app.notifications.models import Topic

blueprint = Blueprint("notifications", __name__, template_folder="templates")


def _me() -> User:
    user = current_user._get_current_object()
    assert isinstance(user, User)
    return user


@blueprint.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    page = args.page()
    lines, more = services.page_of(_me(), page)
    return render_template("notifications/index.html", lines=lines, page=page, more=more)


@blueprint.get("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int) -> ResponseReturnValue:
    link = services.open_notification(_me(), notification_id)
    db.session.commit()
    return redirect(link or url_for("notifications.index"))


@blueprint.post("/notifications/tout-lu")
@login_required
def mark_all_read() -> ResponseReturnValue:
    services.mark_all_read(_me())
    db.session.commit()
    flash(_("Toutes vos notifications sont marquées comme lues."), "success")
    return redirect(url_for("notifications.index"))


@blueprint.post("/mon-profil/courriels")
@login_required
def choose() -> ResponseReturnValue:
    user = _me()
    for topic in Topic:
        services.choose(user.id, topic, request.form.get(topic.value) == "oui")
    db.session.commit()
    flash(_("Vos choix de courriels sont enregistrés."), "success")
    return redirect(url_for("profile.show") + "#courriels")


@blueprint.route("/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt  # one click from the mail client (RFC 8058): no form of ours, the token signs it
def unsubscribe(token: str) -> ResponseReturnValue:
    user, topic = services.read_unsubscribe_token(token)
    if request.method == "POST":
        services.choose(user.id, topic, False)
        db.session.commit()
        return render_template("notifications/unsubscribed.html", topic=topic, done=True)
    return render_template("notifications/unsubscribed.html", topic=topic, done=False, token=token)
