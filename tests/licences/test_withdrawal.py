"""A revoked (cancelled) licence is withdrawn at its channel by a job of the outbox: a
signed `licence.revoked` call to the vendor's server (same signature and idempotency as
provisioning), nothing to call for an activation code. The GAR subscription's deletion is
in test_gar_channel.py, against the GAR stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.core import jobs
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.licences import services, signing
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


# --- signature -------------------------------------------------------------------------------


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
