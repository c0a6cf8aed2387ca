"""The vendor's webhook settings (issue 14, point 13): outside development only public
Internet addresses are accepted, checked when the URL is saved and again at each call
(against DNS rebinding, the call going to the address checked); the signing secret is
shown once, then only its last 4 characters, with a « Régénérer le secret » action."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.core import audit, jobs
from app.core.jobs import JobStatus
from app.licences import targets
from app.licences.models import LicenceStatus
from app.licences.services import PROVISION
from app.vendors.models import Vendor
from config import DevelopmentConfig, ProductionConfig, TestConfig
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.licences.test_provisioning import (
    SECRET,
    FakeVendorServer,
    buy,
    provision_job,
    quick_retries,  # noqa: F401 - autouse: quick retries here too
    reloaded,
    webhook_product,
)

PUBLIC = ipaddress.ip_address("93.184.215.14")


@pytest.fixture
def production(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Local targets refused, as in production."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_LOCAL_TARGETS", False)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver the test fills in: name → addresses (literals resolve to themselves)."""
    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[targets.IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(targets, "resolve", resolve)
    return answers


@pytest.fixture
def vendor_server() -> Iterator[FakeVendorServer]:
    server = FakeVendorServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vendor(session: Session) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions Lumière SAS")


@pytest.fixture
def member(vendor: Vendor, auth: AuthActions) -> None:
    auth.login(factories.vendor_member(vendor).email)


def save(client: FlaskClient, vendor: Vendor, url: str) -> object:
    return client.post(
        f"/editeur/{vendor.id}/livraison", data={"provisioning_url": url, "action": "save"}
    )


def test_local_targets_are_allowed_only_in_development_and_tests() -> None:
    assert ProductionConfig.WEBHOOK_ALLOW_LOCAL_TARGETS is False
    assert DevelopmentConfig.WEBHOOK_ALLOW_LOCAL_TARGETS is True
    assert TestConfig.WEBHOOK_ALLOW_LOCAL_TARGETS is True


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://127.0.0.1:9", "une adresse de bouclage (loopback)"),
        ("https://[::1]/licences", "une adresse de bouclage (loopback)"),
        ("https://[::ffff:127.0.0.1]/licences", "une adresse de bouclage (loopback)"),
        ("https://10.0.0.7/licences", "une adresse de réseau privé"),
        ("https://192.168.1.20/licences", "une adresse de réseau privé"),
        ("https://169.254.169.254/latest", "une adresse locale au lien (link-local)"),
        ("https://224.0.0.251/licences", "une adresse de multidiffusion (multicast)"),
        ("https://0.0.0.0/licences", "une adresse réservée"),
        ("https://240.0.0.1/licences", "une adresse réservée"),
        ("https://100.64.0.1/licences", "une adresse réservée"),
    ],
)
def test_a_url_leading_inside_is_refused_when_saved(
    client: FlaskClient, vendor: Vendor, member: None, production: None, url: str, kind: str
) -> None:
    response = save(client, vendor, url)

    assert response.status_code == 422
    assert kind in page_text(response)
    assert vendor.provisioning_url is None


def test_a_name_resolving_inside_is_refused_when_saved(
    client: FlaskClient,
    vendor: Vendor,
    member: None,
    production: None,
    dns: dict[str, list[str]],
) -> None:
    dns["api.lumiere.example"] = [str(PUBLIC), "10.1.2.3"]  # one private address is enough

    response = save(client, vendor, "https://api.lumiere.example/licences")

    assert response.status_code == 422
    assert "api.lumiere.example (10.1.2.3) est une adresse de réseau privé" in page_text(response)
    assert vendor.provisioning_url is None


