"""A revoked (cancelled) licence is withdrawn at its channel by a job of the outbox: a
signed `licence.revoked` call to the vendor's server (same signature and idempotency as
provisioning), the GAR subscription deleted, nothing to call for an activation code."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.core import jobs
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.licences import gar, services, signing
from app.licences.models import Licence, LicenceStatus
from app.products.models import Channel
from tests import factories
from tests.licences.test_provisioning import (
    FakeVendorServer,
    buy,
    reloaded,
    webhook_product,
    webhook_vendor,
)


@pytest.fixture(autouse=True)
def quick_retries(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "JOBS_BACKOFF_SECONDS", 0)
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 5)


@pytest.fixture
def vendor_server() -> Iterator[FakeVendorServer]:
    server = FakeVendorServer()
    try:
        yield server
    finally:
        server.stop()


def withdrawal_job(licence: Licence) -> Job | None:
    return db.session.scalar(sa.select(Job).where(Job.key == f"withdraw:licence:{licence.id}"))


def active(licence: Licence) -> Licence:
    """The licence provisioned through its job."""
    assert jobs.work(once=True) >= 1
    licence = reloaded(licence)
    assert licence.status is LicenceStatus.ACTIVE
    return licence


# --- webhook ----------------------------------------------------------------------------------


def test_the_vendor_is_told_of_the_revocation_by_a_signed_call(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = active(buy(webhook_product(webhook_vendor(vendor_server.url))))

    services.revoke(None, licence, "Commande annulée par l'enseignant.")

    job = withdrawal_job(licence)
    assert job is not None
    assert job.status is JobStatus.QUEUED
    assert len(vendor_server.received) == 1  # only the provisioning: nothing before commit

    assert jobs.work(once=True) == 1

    provisioning, revocation = vendor_server.received
    assert revocation.verified  # signed as provisioning is, and checked by the vendor
    assert revocation.path == provisioning.path
    assert revocation.headers["idempotency-key"] == f"licence-{licence.id}-revoked"
    assert revocation.headers["x-cr-event"] == "licence.revoked"
    assert provisioning.headers["x-cr-event"] == "licence.created"
    body = revocation.json()
    assert body["event"] == "licence.revoked"
    assert body["licence_id"] == licence.id
    # the same pseudonym, and nothing more about the teacher
    assert body["teacher"] == {"id": provisioning.json()["teacher"]["id"]}
    assert withdrawal_job(licence).status is JobStatus.DONE  # type: ignore[union-attr]

    services.revoke(None, reloaded(licence), "Encore.")  # revoked already: nothing more
    assert jobs.work(once=True) == 0
    assert len(vendor_server.received) == 2


def test_a_vendor_down_is_told_again_with_the_same_key(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = active(buy(webhook_product(webhook_vendor(vendor_server.url))))
    vendor_server.replies = [(503, None), (200, {})]

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    calls = vendor_server.received[1:]
    assert len(calls) == 2
    assert {call.headers["idempotency-key"] for call in calls} == {f"licence-{licence.id}-revoked"}
    assert withdrawal_job(licence).status is JobStatus.DONE  # type: ignore[union-attr]


def test_a_licence_the_vendor_does_not_know_is_withdrawn_all_the_same(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = active(buy(webhook_product(webhook_vendor(vendor_server.url))))
    vendor_server.replies = [(404, {"message": "Licence inconnue"})]

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    assert withdrawal_job(licence).status is JobStatus.DONE  # type: ignore[union-attr]


def test_a_vendor_refusing_the_withdrawal_leaves_a_dead_job_for_the_admins(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = active(buy(webhook_product(webhook_vendor(vendor_server.url))))
    vendor_server.replies = [(400, {"message": "Retrait impossible"})]

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    job = withdrawal_job(licence)
    assert job is not None
    assert job.status is JobStatus.DEAD
    assert job.last_error == (
        "L'éditeur a refusé le retrait de la licence (400) : Retrait impossible"
    )
    assert jobs.describe(job) == f"Retrait de la licence n°{licence.id} chez l'éditeur ou au GAR"


# --- codes ------------------------------------------------------------------------------------


def test_a_code_needs_no_call(session: Session) -> None:
    product = factories.product(channel=Channel.CODES)
    licence = buy(product)

    services.revoke(None, licence, "Commande annulée par l'enseignant.")

    assert withdrawal_job(licence) is None


# --- GAR --------------------------------------------------------------------------------------


@dataclass
class FakeGar:
    """Answers PUT 201 and DELETE with the queued statuses (then 204); records the calls."""

    deletes: list[int] = field(default_factory=list)
    received: list[tuple[str, str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        gar_server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_PUT(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                gar_server.received.append(("PUT", self.path, body))
                self._answer(201)

            def do_DELETE(self) -> None:  # noqa: N802 - the http.server name
                gar_server.received.append(("DELETE", self.path, b""))
                self._answer(gar_server.deletes.pop(0) if gar_server.deletes else 204)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host!s}:{port}/abonnements"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def gar_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGar]:
    server = FakeGar()
    monkeypatch.setitem(app.config, "GAR_BASE_URL", server.url)
    monkeypatch.setitem(app.config, "GAR_DISTRIBUTOR_ID", "123456789_0000000000000000")
    try:
        yield server
    finally:
        server.stop()


def gar_licence() -> Licence:
    return buy(factories.product(channel=Channel.GAR, gar_resource_id="ark:/12345/r1"))


@pytest.mark.parametrize("status", [204, 200, 404])
def test_the_gar_subscription_is_deleted_once(
    session: Session, gar_server: FakeGar, status: int
) -> None:
    licence = active(gar_licence())
    assert licence.external_id == gar.subscription_id(licence.id)
    gar_server.deletes = [status]

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)
    jobs.work(once=True)

    assert [(method, path) for method, path, _body in gar_server.received] == [
        ("PUT", f"/abonnements/CR-{licence.id}"),
        ("DELETE", f"/abonnements/CR-{licence.id}"),
    ]
    assert withdrawal_job(licence).status is JobStatus.DONE  # type: ignore[union-attr]


def test_a_gar_error_is_retried(session: Session, gar_server: FakeGar) -> None:
    licence = active(gar_licence())
    gar_server.deletes = [500, 503]

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    deletes = [path for method, path, _body in gar_server.received if method == "DELETE"]
    assert deletes == [f"/abonnements/CR-{licence.id}"] * 3
    assert withdrawal_job(licence).status is JobStatus.DONE  # type: ignore[union-attr]


def test_the_delete_request_checks_the_identifier() -> None:
    url, headers = gar.delete_request("https://gar.example/abonnements/", "CR-42")
    assert url == "https://gar.example/abonnements/CR-42"
    assert "Content-Type" not in headers

    for wrong in ("", "_CR-42", "abonnements", "a b", "x" * 46):
        with pytest.raises(gar.InvalidSubscription):
            gar.delete_request("https://gar.example/abonnements", wrong)


def test_the_signature_of_the_revocation_is_the_provisioning_one(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    vendor_server.secret = "s3cret"
    licence = active(buy(webhook_product(webhook_vendor(vendor_server.url, secret="s3cret"))))
    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    call = vendor_server.received[-1]
    assert signing.verify("s3cret", call.headers[signing.SIGNATURE_HEADER.lower()], call.body)
    assert not signing.verify("autre", call.headers[signing.SIGNATURE_HEADER.lower()], call.body)
