"""The GAR channel over HTTP, against the application's own GAR stand-in
(``demo_peers.py``) served on 127.0.0.1: it answers as the GAR's subscription web service
does (``PUT`` creates, ``409`` « existe déjà » for an identifier it holds, ``POST`` updates
without ``uaiEtab``, ``DELETE`` ends, ``404`` for an unknown one), and can be asked for a
fault or a late answer."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import create_app
from app.core import jobs
from app.core.errors import DomainError
from app.core.jobs import Job, JobStatus
from app.extensions import db
from app.licences import gar, services
from app.licences.demo_peers import DemoGar, demo_gar
from app.licences.models import Licence, LicenceStatus
from app.orders import services as orders
from app.orders.models import OrderLineStatus
from app.products.models import Channel, PlanKind, Product
from tests import factories
from tests.licences.test_provisioning import buy, reloaded
from tests.orders.helpers import buy as checkout
from tests.orders.helpers import on_sale, teacher_with_credit

NS = f"{{{gar.NAMESPACE}}}"
UUID_ID = re.compile(r"CR-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def gar_peer_server(app: Flask) -> Iterator[tuple[Flask, str]]:
    """The development application (DEMO_PEERS) serving its GAR stand-in on a free port."""
    peer = create_app(
        "test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], DEMO_PEERS=True
    )
    server = make_server("127.0.0.1", 0, peer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield peer, f"http://127.0.0.1:{server.server_port}/demo/gar/abonnements"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def gar_peer(
    app: Flask, gar_peer_server: tuple[Flask, str], monkeypatch: pytest.MonkeyPatch
) -> DemoGar:
    peer, url = gar_peer_server
    with peer.app_context():
        state = demo_gar()
    state.reset()
    monkeypatch.setitem(app.config, "GAR_BASE_URL", url)
    monkeypatch.setitem(app.config, "GAR_DISTRIBUTOR_ID", "123456789_0000000000000000")
    monkeypatch.setitem(app.config, "JOBS_BACKOFF_SECONDS", 0)
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 5)
    return state


def gar_product(**overrides: object) -> Product:
    return factories.product(channel=Channel.GAR, gar_resource_id="ark:/12345/r1", **overrides)


def job(key: str) -> Job:
    found = db.session.scalar(sa.select(Job).where(Job.key == key))
    assert found is not None
    return found


def publics(document: ET.Element) -> list[str | None]:
    return [element.text for element in document.findall(f"{NS}publicCible")]


# --- creation --------------------------------------------------------------------------------


def test_a_licence_becomes_a_subscription_under_its_own_uuid(
    session: Session, gar_peer: DemoGar
) -> None:
    licence = buy(gar_product())
    subscription_id = licence.gar_subscription_id
    assert subscription_id is not None
    assert UUID_ID.fullmatch(subscription_id)

    jobs.work(once=True)

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.ACTIVE
    assert licence.external_id == subscription_id
    assert gar_peer.calls == [("PUT", subscription_id)]
    document = gar_peer.subscriptions[subscription_id]
    assert document.findtext(f"{NS}uaiEtab") == licence.school.uai
    assert document.findtext(f"{NS}debutValidite") == "2026-09-01T00:00:00"


def test_two_licences_never_share_a_subscription(session: Session, gar_peer: DemoGar) -> None:
    product = gar_product()
    first, second = buy(product), buy(product)

    assert first.gar_subscription_id != second.gar_subscription_id


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("ecole_maternelle", ["ENSEIGNANT", "ELEVE"]),
        ("ecole_elementaire", ["ENSEIGNANT", "ELEVE"]),
        ("ecole_primaire", ["ENSEIGNANT", "ELEVE"]),
        ("college", ["ENSEIGNANT", "ELEVE", "DOCUMENTALISTE"]),
        ("lycee_professionnel", ["ENSEIGNANT", "ELEVE", "DOCUMENTALISTE"]),
    ],
)
def test_a_school_plan_targets_librarians_only_outside_the_first_degree(
    session: Session, gar_peer: DemoGar, kind: str, expected: list[str]
) -> None:
    """RG11, through checkout: a school plan bought for an école has no DOCUMENTALISTE."""
    school = factories.SchoolFactory(kind=kind)
    teacher = teacher_with_credit(school, 100_00)
    order = checkout(teacher, on_sale(channel=Channel.GAR, gar_resource_id="ark:/12345/r1"))
    licence = order.lines[0].licence
    assert licence is not None
    assert licence.plan_kind is PlanKind.SCHOOL

    jobs.work(once=True)

    assert reloaded(licence).status is LicenceStatus.ACTIVE
    document = gar_peer.subscriptions[licence.gar_subscription_id or ""]
    assert document.findtext(f"{NS}typeAffectation") == "ETABL"
    assert publics(document) == expected


def test_a_retried_put_that_finds_the_subscription_updates_it(
    session: Session, gar_peer: DemoGar, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first PUT times out after the GAR created the subscription; the retry gets 409
    « existe déjà », updates with POST, and the licence is active (not failed)."""
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    gar_peer.answer_late("PUT", 2.0)
    licence = buy(gar_product())
    subscription_id = licence.gar_subscription_id or ""

    jobs.work(once=True)

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.ACTIVE, licence.status_reason
    assert gar_peer.calls == [
        ("PUT", subscription_id),
        ("PUT", subscription_id),
        ("POST", subscription_id),
    ]
    assert list(gar_peer.subscriptions) == [subscription_id]
    assert gar_peer.subscriptions[subscription_id].findtext(f"{NS}uaiEtab") == licence.school.uai
    assert job(f"provision:licence:{licence.id}").attempts == 2


