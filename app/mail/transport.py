"""Where messages go, as `MAIL_URL` says.

- ``smtp://host:port`` (plain, for a relay on the same network), ``smtp+starttls://…``
  (upgraded to TLS before anything is said), ``smtps://…`` (TLS from the start); a
  ``user:password@`` in the URL logs in. A worker keeps one connection open for all the
  messages it sends in a row, and closes it when its queue is empty.
- ``file:///path``: each message is written as an ``.eml`` file there (development).

SMTP answers decide what happens to the job: 4xx (try again later: greylisting, a full
queue) retries it with backoff; 5xx (the address does not exist, the message is refused)
kills it at once, with the server's answer in French on the failed-jobs page.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app

from app.core import jobs
from app.core.db import utcnow

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None


def parse(url: str) -> SmtpServer | Path:
    """The SMTP server or the directory `url` names; a clear error for anything else."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(
            f"MAIL_URL non reconnue : {parts.scheme or url!r} (attendu : smtp://, "
            "smtp+starttls://, smtps:// ou file://)"
        )
    return SmtpServer(
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or SCHEMES[parts.scheme],
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def deliver(mail: EmailMessage) -> None:
    """Send `mail` where `MAIL_URL` says; raises RetryLater or GiveUp on failure."""
    url = current_app.config["MAIL_URL"]
    if not url:
        raise jobs.RetryLater("Aucun serveur de courriel n'est configuré (MAIL_URL).")
    destination = parse(url)
    if isinstance(destination, Path):
        _write_file(destination, mail)
    else:
        _Connection.send(destination, mail, current_app.config["MAIL_TIMEOUT_SECONDS"])


def _write_file(directory: Path, mail: EmailMessage) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
    ident = str(mail["Message-ID"]).strip("<>").split("@")[0]
    (directory / f"{stamp}-{ident}.eml").write_bytes(bytes(mail))


class _Connection:
    """The SMTP connection a worker reuses, one per thread."""

    local = threading.local()

    @classmethod
    def send(cls, server: SmtpServer, mail: EmailMessage, timeout: float) -> None:
        try:
            smtp = cls._open(server, timeout)
            try:
                refused = smtp.send_message(mail)
            except smtplib.SMTPServerDisconnected:
                cls.close()  # the server closed an idle connection: one new try
                smtp = cls._open(server, timeout)
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            cls._reset()
            code, answer = next(iter(error.recipients.values()))
            raise _refusal(code, answer) from None
        except smtplib.SMTPResponseException as error:
            cls._reset()
            raise _refusal(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            cls.close()
            raise jobs.RetryLater(
                f"Serveur de courriel {server.host}:{server.port} injoignable : {error}"
            ) from None
        if refused:  # some recipients refused; we send to one at a time, so never partial
            code, answer = next(iter(refused.values()))
            raise _refusal(code, answer)

    @classmethod
    def _open(cls, server: SmtpServer, timeout: float) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = getattr(cls.local, "smtp", None)
        if smtp is not None and getattr(cls.local, "server", None) == server:
            return smtp
        cls.close()
        context = ssl.create_default_context()
        if server.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
            if server.scheme == "smtp+starttls":
                smtp.starttls(context=context)
        if server.user:
            smtp.login(server.user, server.password or "")
        cls.local.smtp, cls.local.server = smtp, server
        return smtp

    @classmethod
    def _reset(cls) -> None:
        """After a refused message, make the connection ready for the next one."""
        smtp: smtplib.SMTP | None = getattr(cls.local, "smtp", None)
        if smtp is None:
            return
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            cls.close()

    @classmethod
    def close(cls) -> None:
        smtp: smtplib.SMTP | None = getattr(cls.local, "smtp", None)
        cls.local.smtp = None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _refusal(code: int, answer: bytes | str) -> Exception:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    said = f"{code} {text}".strip()
    if 400 <= code < 500:
        return jobs.RetryLater(f"Le serveur de courriel demande de réessayer plus tard ({said}).")
    return jobs.GiveUp(f"Le serveur de courriel a refusé définitivement le message ({said}).")


jobs.on_idle(_Connection.close)
