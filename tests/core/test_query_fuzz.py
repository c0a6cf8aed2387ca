"""Every GET page of the application, with nasty query strings: never a 5xx.

The demo data (`flask seed-demo`) fills the database; each page is opened by every
demo account (and anonymously) once, and fuzzed as each one who may see it. The
values are a fixed corpus (NUL bytes, numbers past any integer column, impossible and
extreme dates, very long and odd unicode text…), sent under the names each page reads
(`READS`, taken from the code) and under generic names every page gets (`page`, the
names `url_for` reserves, the page's own path parameters). Deterministic: no random.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import demo as demo_data
from app.accounts import tokens
from app.accounts.models import User
from app.budgets.models import Allocation
from app.core import dates
from app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from app.extensions import db
from app.invoices.models import Invoice
from app.licences.models import Licence
from app.notifications.models import Notification
from app.orders.models import Order
from app.payouts import services as payouts
from app.payouts.models import Payout
from app.products.models import Product, ProductVersion
from app.vendors.models import Vendor

# The query arguments each page reads (request.args, GET forms, API query schemas).
READS: dict[str, tuple[str, ...]] = {
    "accounts.login": ("next",),
    "budgets.academy_home": ("annee",),
    "budgets.allocations": ("annee",),
    "budgets.allocate_one": ("annee", "email", "uai", "amount"),
    "budgets.allocate_file": ("annee",),
    "budgets.allocate_rule": ("annee",),
    "budgets.teachers": ("annee", "q", "page"),
    "budgets.my_account": ("annee",),
    "licences.vendor_licences": ("statut", "page"),
    "licences_api.list_licences": ("status", "updated_since", "page", "per_page"),
    "notifications.index": ("page",),
    "orders.summary": ("uai", "school"),
    "orders.vendor_orders": ("du", "au", "produit", "statut", "format"),
    "payouts.reconciliation": ("du", "au"),
    "products.detail": ("verifier",),
    "products.storefront": (
        "q",
        "discipline",
        "niveau",
        "type",
        "offre",
        "prix_min",
        "prix_max",
        "tri",
        "page",
    ),
    "products.storefront_product": ("offre", "eleves"),
    "products.storefront_suggestions": ("q",),
    "proconnect.callback": ("error", "code", "state"),
    "reporting.academy_dashboard": ("periode", "annee", "mois", "du", "au"),
    "reporting.export": ("du", "au", "annee"),
    "reporting.monthly_report": ("mois",),
    "reporting.national_dashboard": ("annee",),
}
# Names every page gets: a page number, what `url_for` reserves, the page's own path
# parameters (added per page).
GENERIC = ("page", "endpoint", "_external", "_scheme", "_anchor", "_method", "format")

# Values sent under every name.
COMMON = ("\x00", "9" * 40, "x" * 10_000, "é🎉\u202e<script>'\"", "")
NUMBERS = ("9223372036854775808", "2147483648", "-1", "0", "1e309", "١٢")
DAYS = (
    "0001-01-01",
    "9999-12-31",
    "2026-13-45",
    "9999-12",
    "0000-0001",
    "٢٠٢٦-٢٠٢٧",
    "9999-12-31T23:59:59+14:00",
)
TEXTS = ("' OR 1=1 --", "//evil.example/", "{{ 7*7 }}")
NUMBER_ARGS = {"page", "per_page", "produit", "eleves"}
DAY_ARGS = {"du", "au", "mois", "annee", "updated_since"}
# What a page seen by several people is also opened with, as each of the others.
SHORT = ("\x00", "9" * 40, "9999-12-31", "x" * 10_000)


def values_for(name: str) -> tuple[str, ...]:
    if name in NUMBER_ARGS:
        return COMMON + NUMBERS
    if name in DAY_ARGS:
        return COMMON + DAYS
    return COMMON + TEXTS


# Pages the fuzz leaves out, and why.
SKIPPED = {
    "static",  # files, no query string read
    "proconnect.start",  # redirects to the identity provider (not configured in tests)
}


def _ids(session: Session) -> dict[str, Any]:
    """A value for every path parameter, from the demo data: the demo accounts' own."""
    vendor = session.scalar(select(Vendor).where(Vendor.legal_name.like("%Lumière%")))
    assert vendor is not None
    product = session.scalar(select(Product).where(Product.vendor_id == vendor.id))
    version = session.scalar(select(ProductVersion).order_by(ProductVersion.id.desc()))
    teacher = session.scalar(select(User).where(User.email == DEMO_ACCOUNTS[0].email))
    assert teacher is not None
    assert product is not None
    assert version is not None
    order = session.scalar(select(Order).where(Order.teacher_id == teacher.id))
    licence = session.scalar(select(Licence).where(Licence.teacher_id == teacher.id))
    notification = session.scalar(select(Notification).order_by(Notification.id))
    # A settlement run (not settled: a payout's statement is a PDF, slow to render).
    run = payouts.start_run(None, dates.today() - timedelta(days=1))
    payout = session.scalar(select(Payout).order_by(Payout.id))
    allocation = session.scalar(select(Allocation).order_by(Allocation.id))
    invoice = session.scalar(select(Invoice).order_by(Invoice.id))
    return {
        "academy_code": "01",
        "vendor_id": vendor.id,
        "product_id": product.id,
        "version_id": version.id,
        "order_id": order.id if order else 1,
        "licence_id": licence.id if licence else 1,
        "notification_id": notification.id if notification else 1,
        "run_id": run.id if run else 1,
        "payout_id": payout.id if payout else 1,
        "allocation_id": allocation.id if allocation else 1,
        "invoice_id": invoice.id if invoice else 1,
        "pooled_id": 1,  # none in the demo: a 404, never a 5xx
        "user_id": teacher.id,
        "token": "jeton-inconnu",
        "lang": "fr",
        "kind": "achats",
        "key": "logos/inconnu.png",
        "filename": "catalogue.csv",
    }


