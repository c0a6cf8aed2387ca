"""Money is an integer number of euro cents. Here are the only conversions to and from text."""

from __future__ import annotations

import re

_AMOUNT = re.compile(r"^(?P<sign>-?)(?P<euros>\d{1,12})(?:[.,](?P<cents>\d{1,2}))?$")


class InvalidAmount(ValueError):
    """The text is not an amount in euros with at most two decimals. The message is French."""


def parse_euros(text: str) -> int:
    """ "300" → 30000, "12,5" → 1250, "1 000,00" → 100000, "12.345" → InvalidAmount."""
    cleaned = text.strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    cleaned = cleaned.removesuffix("€").strip()
    match = _AMOUNT.match(cleaned)
    if match is None:
        if re.match(r"^-?\d+[.,]\d{3,}$", cleaned):
            raise InvalidAmount(f"« {text.strip()} » a plus de deux décimales")
        raise InvalidAmount(f"« {text.strip()} » n'est pas un montant en euros")
    cents = int(match["euros"]) * 100 + int((match["cents"] or "0").ljust(2, "0"))
    return -cents if match["sign"] else cents


def format_euros(cents: int) -> str:
    """1234567 → "12 345,67 €" (French, narrow no-break spaces)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{rest:02d}\u00a0€"
