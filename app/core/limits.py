"""Limits on what one request can make the server do.

- Body size: Flask refuses (413) a body above `MAX_CONTENT_LENGTH` before reading it, as
  soon as anything asks for the body (the CSRF check, a form, a JSON body). The API's
  JSON bodies get the lower `API_MAX_CONTENT_LENGTH`, set here before anything reads
  them. The 413 page or JSON error names the limit (app/core/errors.py).
- Uploaded CSV files are read as a stream of lines (`upload_lines`), never whole, and
  each feature caps the lines of one upload (`too_many_lines` says so in French).
- A list that a person sent (an upload's lines) goes to the database as one array
  (`text_rows`, `integer_rows` in app/core/db.py), never one parameter a value:
  PostgreSQL takes at most 65,535 parameters a statement.
- Rate limits (Flask-Limiter) count the network address a request comes from
  (`network_address`), or what a limit names itself (an account, a token).
"""

from __future__ import annotations

import io
import ipaddress
from collections.abc import Iterator
from typing import IO

from flask import Flask, current_app, request
from flask_babel import format_decimal

IPV6_SUBSCRIBER_PREFIX = 64


def init_app(app: Flask) -> None:
    # Registered before the extensions' own hooks (CSRF reads the form in one).
    app.before_request(limit_request_body)


def limit_request_body() -> None:
    if request.path.startswith("/api/"):
        request.max_content_length = current_app.config["API_MAX_CONTENT_LENGTH"]


def request_limit_text() -> str:
    """The body limit of the current request, for people: "10 Mo", "1 Mo", "512 Ko"."""
    limit = request.max_content_length or 0
    if limit >= 1024 * 1024:
        return f"{format_decimal(round(limit / (1024 * 1024), 1))} Mo"
    return f"{format_decimal(round(limit / 1024, 1))} Ko"


def upload_lines(stream: IO[bytes]) -> Iterator[str]:
    """The lines of an uploaded UTF-8 text file (a byte order mark is dropped), decoded
    one at a time as they are read: never the whole file in memory. A line that is not
    UTF-8 raises UnicodeDecodeError when it is reached, so its number can be told."""
    for number, raw in enumerate(stream, start=1):
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        if "\r" in line.rstrip("\r\n"):  # lines ended by CR alone (old Mac files)
            yield from io.StringIO(line, newline="")
        else:
            yield line


def too_many_lines(count: int, limit: int) -> str:
    """ "Le fichier compte 250 001 lignes ; la limite est de 200 000 lignes par envoi." """
    return (
        f"Le fichier compte {_number(count)} lignes ; la limite est de {_number(limit)} "
        "lignes par envoi. Découpez-le en plusieurs fichiers."
    )


def _number(value: int) -> str:
    """A count written the French way whatever the page's language: 250 001."""
    return f"{value:,}".replace(",", "\u202f")


def network_address() -> str:
    """The request's network address (as the proxy in front reported it). For IPv6, its
    /64 network: one subscriber usually holds a whole one, and counting each address
    apart would let them try 2^64 times as often."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_SUBSCRIBER_PREFIX}", strict=False))
    return str(ip)
