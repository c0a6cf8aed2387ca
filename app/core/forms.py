"""Form helpers shared by the feature packages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast
from uuid import uuid4

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Field, Form, HiddenField
from wtforms.fields import FieldList, FormField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import HiddenInput


class AppForm(FlaskForm):
    """The base of every form of the app. Its hidden inputs (the CSRF token, an idempotency
    token) carry no id: nothing labels them, and a page holding several forms would repeat
    the same id (`csrf_token`) on each, which HTML forbids."""

    class Meta:
        def render_field(self, field: Field, render_kw: dict[str, Any]) -> Markup:
            if isinstance(field.widget, HiddenInput):
                render_kw = {"id": False, **render_kw}
            rendered = super().render_field(field, render_kw)  # type: ignore[misc]
            return cast(Markup, rendered)


class TokenForm(AppForm):
    """A form that carries an idempotency token: the same submission, sent twice, acts once."""

    token = HiddenField(validators=[DataRequired(), Length(max=64)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.token.data = uuid4().hex


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _child(container: Any, name: str) -> Field | None:
    if isinstance(container, FormField):
        container = container.form
    if isinstance(container, FieldList):
        return (
            container.entries[int(name)]
            if name.isdigit() and int(name) < len(container.entries)
            else None
        )
    if isinstance(container, Form):
        return container._fields.get(name)
    return None


def attach_errors(form: Form, details: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Put a service's field errors (``plans.class.price``, ``declaration.hosting[0].country``)
    on the form fields they name; returns those that match no field, to show above the form."""
    unplaced: dict[str, list[str]] = {}
    for path, reasons in details.items():
        target: Any = form
        for match in _PART.finditer(path):
            target = _child(target, match.group(1) or match.group(2))
            if target is None:
                break
        if isinstance(target, Field) and not isinstance(target, FormField | FieldList):
            errors = target.errors if isinstance(target.errors, list) else []
            target.errors = [*errors, *reasons]
        else:
            unplaced[path] = list(reasons)
    return unplaced


def lines(text: str | None) -> list[str]:
    """The non-blank lines of a text area, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as the choices of a select, radio or checkbox field."""
    return [SelectChoice(value, label) for value, label in pairs]