def _get_routes(app: Flask) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" in (rule.methods or ()) and rule.endpoint not in SKIPPED:
            yield rule.endpoint, rule.rule, tuple(sorted(rule.arguments))


def _path(rule: str, arguments: tuple[str, ...], ids: dict[str, Any]) -> str:
    path = rule
    for name in arguments:
        start = path.index("<")
        path = path[:start] + str(ids[name]) + path[path.index(">", start) + 1 :]
    return path


def _queries(reads: tuple[str, ...], generic: tuple[str, ...]) -> Iterator[list[Any]]:
    """As the person the page is for: each value under every generic name at once, then
    each name the page reads alone with the values of its kind, and repeated (getlist)."""
    for value in COMMON:
        yield [(name, value) for name in generic]
    for name in reads:
        for value in values_for(name):
            yield [(name, value)]
        yield [(name, "\x00"), (name, "1"), (name, "9" * 40)]


def _others_queries(reads: tuple[str, ...], generic: tuple[str, ...]) -> Iterator[list[Any]]:
    """As anybody else who may see the page: a few values under every name at once."""
    for value in SHORT:
        yield [(name, value) for name in (*reads, *generic)]


@pytest.fixture
def demo(session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(demo_data, "TEACHERS", 20)  # the demo's other 280 add nothing here
    demo_data.seed_demo()
    ids = _ids(session)
    db.session.commit()  # a refused request rolls back to here
    return ids


class Fuzzer:
    """Sends the queries; keeps every 5xx (or crash) and counts the requests."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.failures: list[str] = []
        self.requests = 0

    def status(self, url: str, headers: dict[str, str]) -> int:
        self.requests += 1
        return self.client.get(url, headers=headers, buffered=True).status_code

    def send(self, who: str, endpoint: str, url: str, headers: dict[str, str]) -> None:
        try:
            status = self.status(url, headers)
        except Exception as error:  # noqa: BLE001 - every crash is reported at the end
            db.session.rollback()
            self.failures.append(f"{who} {endpoint} {url[:200]!r}: {error!r}"[:400])
            return
        if status >= 500:
            self.failures.append(f"{who} {endpoint} {url[:200]!r}: {status}")


def test_no_query_string_gets_a_5xx(app: Flask, client: FlaskClient, demo: dict[str, Any]) -> None:
    started = time.monotonic()
    vendor = db.session.get(Vendor, demo["vendor_id"])
    member = db.session.scalar(select(User).where(User.email == "vendor@demo.test"))
    assert vendor is not None
    assert member is not None
    _token, raw_token = tokens.create_token(member, vendor, "Fuzz")
    db.session.commit()
    api_headers = {"Authorization": f"Bearer {raw_token}"}

    routes = list(_get_routes(app))
    fuzz = Fuzzer(client)
    fuzzed: set[str] = set()
    # Everyone, the person each page is for first (anonymous last: the login page).
    people = (*(account.email for account in DEMO_ACCOUNTS), None)
    for who in people:
        client.post("/deconnexion")
        if who is not None:
            client.post("/connexion", data={"email": who, "password": DEMO_PASSWORD})
        for endpoint, rule, arguments in routes:
            api = rule.startswith("/api/")
            if api and who != people[0]:
                continue  # the API reads a token, not who is signed in
            headers = api_headers if api else {}
            path = _path(rule, arguments, demo)
            if fuzz.status(path, headers) != 200:
                continue  # not a page for this person
            reads = READS.get(endpoint, ())
            generic = tuple(dict.fromkeys((*GENERIC, *arguments)))
            queries = _others_queries if endpoint in fuzzed else _queries
            for query in queries(reads, generic):
                fuzz.send(str(who), endpoint, f"{path}?{urlencode(query)}", headers)
            fuzzed.add(endpoint)
    # Pages nobody here sees (a token to check, a cart to fill…): the generic queries still
    # go through everything before the page's own checks.
    for endpoint, rule, arguments in routes:
        if endpoint not in fuzzed:
            path = _path(rule, arguments, demo)
            for query in _queries((), (*GENERIC, *arguments)):
                fuzz.send("anonymous", endpoint, f"{path}?{urlencode(query)}", {})
    print(
        f"{len(routes)} GET routes, {len(fuzzed)} fuzzed as the people who see them, "
        f"{fuzz.requests} requests, {time.monotonic() - started:.1f} s "
        f"({time.process_time():.1f} s of CPU for the whole run)"
    )
    assert not fuzz.failures, "\n".join(fuzz.failures)
