"""The terms of use a company accepts when it registers: their version, in one place.

Change `TERMS_VERSION` (and the text of ``vendors/terms.html``) together: each vendor keeps
the version it accepted and when.
"""

from __future__ import annotations

from datetime import date

TERMS_VERSION = "2026-12b"  # with the billing mandate (docs/decisions/0020)
TERMS_PUBLISHED_ON = date(2026, 12, 6)
