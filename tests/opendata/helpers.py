"""Reading a generation of the open data back, as a reuser would."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.opendata import services
from app.opendata.models import OpenDataGeneration


def files_of(generation: OpenDataGeneration) -> dict[str, bytes]:
    return {name: services.read_file(generation, name) for name in services.FILENAMES}


def write_package(generation: OpenDataGeneration, folder: Path) -> Path:
    """The generation's files in `folder`, under their published names."""
    for name, data in files_of(generation).items():
        (folder / name).write_bytes(data)
    return folder / services.PACKAGE


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert not data.startswith("\ufeff".encode())  # no BOM
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def json_rows(data: bytes) -> list[dict[str, Any]]:
    return list(json.loads(data))


def as_text(value: Any) -> str:
    """A JSON value as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(Decimal(str(value)))
    return str(value)


def cents(euros: str | float) -> int:
    return int(Decimal(str(euros)) * 100)
