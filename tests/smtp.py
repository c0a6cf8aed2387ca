"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1), and what it received.

`answers` scripts the server: each message takes the next scripted answer to its DATA
("451 …" to ask for a retry, "550 …" to refuse for good); once they are used up, every
message is accepted. `sessions` counts the SMTP connections opened.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    sessions: int = 0
    refused: int = 0

    def clear(self) -> None:
        self.messages.clear()
        self.answers.clear()
        self.sessions = 0
        self.refused = 0

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.inbox.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.inbox.answers:
            answer = self.inbox.answers.pop(0)
            if not answer.startswith("250"):
                self.inbox.refused += 1
                return answer
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.inbox.messages.append(parsed)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.controller = Controller(_Handler(self.inbox), hostname="127.0.0.1", port=free_port())

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML part of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, "a plain-text part"
    assert html is not None, "an HTML part"
    return str(text.get_content()), str(html.get_content())


def link(message: EmailMessage, path: str) -> str:
    """The one link of the message whose path starts with `path`, as a local path; the
    same link must be in both parts."""
    text, html = parts(message)
    found = set(re.findall(r"https?://[^\s\"<>]+" + re.escape(path) + r"[^\s\"<>]*", text))
    assert len(found) == 1, f"one {path} link in the text part: {found}"
    (url,) = found
    assert url in html, "the same link in the HTML part"
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
