"""Declaring, queuing and rendering messages (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, gettext
from jinja2 import Environment, Template
from sqlalchemy import String, cast, literal, select

from app.core import jobs
from app.core.db import AnySelect, json_object, utcnow
from app.extensions import db
from app.mail import transport

JOB_KIND = "mail"


@dataclass(frozen=True)
class Letter:
    """What a message says to whom: the template's context, and the reader's language."""

    to: str
    name: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    locale: str = "fr"
    # A message the reader may turn off: the address of its one-click unsubscribe
    # (List-Unsubscribe headers, RFC 8058, and a link at the bottom of the message).
    unsubscribe: str | None = None


Builder = Callable[[dict[str, Any]], Letter | None]
MESSAGES: dict[str, Builder] = {}
LABELS: dict[str, str] = {}


def message(name: str, label: str) -> Callable[[Builder], Builder]:
    """Declare the message `name` (`label` says what it is, for the failed-jobs page):
    its builder, and its template `mail/<name>.html`."""

    def register(builder: Builder) -> Builder:
        MESSAGES[name] = builder
        LABELS[name] = label
        return builder

    return register


def _job_key(name: str, key: str | None) -> str | None:
    return f"mail:{name}:{key}" if key is not None else None


def send(name: str, payload: dict[str, Any], *, to: str, key: str | None = None) -> None:
    """Queue the message `name` to the address `to` in the current transaction: sent once
    it commits. With a `key` already queued (e.g. the user's id), nothing more is queued."""
    if name not in MESSAGES:
        raise ValueError(f"unknown message: {name}")
    jobs.enqueue(JOB_KIND, {"message": name, "to": to, **payload}, key=_job_key(name, key))


def send_many(name: str, rows: AnySelect, key: str) -> int:
    """Queue the message `name` once per row of `rows`, in one INSERT … SELECT: each
    selected column becomes a payload field (one named "to" holds the address), and the
    column named `key` makes the job's key (rows whose key is already queued are skipped).
    Returns how many were queued."""
    if name not in MESSAGES:
        raise ValueError(f"unknown message: {name}")
    source = rows.subquery()
    fields = {"message": literal(name), **{str(c.name): c for c in source.columns}}
    payload = json_object(db.session, fields)
    job_key = literal(f"mail:{name}:") + cast(source.c[key], String)
    return jobs.enqueue_many(JOB_KIND, select(payload, job_key).select_from(source))


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute address of `endpoint` at `PUBLIC_URL`, for links people receive."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        public.netloc, script_name=public.path.rstrip("/") or "/", url_scheme=public.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


# --- rendering --------------------------------------------------------------------------------


def _text_environment() -> Environment:
    """The app's Jinja environment without HTML escaping, for the plain-text part; made
    once per app, so its templates are compiled once."""
    env: Environment | None = current_app.extensions.get("mail_text_env")
    if env is None:
        env = current_app.jinja_env.overlay(autoescape=False)
        current_app.extensions["mail_text_env"] = env
    return env


def _render_block(template: Template, block: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[block](template.new_context(context))).strip()


def render(name: str, letter: Letter) -> EmailMessage:
    """The message `name` for `letter`: French (or the reader's language) subject, a
    plain-text part and an HTML part, Message-ID and Date."""
    config = current_app.config
    sender = config["MAIL_FROM"]
    context = {
        "letter": letter,
        "public_url": public_url,
        "home_url": config["PUBLIC_URL"],
        **letter.context,
    }
    template_name = f"mail/{name}.html"
    with force_locale(letter.locale):
        html_env = current_app.jinja_env
        text_template = _text_environment().get_template(template_name)
        subject = " ".join(_render_block(text_template, "subject", context).split())
        text = _render_block(text_template, "text", context)
        if letter.unsubscribe:
            text += "\n\n-- \n" + gettext(
                "Ne plus recevoir ce type de message : %(link)s", link=letter.unsubscribe
            )
        html = html_env.get_template(template_name).render(context)

    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = sender
    mail["To"] = Address(display_name=letter.name, addr_spec=letter.to)
    if config["MAIL_REPLY_TO"]:
        mail["Reply-To"] = config["MAIL_REPLY_TO"]
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=_domain_of(sender))
    mail["Auto-Submitted"] = "auto-generated"
    if letter.unsubscribe:
        mail["List-Unsubscribe"] = f"<{letter.unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text + "\n")
    mail.add_alternative(html, subtype="html")
    mail["Content-Language"] = letter.locale  # after the content: set_content drops Content-*
    return mail


def subject(name: str, context: dict[str, Any], locale: str | None = None) -> str:
    """The subject of the message `name` with `context`, in `locale` (default: the
    current one): also the title of the same event in the in-app notifications."""
    template = _text_environment().get_template(f"mail/{name}.html")
    full = {"public_url": public_url, "home_url": current_app.config["PUBLIC_URL"], **context}
    if locale is None:
        return " ".join(_render_block(template, "subject", full).split())
    with force_locale(locale):
        return " ".join(_render_block(template, "subject", full).split())


def _domain_of(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or "localhost"


# --- the job ----------------------------------------------------------------------------------


def _describe(payload: dict[str, Any]) -> str:
    label = LABELS.get(payload.get("message", ""), "Courriel")
    return str(gettext("Courriel « %(label)s » à %(to)s", label=label, to=payload.get("to", "?")))


@jobs.handler(JOB_KIND, describe=_describe)
def deliver(payload: dict[str, Any]) -> None:
    """Build, render and send one message; nothing when its builder has nothing to say."""
    name = payload["message"]
    builder = MESSAGES.get(name)
    if builder is None:
        raise jobs.GiveUp(f"Message inconnu : {name}.")
    letter = builder(payload)
    if letter is None:
        return
    transport.deliver(render(name, letter))
