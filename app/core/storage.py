"""Files kept by the service (logos, receipts, statements), in ``STORAGE_DIR``.

A file is stored under the SHA-256 of its content, so storing the same bytes twice
keeps one copy and a key can never point to different content. Keys look like
``logos/3f9c….png``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from flask import Response, current_app, send_file

from app.core.errors import NotFound

KEY_PATTERN = re.compile(r"[a-z]+/[0-9a-f]{64}\.[a-z0-9]{2,5}")


def _root() -> Path:
    return Path(current_app.config["STORAGE_DIR"])


def save(namespace: str, data: bytes, extension: str) -> str:
    """Store ``data`` and return its key. Written to a temporary file then renamed, so a
    reader never sees half a file."""
    key = f"{namespace}/{hashlib.sha256(data).hexdigest()}.{extension}"
    path = _root() / key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    return key


def path_of(key: str) -> Path:
    """The file of a stored key; NotFound when the key is malformed or the file missing."""
    if not KEY_PATTERN.fullmatch(key):
        raise NotFound("Fichier introuvable.")
    path = _root() / key
    if not path.is_file():
        raise NotFound("Fichier introuvable.")
    return path


def send_pdf(key: str, download_name: str) -> Response:
    """A stored PDF as a download (receipts, statements)."""
    return send_file(
        path_of(key),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=download_name,
        max_age=0,
    )
