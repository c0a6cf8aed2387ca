"""Every form's hidden inputs carry no id, so a page may hold several forms (HTML forbids a
repeated id; Flask-WTF's CSRF token would be `id="csrf_token"` on each)."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask
from flask_wtf import FlaskForm

import app as app_package
from app.core.forms import AppForm, TokenForm


def every_subclass(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= every_subclass(sub)
    return found


def test_every_form_of_the_app_is_an_app_form() -> None:
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if module.name.endswith(("forms", "routes")):
            importlib.import_module(module.name)
    forms = {cls for cls in every_subclass(FlaskForm) if cls.__module__.startswith("app.")}
    assert len(forms) > 30
    strays = sorted(cls.__qualname__ for cls in forms if not issubclass(cls, AppForm))
    assert not strays, f"forms to base on app.core.forms.AppForm: {strays}"


def test_hidden_inputs_render_without_an_id(app: Flask) -> None:
    with app.test_request_context(), app.app_context():
        app.config["WTF_CSRF_ENABLED"] = True
        try:
            form = TokenForm()
            hidden = f"{form.hidden_tag()}{form.csrf_token}"
        finally:
            app.config["WTF_CSRF_ENABLED"] = False
    assert hidden.count('name="csrf_token"') == 2
    assert 'name="token"' in hidden
    assert "id=" not in hidden
