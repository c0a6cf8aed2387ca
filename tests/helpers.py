"""Small helpers for reading responses."""

from __future__ import annotations

import html
import io
from typing import Any


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
