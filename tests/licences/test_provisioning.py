"""Provisioning licences through their channel, driven by the jobs outbox.

The webhook channel calls a real HTTP server on 127.0.0.1 standing in for the vendor: it
answers what each test queues, records every request, and checks the signature the way a
vendor does (`signing.verify`), refusing an unsigned or badly signed call with a 401.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.budgets.models import School
from app.budgets.services import ensure_school_year
from app.core import jobs
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.licences import channels, services, signing
from app.licences.models import ActivationCode, Licence, LicenceStatus
from app.products.models import Channel, PlanKind, Product
from app.vendors.models import Vendor
from catalog import conduct
from tests import factories
from tests.conftest import requires_postgres

YEAR = "2026-2027"
SECRET = "whsec-test-0123456789abcdef"
ACCESS_URL = "https://vendeur.example/acces/42"


# --- a vendor's server ------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    verified: bool

    def json(self) -> dict[str, Any]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


@dataclass
class FakeVendorServer:
    """Answers the queued `(status, JSON or None)` in order, then 200 with ACCESS_URL."""

    secret: str = SECRET
    replies: list[tuple[int, dict[str, Any] | None]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                header = self.headers.get(signing.SIGNATURE_HEADER)
                verified = signing.verify(server.secret, header, body)
                headers = {name.lower(): value for name, value in self.headers.items()}
                server.received.append(Received(self.path, headers, body, verified))
                if not verified:
                    status, reply = 401, {"message": "Signature invalide"}
                elif server.replies:
                    status, reply = server.replies.pop(0)
                else:
                    status, reply = 200, {"access_url": ACCESS_URL}
                data = b"" if reply is None else json.dumps(reply).encode()
                time.sleep(server.delay)
                try:
                    self.send_response(status)
                    if reply is not None:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller gave up waiting (timeout)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host!s}:{port}/licences"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def vendor_server() -> Iterator[FakeVendorServer]:
    server = FakeVendorServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def quick_retries(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries at once, three attempts, a short timeout; the app's settings restored after."""
    monkeypatch.setitem(app.config, "JOBS_BACKOFF_SECONDS", 0)
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 5)


# --- data -------------------------------------------------------------------------------------


def webhook_vendor(url: str, secret: str = SECRET) -> Vendor:
    return factories.VendorFactory(provisioning_url=url, webhook_secret=secret)


def webhook_product(vendor: Vendor, teacher_data: list[str] | None = None) -> Product:
    declaration = conduct.sample_declaration()
    if teacher_data is not None:
        declaration["teacher_data"] = teacher_data
    return factories.product(vendor, channel=Channel.WEBHOOK, declaration=declaration)


def buy(product: Product, teacher: User | None = None, school: School | None = None) -> Licence:
    """A teacher's licence of the product, its provisioning job queued (not yet run)."""
    ensure_school_year(YEAR)
    school = school or factories.SchoolFactory()
    teacher = teacher or factories.teacher(school)
    version = product.listed
    assert version is not None
    plan = version.plan(PlanKind.TEACHER)
    assert plan is not None
    return services.create_licence(
        version=version,
        plan=plan,
        teacher=teacher,
        school=school,
        seats=1,
        school_year_code=YEAR,
        valid_from=date(2026, 9, 1),
    )


def provision_job(licence: Licence) -> Job:
    job = db.session.scalar(sa.select(Job).where(Job.key == f"provision:licence:{licence.id}"))
    assert job is not None
    return job


def reloaded(licence: Licence) -> Licence:
    db.session.expire_all()
    found = db.session.get(Licence, licence.id)
    assert found is not None
    return found


# --- webhook: the vendor's answers ------------------------------------------------------------


def test_the_licence_is_provisioned_through_a_queued_job(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))

    assert licence.status is LicenceStatus.PENDING
    assert provision_job(licence).status is JobStatus.QUEUED
    assert vendor_server.received == []  # nothing sent before the transaction commits

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 1

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.ACTIVE
    assert licence.access_url == ACCESS_URL
    assert licence.activated_at is not None
    assert provision_job(licence).status is JobStatus.DONE
    assert len(vendor_server.received) == 1
    assert vendor_server.received[0].path == "/licences"


