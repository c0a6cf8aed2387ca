"""Reading the information pages: their links, their title, their visible text."""

from __future__ import annotations

import re
from typing import Any

import lxml.html


def document(response: Any) -> Any:
    """The parsed page; a line break reads as a space, as a reader sees it."""
    return lxml.html.fromstring(re.sub(r"<br\s*/?>", "<br> ", response.get_data(as_text=True)))


def text_of(element: Any) -> str:
    """What a reader sees of an element, every run of spaces as one."""
    return re.sub(r"\s+", " ", element.text_content()).strip()


def visible_text(response: Any) -> str:
    return text_of(document(response).find("body"))


def heading(response: Any) -> str:
    return text_of(document(response).find(".//h1"))


def within(element: Any, css_class: str, tag: str | None = None) -> list[Any]:
    """The elements of class `css_class` under `element`, or the `tag` elements inside them."""
    query = f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {css_class} ')]"
    return list(element.xpath(query + (f"//{tag}" if tag else "")))