def test_a_school_outside_the_gar_gets_no_subscription(session: Session, gar_peer: DemoGar) -> None:
    school = factories.SchoolFactory(uses_gar=False)
    licence = buy(gar_product(), school=school)

    jobs.work(once=True)

    licence = reloaded(licence)
    assert licence.status is LicenceStatus.FAILED
    assert f"L'établissement {school.uai} n'utilise pas le GAR" in (licence.status_reason or "")
    assert gar_peer.calls == []


def test_the_gar_s_resources_are_not_sold_to_a_school_outside_the_gar(session: Session) -> None:
    school = factories.SchoolFactory(uses_gar=False)
    teacher = teacher_with_credit(school, 100_00)
    product = on_sale(channel=Channel.GAR, gar_resource_id="ark:/12345/r1", title="Atlas GAR")
    orders.add_to_cart(teacher, product.id, PlanKind.SCHOOL)

    summary = orders.summary(teacher)
    with pytest.raises(DomainError) as refused:
        orders.checkout(teacher, "key-1")

    assert not summary.ready
    assert "établissement n'utilise pas" in (summary.cart.items[0].problem or "")
    assert (refused.value.status, refused.value.code) == (422, "not_purchasable")
    assert "Atlas GAR" in refused.value.message


# --- withdrawal ---------------------------------------------------------------------------------


def active_gar_licence(gar_peer: DemoGar) -> Licence:
    licence = buy(gar_product())
    jobs.work(once=True)
    licence = reloaded(licence)
    assert licence.status is LicenceStatus.ACTIVE
    gar_peer.calls.clear()
    return licence


