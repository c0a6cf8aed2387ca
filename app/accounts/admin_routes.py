"""The national operator's pages of users: the searchable list, a person's page with
their roles, giving and removing a role (each change in the audit log)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts import services
from app.accounts.forms import RoleGrantForm, RoleRemovalForm
from app.accounts.models import Role, User
from app.budgets.models import Academy
from app.core import args, audit
from app.core.auth import role_required
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.forms import attach_errors
from app.extensions import db

blueprint = Blueprint("users", __name__, template_folder="templates")

# The scope field of the grant form each role reads.
SCOPE_FIELDS = {Role.ACADEMY_MANAGER: "academy", Role.TEACHER: "school", Role.VENDOR: "vendor"}


def _role_asked() -> Role | None:
    asked = request.args.get("role", "").strip()
    if not asked:
        return None
    try:
        return Role(asked)
    except ValueError:
        raise args.refused("role", _("rôle inconnu.")) from None


@blueprint.get("/admin/utilisateurs")
@role_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()[:100]
    role = _role_asked()
    found = services.search_users(search, role, args.page())
    page_args = {"q": search, "role": role.value if role else ""}
    return render_template(
        "accounts/admin_users.html",
        found=found,
        search=search,
        role=role,
        roles=list(Role),
        page_args={name: value for name, value in page_args.items() if value},
    )


def _grant_form() -> RoleGrantForm:
    form = RoleGrantForm()
    form.role.choices = [("", _("Choisir un rôle")), *((r.value, r.label) for r in Role)]
    academies = db.session.scalars(select(Academy).order_by(Academy.name))
    form.academy.choices = [("", _("Choisir une académie")), *((a.code, a.name) for a in academies)]
    return form


def _user_page(
    user: User, form: RoleGrantForm, status: int = 200, error: Exception | None = None
) -> ResponseReturnValue:
    return render_template(
        "accounts/admin_user.html",
        user=user,
        form=form,
        error=error,
        removal_form=RoleRemovalForm(),
        events=audit.recent("user", user.id, limit=20),
    ), status


@blueprint.get("/admin/utilisateurs/<int:user_id>")
@role_required(Role.ADMIN)
def detail(user_id: int) -> ResponseReturnValue:
    return _user_page(services.get_user(user_id), _grant_form())


@blueprint.post("/admin/utilisateurs/<int:user_id>/roles")
@role_required(Role.ADMIN)
def grant(user_id: int) -> ResponseReturnValue:
    user, form = services.get_user(user_id), _grant_form()
    if not form.validate_on_submit():
        return _user_page(user, form, 422)
    try:
        role = Role(form.role.data or "")
    except ValueError:
        form.role.errors = [_("Rôle : choisissez un rôle de la liste.")]
        return _user_page(user, form, 422)
    field = SCOPE_FIELDS.get(role)
    scope = str(form[field].data or "") if field else ""
    try:
        services.give_role(current_user, user, role, scope)
        db.session.commit()
    except (ValidationFailed, Conflict) as refused:
        db.session.rollback()
        for reasons in attach_errors(form, refused.details).values():
            form.role.errors = [*form.role.errors, *reasons]
        return _user_page(services.get_user(user_id), form, 422, refused)
    flash(_("Rôle « %(role)s » donné à %(name)s.", role=role.label, name=user.name), "success")
    return redirect(url_for("users.detail", user_id=user.id))


@blueprint.post("/admin/utilisateurs/<int:user_id>/roles/<int:grant_id>/retirer")
@role_required(Role.ADMIN)
def remove(user_id: int, grant_id: int) -> ResponseReturnValue:
    user = services.get_user(user_id)
    if not RoleRemovalForm().validate_on_submit():
        flash(_("Le formulaire a expiré : rechargez la page et réessayez."), "error")
        return redirect(url_for("users.detail", user_id=user.id))
    try:
        services.remove_role(current_user, user, grant_id)
        db.session.commit()
    except (Conflict, NotFound) as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        flash(_("Le rôle a été retiré à %(name)s.", name=user.name), "success")
    return redirect(url_for("users.detail", user_id=user.id))