def test_a_vendor_down_is_retried_then_the_licence_fails_with_a_reason(
    session: Session, closed_port: int, vendor_server: FakeVendorServer
) -> None:
    vendor = webhook_vendor(f"http://127.0.0.1:{closed_port}/licences")
    licence = buy(webhook_product(vendor))

    # three attempts, no wait between them here
    assert jobs.work(once=True, kinds=[services.PROVISION]) == 3

    job = provision_job(licence)
    assert (job.status, job.attempts) == (JobStatus.DEAD, 3)
    assert job.last_error == "Serveur de l'éditeur injoignable : ConnectionError"
    assert job in jobs.dead_jobs()
    licence = reloaded(licence)
    assert licence.status is LicenceStatus.FAILED
    assert licence.status_reason == (
        "La livraison a échoué après plusieurs tentatives "
        "(Serveur de l'éditeur injoignable : ConnectionError)"
    )

    # The vendor's server is back: retrying the licence provisions it.
    vendor.provisioning_url = vendor_server.url
    services.retry(None, licence)
    assert licence.status is LicenceStatus.PENDING
    assert jobs.work(once=True, kinds=[services.PROVISION]) == 1
    assert reloaded(licence).status is LicenceStatus.ACTIVE


@pytest.mark.parametrize("error_status", [500, 503, 429])
def test_a_server_error_is_retried_with_the_same_idempotency_key(
    session: Session, vendor_server: FakeVendorServer, error_status: int
) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))
    vendor_server.replies = [
        (error_status, {"message": "Réessayez"}),
        (200, {"access_url": ACCESS_URL}),
    ]

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 2

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.ACTIVE
    assert licence.access_url == ACCESS_URL
    job = provision_job(licence)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    first, second = vendor_server.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.headers["idempotency-key"] == f"licence-{licence.id}"
    assert first.body == second.body
    assert first.verified
    assert second.verified


def test_a_vendor_too_slow_to_answer_is_retried(
    session: Session, vendor_server: FakeVendorServer, app: Flask
) -> None:
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.2  # quick_retries restores it
    vendor_server.delay = 0.5
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 3

    job = provision_job(licence)
    assert (job.status, job.last_error) == (
        JobStatus.DEAD,
        "Serveur de l'éditeur injoignable : ReadTimeout",
    )
    assert len(vendor_server.received) == 3
    assert reloaded(licence).status is LicenceStatus.FAILED


def test_a_redirect_is_not_followed(session: Session, vendor_server: FakeVendorServer) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))
    vendor_server.replies = [(302, None)]

    jobs.work(once=True, kinds=[services.PROVISION])

    licence = reloaded(licence)
    assert (licence.status, licence.status_reason) == (
        LicenceStatus.FAILED,
        "Redirection refusée (302).",
    )
    assert len(vendor_server.received) == 1


@pytest.mark.parametrize(
    "access_url", ["javascript:alert(document.cookie)", "http://vendeur.example/acces"]
)
def test_only_an_https_access_url_is_kept(
    session: Session, vendor_server: FakeVendorServer, access_url: str
) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))
    vendor_server.replies = [(200, {"access_url": access_url})]

    jobs.work(once=True, kinds=[services.PROVISION])

    licence = reloaded(licence)
    assert licence.access_url is None or licence.access_url.startswith("https://")


def test_a_refusal_fails_the_licence_with_the_vendor_s_message_without_retry(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))
    vendor_server.replies = [(422, {"message": "Établissement inconnu"})]

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 1

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.FAILED
    assert licence.status_reason == "Établissement inconnu"
    job = provision_job(licence)
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)
    assert len(vendor_server.received) == 1


@pytest.mark.parametrize("reply", [None, {}], ids=["empty body", "empty object"])
def test_accepted_without_access_leaves_the_licence_pending_with_a_reason(
    session: Session, vendor_server: FakeVendorServer, reply: dict[str, Any] | None
) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))
    vendor_server.replies = [(202, reply)]

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 1

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.PENDING
    assert licence.status_reason == "L'éditeur prépare l'accès et le confirmera."
    assert provision_job(licence).status is JobStatus.DONE
    assert len(vendor_server.received) == 1


def test_an_external_id_alone_activates_the_licence(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url)))
    vendor_server.replies = [(201, {"external_id": "ABO-77"})]

    jobs.work(once=True, kinds=[services.PROVISION])

    licence = reloaded(licence)
    assert (licence.status, licence.external_id) == (LicenceStatus.ACTIVE, "ABO-77")


# --- webhook: the signature -------------------------------------------------------------------


