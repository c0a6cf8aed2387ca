"""Access control: views guarded by role and by scope.

`role_required(Role.ACADEMY_MANAGER, scope="academy_code")` lets a view run only
for a user who manages the academy named by the view's `academy_code` argument:
an academy manager of Paris gets 403 on every page of Lyon.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role, User
from app.core.errors import Forbidden
from app.extensions import login_manager

View = TypeVar("View", bound=Callable[..., Any])


def role_required(*roles: Role, scope: str | None = None) -> Callable[[View], View]:
    """Guard a view: the user holds one of `roles`, for the view argument `scope` if given."""

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            scope_value = kwargs.get(scope) if scope else None
            user = cast(User, current_user)
            if not any(user.has_role(role, scope_value) for role in roles):
                raise Forbidden(_("Vous n'avez pas accès à cette page."))
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorator
