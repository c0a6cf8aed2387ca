"""Small helpers for reading responses."""

from __future__ import annotations

import html
from typing import Any


def page_text(response: Any) -> str:
    """The response body with HTML entities decoded (`n&#39;avez` → `n'avez`)."""
    return html.unescape(response.get_data(as_text=True))