def test_the_call_is_signed_and_the_signature_is_really_checked(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    buy(webhook_product(webhook_vendor(vendor_server.url)))
    jobs.work(once=True, kinds=[services.PROVISION])
    (call,) = vendor_server.received
    header = call.headers[signing.SIGNATURE_HEADER.lower()]
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header)
    assert match is not None, header
    signed_at = int(match[1])
    assert abs(time.time() - signed_at) < 60
    assert call.headers["content-type"] == "application/json"

    # The real call verifies…
    assert call.verified
    assert signing.verify(SECRET, header, call.body)
    # …and nothing else does: a changed body, another secret, a stale or future timestamp.
    tampered = call.body.replace(b'"seats":1', b'"seats":9')
    assert tampered != call.body
    assert not signing.verify(SECRET, header, tampered)
    assert not signing.verify(SECRET, header, call.body + b" ")
    assert not signing.verify("another-secret", header, call.body)
    assert not signing.verify(SECRET, header, call.body, now=signed_at + 301)
    assert not signing.verify(SECRET, header, call.body, now=signed_at - 301)
    stale = signing.signature_header(SECRET, call.body, timestamp=int(time.time()) - 301)
    assert not signing.verify(SECRET, stale, call.body)
    replayed_later = f"t={signed_at + 1},v1={match[2]}"  # its signature, another timestamp
    assert not signing.verify(SECRET, replayed_later, call.body)
    for broken in (None, "", "v1=" + match[2], f"t=abc,v1={match[2]}", "garbage"):
        assert not signing.verify(SECRET, broken, call.body)


def test_a_call_signed_with_another_secret_is_refused_by_the_vendor(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    licence = buy(webhook_product(webhook_vendor(vendor_server.url, secret="not-the-vendor-s")))

    jobs.work(once=True, kinds=[services.PROVISION])

    assert vendor_server.received[0].verified is False
    licence = reloaded(licence)
    assert licence.status is LicenceStatus.FAILED
    assert licence.status_reason == "Signature invalide"


def test_a_vendor_without_a_provisioning_url_is_waited_for(session: Session) -> None:
    licence = buy(webhook_product(factories.VendorFactory()))

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 3

    job = provision_job(licence)
    assert job.status is JobStatus.DEAD
    assert job.last_error == "L'éditeur n'a pas encore configuré son adresse de livraison."
    assert reloaded(licence).status is LicenceStatus.FAILED


# --- webhook: personal data -------------------------------------------------------------------


def test_the_body_holds_the_pseudonym_not_the_email_when_not_declared(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    school = factories.SchoolFactory()
    teacher = factories.teacher(school, email="claire.martin@ac-paris.fr", name="Claire Martin")
    product = webhook_product(webhook_vendor(vendor_server.url), teacher_data=["usage"])
    licence = buy(product, teacher, school)

    jobs.work(once=True, kinds=[services.PROVISION])

    (call,) = vendor_server.received
    body = call.json()
    assert body["teacher"] == {"id": channels.teacher_pseudonym(licence)}
    assert re.fullmatch(r"[0-9a-f]{32}", body["teacher"]["id"])
    assert b"claire.martin" not in call.body
    assert b"Claire" not in call.body
    assert body["licence_id"] == licence.id
    assert body["school_uai"] == school.uai
    assert body["plan"] == "teacher"
    assert (body["valid_from"], body["valid_until"]) == ("2026-09-01", "2027-08-31")


def test_the_email_is_sent_when_the_declaration_lists_it(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    school = factories.SchoolFactory()
    teacher = factories.teacher(school, email="claire.martin@ac-paris.fr", name="Claire Martin")
    product = webhook_product(webhook_vendor(vendor_server.url), teacher_data=["email", "usage"])
    licence = buy(product, teacher, school)

    jobs.work(once=True, kinds=[services.PROVISION])

    teacher_data = vendor_server.received[0].json()["teacher"]
    assert teacher_data == {
        "id": channels.teacher_pseudonym(licence),
        "email": "claire.martin@ac-paris.fr",
    }


def test_the_pseudonym_is_stable_for_a_vendor_and_differs_between_vendors(
    session: Session, vendor_server: FakeVendorServer
) -> None:
    school = factories.SchoolFactory()
    teacher = factories.teacher(school)
    first_vendor = webhook_vendor(vendor_server.url)
    second_vendor = webhook_vendor(vendor_server.url)
    licences = [
        buy(webhook_product(first_vendor), teacher, school),
        buy(webhook_product(first_vendor), teacher, school),
        buy(webhook_product(second_vendor), teacher, school),
    ]

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 3

    by_licence = {
        call.json()["licence_id"]: call.json()["teacher"]["id"] for call in vendor_server.received
    }
    same_vendor_a, same_vendor_b, other_vendor = (by_licence[lic.id] for lic in licences)
    assert same_vendor_a == same_vendor_b
    assert other_vendor != same_vendor_a
    assert str(teacher.id) not in {same_vendor_a, other_vendor}


# --- codes ------------------------------------------------------------------------------------


def codes_product() -> Product:
    return factories.product(factories.VendorFactory(), channel=Channel.CODES)


def test_without_codes_the_licence_waits_with_a_reason(session: Session) -> None:
    licence = buy(codes_product())

    assert jobs.work(once=True, kinds=[services.PROVISION]) == 1

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.PENDING
    assert licence.status_reason == (
        "Plus aucun code d'activation disponible : l'éditeur a été prévenu."
    )
    assert licence.activation_code is None
    assert provision_job(licence).status is JobStatus.DONE


def test_uploaded_codes_go_to_the_waiting_licences(session: Session) -> None:
    product = codes_product()
    waiting = [buy(product) for _ in range(3)]
    jobs.work(once=True, kinds=[services.PROVISION])

    assert services.upload_codes(None, product, PlanKind.TEACHER, ["CODE-A", "CODE-B"]) == 2
    assert jobs.work(once=True, kinds=[services.PROVISION]) == 3  # one new job per waiting licence

    licences = [reloaded(licence) for licence in waiting]
    active = [lic for lic in licences if lic.status is LicenceStatus.ACTIVE]
    assert sorted(lic.activation_code or "" for lic in active) == ["CODE-A", "CODE-B"]
    assert all(lic.access_url == "https://ressource.example/fractions" for lic in active)
    (still_waiting,) = [lic for lic in licences if lic.status is LicenceStatus.PENDING]
    assert still_waiting.activation_code is None

    # More codes: the last one gets its code too.
    services.upload_codes(None, product, PlanKind.TEACHER, ["CODE-C"])
    jobs.work(once=True, kinds=[services.PROVISION])
    assert reloaded(still_waiting).activation_code == "CODE-C"


def test_a_licence_with_a_code_keeps_it_when_provisioned_again(session: Session) -> None:
    product = codes_product()
    services.upload_codes(None, product, PlanKind.TEACHER, ["CODE-A", "CODE-B"])
    licence = buy(product)
    jobs.work(once=True, kinds=[services.PROVISION])
    assert reloaded(licence).activation_code == "CODE-A"

    licence = reloaded(licence)
    licence.status = LicenceStatus.PENDING  # e.g. the job ran again after a crash
    jobs.enqueue(services.PROVISION, {"licence_id": licence.id}, key="test:again")
    jobs.work(once=True, kinds=[services.PROVISION])

    assert reloaded(licence).activation_code == "CODE-A"
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(ActivationCode.licence_id.is_(None)))
        == 1
    )


def store_code(product: Product, code: str, licence_id: int | None) -> None:
    db.session.add(
        ActivationCode(
            product_id=product.id, plan_kind=PlanKind.TEACHER, code=code, licence_id=licence_id
        )
    )
    db.session.flush()


def test_the_database_refuses_a_code_twice(session: Session) -> None:
    product = codes_product()
    services.upload_codes(None, product, PlanKind.TEACHER, ["CODE-A", "CODE-B"])
    first, second = buy(product), buy(product)
    jobs.work(once=True, kinds=[services.PROVISION])
    first, second = reloaded(first), reloaded(second)
    assert {first.activation_code, second.activation_code} == {"CODE-A", "CODE-B"}

    # The same code stored a second time for the product (then handed to another licence).
    with pytest.raises(IntegrityError), db.session.begin_nested():
        store_code(product, "CODE-A", licence_id=None)
    # A second code given to a licence that already holds one.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        store_code(product, "CODE-Z", licence_id=first.id)
    # A code already given, given again.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            sa.update(ActivationCode)
            .where(ActivationCode.code == "CODE-B")
            .values(licence_id=first.id)
        )

    assert {reloaded(first).activation_code, reloaded(second).activation_code} == {
        "CODE-A",
        "CODE-B",
    }


