"""Small helpers for reading responses."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pypdf import PdfReader
from sqlalchemy import Engine, event


def pdf_text(data: bytes) -> str:
    """The text of a PDF, every run of spaces (no-break ones included) as one space."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"\s+", " ", text).strip()


def page_text(response: Any) -> str:
    """The response body with HTML entities decoded (`n&#39;avez` → `n'avez`)."""
    return html.unescape(response.get_data(as_text=True))


class CountingStream(io.BytesIO):
    """A request body that counts the bytes the application reads from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


class Statements(list[str]):
    """The SQL statements sent while it was open (see `count_statements`)."""

    def __str__(self) -> str:
        return "\n".join(f"{number}. {text}" for number, text in enumerate(self, 1))


@contextmanager
def count_statements(engine: Engine | None = None) -> Iterator[Statements]:
    """Every SQL statement sent to the database inside the block, savepoints excluded (the
    tests' own transaction machinery), so a hot path can assert its round trips:

        with count_statements() as sent:
            client.post("/panier/commander")
        assert len(sent) == 9, str(sent)
    """
    from app.extensions import db

    engine = engine or db.engine
    sent = Statements()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if (
            not statement.lstrip()
            .upper()
            .startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
        ):
            sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
