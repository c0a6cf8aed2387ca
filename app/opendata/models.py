"""The generations of the open data: which files make up each one, and when it was made.

A generation's files are written to the storage first (content-addressed, so a file never
changes under a key), then its row is added: the row is what makes a generation visible,
so readers never see a half-written one, and a generation that fails leaves the previous
one served (docs/decisions/0026-open-data.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, utcnow
from app.extensions import Model


class OpenDataGeneration(Model):
    __tablename__ = "opendata_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # File name ("catalogue.csv") → {"key": storage key, "bytes": size}.
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Dataset name ("catalogue") → number of rows.
    rows: Mapped[dict[str, Any]] = mapped_column(JSON)

    def key(self, filename: str) -> str:
        return str(self.files[filename]["key"])