@requires_postgres
@pytest.mark.committed
def test_two_workers_at_once_never_give_the_same_code_twice(committed: Flask) -> None:
    with committed.app_context():
        product = codes_product()
        services.upload_codes(None, product, PlanKind.TEACHER, [f"CODE-{n:02d}" for n in range(20)])
        licence_ids = [buy(product).id for _ in range(30)]
        db.session.commit()

    barrier = threading.Barrier(2, timeout=30)

    def worker() -> int:
        with committed.app_context():
            barrier.wait()
            return jobs.work(once=True, kinds=[services.PROVISION])

    with ThreadPoolExecutor(max_workers=2) as pool:
        ran = [future.result(timeout=60) for future in [pool.submit(worker) for _ in range(2)]]

    assert sum(ran) == 30
    with committed.app_context():
        licences = db.session.scalars(sa.select(Licence).where(Licence.id.in_(licence_ids))).all()
        codes = [lic.activation_code for lic in licences if lic.activation_code]
        assert len(codes) == 20
        assert len(set(codes)) == 20
        statuses = sorted(lic.status.value for lic in licences)
        assert statuses == ["active"] * 20 + ["pending"] * 10
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Job)
                .where(Job.kind == services.PROVISION, Job.status != JobStatus.DONE)
            )
            == 0
        )
