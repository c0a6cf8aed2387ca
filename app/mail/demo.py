"""`/demo/courriels` (development only): the messages the file transport wrote, to read
and click through, so the activation journey works without any mail server."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, make_response, render_template
from flask.typing import ResponseReturnValue

from app.mail.transport import parse

blueprint = Blueprint("mail_demo", __name__, template_folder="templates", url_prefix="/demo")


@dataclass(frozen=True)
class Received:
    file: str
    to: str
    subject: str
    date: datetime | None


def _directory() -> Path | None:
    url = current_app.config["MAIL_URL"]
    destination = parse(url) if url else None
    return destination if isinstance(destination, Path) else None


def _read(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _date(mail: EmailMessage) -> datetime | None:
    return parsedate_to_datetime(str(mail["Date"])) if mail["Date"] else None


@blueprint.get("/courriels")
def inbox() -> ResponseReturnValue:
    directory = _directory()
    files = sorted(directory.glob("*.eml"), reverse=True)[:200] if directory else []
    received = []
    for path in files:
        mail = _read(path)
        received.append(Received(path.name, str(mail["To"]), str(mail["Subject"]), _date(mail)))
    return render_template("mail_demo/inbox.html", received=received, directory=directory)


@blueprint.get("/courriels/<file>")
def letter(file: str) -> ResponseReturnValue:
    mail = _read(_letter_path(file))
    text = mail.get_body(preferencelist=("plain",))
    return render_template(
        "mail_demo/letter.html",
        file=file,
        mail=mail,
        date=_date(mail),
        text=text.get_content() if text is not None else "",
        formatted=mail.get_body(preferencelist=("html",)) is not None,
    )


@blueprint.get("/courriels/<file>/mise-en-forme")
def letter_html(file: str) -> ResponseReturnValue:
    """The mail's own HTML, for the letter page's frame. Mails style themselves inline,
    which the site's policy forbids: this response has its own, which allows inline
    styles and nothing else (no script, no request anywhere), framed by this site only."""
    html = _read(_letter_path(file)).get_body(preferencelist=("html",))
    if html is None:
        abort(404)
    # Links in the message open in the page itself, not inside the frame.
    response = make_response('<base target="_top">' + html.get_content())
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; "
        "sandbox allow-top-navigation-by-user-activation"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _letter_path(file: str) -> Path:
    directory = _directory()
    path = (directory / file) if directory else None
    if path is None or path.parent != directory or path.suffix != ".eml" or not path.is_file():
        abort(404)
    return path