def test_a_public_name_is_accepted_and_the_secret_shown_once(
    client: FlaskClient,
    vendor: Vendor,
    member: None,
    production: None,
    dns: dict[str, list[str]],
) -> None:
    dns["api.lumiere.example"] = [str(PUBLIC)]

    response = save(client, vendor, "https://api.lumiere.example/licences")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert vendor.provisioning_url == "https://api.lumiere.example/licences"
    secret = vendor.webhook_secret
    assert secret is not None
    assert "Copiez ce secret de signature maintenant" in page_text(response)
    assert secret in page_text(response)

    later = page_text(client.get(f"/editeur/{vendor.id}/livraison"))
    assert secret not in later
    assert f"se termine par « {secret[-4:]} »" in later
    assert "Régénérer le secret" in later

    saved_again = save(client, vendor, "https://api.lumiere.example/v2/licences")
    assert saved_again.status_code == 302  # the same secret: nothing to show
    assert vendor.webhook_secret == secret


def test_regenerating_shows_the_new_secret_once(
    client: FlaskClient, vendor: Vendor, member: None
) -> None:
    vendor.webhook_secret = SECRET
    url = f"/editeur/{vendor.id}/livraison"

    response = client.post(url, data={"provisioning_url": "", "action": "rotate"})

    new = vendor.webhook_secret
    assert new is not None
    assert new != SECRET
    assert new in page_text(response)
    assert new not in page_text(client.get(url))
    actions = [e.action for e in audit.history("vendor", vendor.id)]
    assert "vendor.webhook_secret_rotated" in actions


def test_development_and_tests_accept_local_targets(
    client: FlaskClient, vendor: Vendor, member: None
) -> None:
    response = save(client, vendor, "https://127.0.0.1:8443/licences")
    assert response.status_code == 200
    assert vendor.provisioning_url == "https://127.0.0.1:8443/licences"


def test_a_name_rebound_inside_after_saving_is_refused_at_call_time(
    session: Session, production: None, dns: dict[str, list[str]]
) -> None:
    dns["api.lumiere.example"] = [str(PUBLIC)]
    vendor = factories.VendorFactory(webhook_secret=SECRET)
    vendor.provisioning_url = "https://api.lumiere.example/licences"  # public when saved
    licence = buy(webhook_product(vendor))
    dns["api.lumiere.example"] = ["127.0.0.1"]  # rebound before the call

    assert jobs.work(once=True, kinds=[PROVISION]) == 1

    job = provision_job(licence)
    assert job.status is JobStatus.DEAD
    assert job.attempts == 1, "refused at once, never retried"
    assert job.last_error == (
        "Appel à l'éditeur refusé : api.lumiere.example (127.0.0.1) est une adresse de "
        "bouclage (loopback) : seules les adresses publiques d'Internet sont appelées."
    )
    assert reloaded(licence).status is LicenceStatus.FAILED


def test_a_literal_local_address_is_refused_at_call_time(
    session: Session, production: None, vendor_server: FakeVendorServer
) -> None:
    vendor = factories.VendorFactory(provisioning_url=vendor_server.url, webhook_secret=SECRET)
    licence = buy(webhook_product(vendor))

    assert jobs.work(once=True, kinds=[PROVISION]) == 1

    assert vendor_server.received == [], "nothing reached the local server"
    assert provision_job(licence).status is JobStatus.DEAD
    assert "127.0.0.1 est une adresse de bouclage" in (provision_job(licence).last_error or "")


def test_the_call_goes_to_the_address_checked_under_the_url_s_name(
    session: Session, vendor_server: FakeVendorServer, dns: dict[str, list[str]]
) -> None:
    """The name is resolved once, by our check, and the connection pinned to that address:
    requests never resolves it again (a rebinding answer would not be used)."""
    port = int(re.findall(r":(\d+)/", vendor_server.url)[0])
    dns["vendeur.test"] = ["127.0.0.1"]  # allowed here: tests allow local targets
    vendor = factories.VendorFactory(
        provisioning_url=f"http://vendeur.test:{port}/licences", webhook_secret=SECRET
    )
    licence = buy(webhook_product(vendor))

    assert jobs.work(once=True, kinds=[PROVISION]) == 1

    assert reloaded(licence).status is LicenceStatus.ACTIVE
    (received,) = vendor_server.received
    assert received.headers["host"] == f"vendeur.test:{port}"
    assert received.verified