def test_a_cancelled_order_line_deletes_the_subscription_once_through_the_outbox(
    session: Session, gar_peer: DemoGar
) -> None:
    school = factories.SchoolFactory(kind="ecole_primaire")
    teacher = teacher_with_credit(school, 100_00)
    order = checkout(teacher, on_sale(channel=Channel.GAR, gar_resource_id="ark:/12345/r1"))
    jobs.work(once=True)
    line = order.lines[0]
    subscription_id = line.licence.gar_subscription_id if line.licence else None
    assert subscription_id in gar_peer.subscriptions

    for _click in range(2):  # a double click, a replay
        orders.cancel_line(teacher, line.id)
        db.session.commit()
        jobs.work(once=True)

    assert line.status is OrderLineStatus.CANCELLED
    assert [call for call in gar_peer.calls if call[0] == "DELETE"] == [("DELETE", subscription_id)]
    assert subscription_id not in gar_peer.subscriptions
    assert subscription_id in gar_peer.deleted
    assert job(f"withdraw:licence:{line.licence.id}").status is JobStatus.DONE  # type: ignore[union-attr]


def test_a_gar_error_on_deletion_is_retried(session: Session, gar_peer: DemoGar) -> None:
    licence = active_gar_licence(gar_peer)
    gar_peer.fail_next("DELETE", 503, "Service indisponible")
    gar_peer.fail_next("DELETE", 500, "Erreur interne")

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    assert gar_peer.calls == [("DELETE", licence.gar_subscription_id)] * 3
    assert job(f"withdraw:licence:{licence.id}").status is JobStatus.DONE


def test_a_refused_deletion_ends_the_subscription_by_an_update(
    session: Session, gar_peer: DemoGar
) -> None:
    licence = active_gar_licence(gar_peer)
    subscription_id = licence.gar_subscription_id or ""
    gar_peer.fail_next("DELETE", 403, "Suppression refusée")

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    assert gar_peer.calls == [("DELETE", subscription_id), ("POST", subscription_id)]
    document = gar_peer.subscriptions[subscription_id]
    revoked_at = reloaded(licence).updated_at.astimezone(gar.PARIS).replace(tzinfo=None)
    assert document.findtext(f"{NS}finValidite") == revoked_at.isoformat(timespec="seconds")
    assert document.findtext(f"{NS}debutValidite") == "2026-09-01T00:00:00"
    assert job(f"withdraw:licence:{licence.id}").status is JobStatus.DONE


def test_a_licence_the_gar_never_had_is_withdrawn_all_the_same(
    session: Session, gar_peer: DemoGar
) -> None:
    licence = buy(gar_product())  # revoked before its provisioning job ran

    services.revoke(None, licence, "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    assert gar_peer.calls == [("DELETE", licence.gar_subscription_id)]
    assert job(f"withdraw:licence:{licence.id}").status is JobStatus.DONE
    assert gar_peer.subscriptions == {}


def test_a_licence_sent_before_uuids_keeps_its_identifier(
    session: Session, gar_peer: DemoGar
) -> None:
    """Licences created before migration 0020 were sent as CR-<id> and keep that id."""
    licence = buy(gar_product())
    licence.gar_subscription_id = f"CR-{licence.id}"
    db.session.flush()
    jobs.work(once=True)

    services.revoke(None, reloaded(licence), "Commande annulée par l'enseignant.")
    jobs.work(once=True)

    assert gar_peer.calls == [("PUT", f"CR-{licence.id}"), ("DELETE", f"CR-{licence.id}")]


def test_the_stand_in_refuses_an_update_that_moves_the_school(
    session: Session, gar_peer: DemoGar, app: Flask
) -> None:
    """The stand-in is strict like the GAR: the update carries no uaiEtab."""
    licence = active_gar_licence(gar_peer)
    sub = gar.for_licence(
        licence_id=licence.id,
        id_abonnement=licence.gar_subscription_id or "",
        ark="ark:/12345/r1",
        title="Ressource",
        uai=licence.school.uai,
        school_kind="college",
        plan_kind="teacher",
        seats=1,
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        distributor_id="123456789_0000000000000000",
    )
    url, body, headers = gar.put_request(app.config["GAR_BASE_URL"], sub)

    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 400
    assert requests.put(url, data=body, headers=headers, timeout=5).status_code == 409
    url, body, headers = gar.update_request(app.config["GAR_BASE_URL"], sub)
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
