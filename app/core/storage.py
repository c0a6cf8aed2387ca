"""Files kept by the service (logos, screenshots, receipts, statements), where ``STORAGE_URL`` says.

- ``file:///path``: a directory of this machine (development, a single machine).
- ``s3://bucket/prefix?endpoint_url=https://…&region=…``: S3-compatible object storage,
  shared by every web machine (production). Credentials come from the standard AWS
  variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``…), never from the URL.

A file is stored under the SHA-256 of its content, so storing the same bytes twice
keeps one copy and a key can never point to different content. Keys look like
``logos/3f9c….png``. Files are always served through the application (`send`), so the
guarded routes keep their checks and a personal document never leaves through a
shareable link (docs/decisions/0016-file-storage.md).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from flask import Flask, Response, current_app, send_file

from app.core.errors import NotFound

KEY_PATTERN = re.compile(r"[a-z]+/(?P<digest>[0-9a-f]{64})\.[a-z0-9]{2,5}")
MIMETYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "csv": "text/csv",
    "json": "application/json",
}
S3_OPTIONS = ("endpoint_url", "region", "addressing_style")


class StorageUnavailable(Exception):
    """The storage cannot be reached or written to; the message says why."""


class Storage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...

    def read(self, key: str) -> bytes:
        """The content of `key`; NotFound when there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove `key`; nothing happens when there is none."""
        ...

    def check(self) -> None:
        """Raise StorageUnavailable unless files can be stored and read now."""
        ...


class LocalStorage:
    """A directory of this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, key: str, data: bytes) -> None:
        """Written to a temporary file then renamed, so a reader never sees half a file."""
        path = self.root / key
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)

    def read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise NotFound("Fichier introuvable.") from None

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(f"{self.root} : {error.strerror}") from error
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"{self.root} : écriture refusée")


class S3Storage:
    """A bucket of S3-compatible object storage, under an optional prefix."""

    def __init__(self, bucket: str, prefix: str, options: dict[str, str]) -> None:
        import boto3  # only deployments that use S3 pay for importing it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        config = Config(
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": options.get("addressing_style", "auto")},
        )
        # A client is safe to share between threads; one per application.
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=options.get("endpoint_url"),
            region_name=options.get("region"),
            config=config,
        )

    def save(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType=mimetype_of(key)
        )

    def read(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise NotFound("Fichier introuvable.") from None
            raise
        return bytes(answer["Body"].read())

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            raise StorageUnavailable(f"s3://{self.bucket} : erreur {code}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"s3://{self.bucket} : {error}") from error


def open_storage(url: str) -> Storage:
    """The storage `url` names; a clear error for anything else."""
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        options = dict(parse_qsl(parts.query))
        unknown = sorted(set(options) - set(S3_OPTIONS))
        if unknown:
            raise ValueError(
                f"STORAGE_URL : option inconnue {', '.join(unknown)} "
                f"(attendu : {', '.join(S3_OPTIONS)})"
            )
        return S3Storage(parts.netloc, parts.path.strip("/"), options)
    raise ValueError(
        f"STORAGE_URL non reconnue : {url!r} (attendu : file:///chemin ou "
        "s3://bucket/prefixe?endpoint_url=…&region=…)"
    )


def mimetype_of(key: str) -> str:
    return MIMETYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def init_app(app: Flask) -> None:
    app.extensions["storage"] = open_storage(app.config["STORAGE_URL"])


def _storage() -> Storage:
    storage: Storage = current_app.extensions["storage"]
    return storage


def _checked(key: str) -> re.Match[str]:
    match = KEY_PATTERN.fullmatch(key)
    if match is None:
        raise NotFound("Fichier introuvable.")
    return match


def save(namespace: str, data: bytes, extension: str) -> str:
    """Store `data` and return its key."""
    key = f"{namespace}/{hashlib.sha256(data).hexdigest()}.{extension}"
    _storage().save(key, data)
    return key


def read(key: str) -> bytes:
    """The content of a stored key; NotFound when the key is malformed or the file missing."""
    _checked(key)
    return _storage().read(key)


def exists(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None and _storage().exists(key)


def delete(key: str) -> None:
    """Remove a stored key (a file nothing refers to any more); a missing one is no error.
    A key is its content's digest: only delete one that no row names."""
    _checked(key)
    _storage().delete(key)


def check() -> None:
    """Raise StorageUnavailable unless files can be stored and read now (for /readyz)."""
    _storage().check()


def send(key: str, *, download_name: str | None = None, max_age: int = 0) -> Response:
    """A stored file as a response: a download named `download_name` (receipts,
    statements), or shown in the page (logos, screenshots). Its digest is its ETag."""
    return send_file(
        io.BytesIO(read(key)),
        mimetype=mimetype_of(key),
        as_attachment=download_name is not None,
        download_name=download_name,
        etag=_checked(key)["digest"],
        max_age=max_age,
    )
