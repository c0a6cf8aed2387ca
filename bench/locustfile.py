"""What bench/load.py's simulated people do (locust, run headless by bench/load.py).

Teachers at the start of the school year: each signs in (a teacher never signs in twice,
taken in turn from the bench's teachers), buys one to three resources — search the
catalogue, open one or two products, add one to the cart, the cart, the summary, confirm
(the summary's form: idempotency key, cart fingerprint; one confirmation in 20 is sent
twice, as a double click, and must give the same order), the order page — then signs
out, and the next teacher comes. Vendors poll the API with their token: the pending
licences, and the licences changed since their last poll.

The bench's data (addresses, password, products, tokens, think time) comes from the JSON
file named by BENCH_LOAD_DATA; the order ids the teachers saw are written at the end to
the file named by BENCH_LOAD_ORDERS, for bench/load.py's checks.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

from locust import HttpUser, between, constant, events, task
from requests.cookies import RequestsCookieJar

DATA: dict[str, Any] = json.loads(Path(os.environ["BENCH_LOAD_DATA"]).read_text())
TEACHER_NUMBERS = itertools.count(DATA["first_teacher"])
VENDOR_NUMBERS = itertools.count()
ORDERS_SEEN: set[int] = set()
ORDER_PATH = re.compile(r"/mes-commandes/(\d+)$")
DOUBLE_CLICK = 0.05


class HiddenInputs(HTMLParser):
    """The hidden inputs of the form posting to `action` (any form when None)."""

    def __init__(self, action: str | None = None) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.inside = self.action is None or named.get("action") == self.action
        elif tag == "input" and self.inside and named.get("type") == "hidden":
            self.values.setdefault(named.get("name") or "", named.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.action is not None:
            self.inside = False


def hidden_inputs(html: str, action: str | None = None) -> dict[str, str]:
    parser = HiddenInputs(action)
    parser.feed(html)
    return parser.values


class LoopbackCookies(RequestsCookieJar):
    """Production's cookies are Secure: like a browser on 127.0.0.1, send them over http."""

    def set_cookie(self, cookie: Cookie, *args: Any, **kwargs: Any) -> None:
        cookie.secure = False
        super().set_cookie(cookie, *args, **kwargs)


class Teacher(HttpUser):
    wait_time = between(*DATA["think_seconds"])

    def on_start(self) -> None:
        self.client.cookies = LoopbackCookies()
        self.csrf = ""
        self.sign_in()

    def page(self, path: str, name: str) -> str:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return ""
            self.csrf = hidden_inputs(response.text).get("csrf_token", self.csrf)
            return response.text

    def sign_in(self) -> None:
        number = next(TEACHER_NUMBERS)
        if number > DATA["last_teacher"]:
            raise RuntimeError("every teacher of the bench has signed in: give more --teachers")
        self.email = DATA["email_pattern"].format(number)
        self.held: set[int] = set()
        self.purchases_left = random.randint(1, 3)  # noqa: S311
        self.page("/connexion", "sign in: form")
        form = {"csrf_token": self.csrf, "email": self.email, "password": DATA["password"]}
        with self.client.post(
            "/connexion", data=form, name="sign in", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"HTTP {response.status_code}: not signed in")

    def sign_out(self) -> None:
        self.client.post(
            "/deconnexion", data={"csrf_token": self.csrf}, name="sign out", allow_redirects=False
        )
        self.client.cookies.clear()

    @task
    def buy(self) -> None:
        choices = [p for p in DATA["products"] if p not in self.held]
        self.page(f"/catalogue?q={random.choice(DATA['searches'])}", "search")  # noqa: S311
        self.wait()
        for product in random.sample(choices, k=min(2, len(choices)))[: random.randint(1, 2)]:  # noqa: S311
            self.page(f"/catalogue/{product}", "product")
            self.wait()
        with self.client.post(
            f"/panier/ajouter/{product}",
            data={"csrf_token": self.csrf, "plan": "teacher"},
            name="add to cart",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.headers.get("Location", "").split("?")[0] != "/panier":
                response.failure(f"HTTP {response.status_code}, not added")
                return
        self.page("/panier", "cart")
        self.wait()
        summary = self.page("/panier/recapitulatif", "summary")
        form = hidden_inputs(summary, "/panier/commander")
        if "token" not in form:
            return
        self.wait()
        order = self.confirm(form, "checkout")
        if order is None:
            return
        if random.random() < DOUBLE_CLICK:  # noqa: S311
            again = self.confirm(form, "checkout (sent twice)")
            if again is not None and again != order:
                raise RuntimeError(f"one confirmation, two orders: {order} and {again}")
        self.held.add(product)
        self.page(f"/mes-commandes/{order}", "order page")
        self.purchases_left -= 1
        if self.purchases_left == 0:
            self.wait()
            self.sign_out()
            self.sign_in()

    def confirm(self, form: dict[str, str], name: str) -> int | None:
        with self.client.post(
            "/panier/commander", data=form, name=name, allow_redirects=False, catch_response=True
        ) as response:
            found = ORDER_PATH.search(response.headers.get("Location", ""))
            if response.status_code != 302 or found is None:
                response.failure(f"HTTP {response.status_code}, no order")
                return None
        ORDERS_SEEN.add(int(found.group(1)))
        return int(found.group(1))


class Vendor(HttpUser):
    """A vendor's software: every few seconds, what is pending and what changed."""

    fixed_count = len(DATA["tokens"])
    wait_time = constant(DATA["poll_seconds"])

    def on_start(self) -> None:
        token = DATA["tokens"][next(VENDOR_NUMBERS) % len(DATA["tokens"])]
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    @task
    def poll(self) -> None:
        self.client.get("/api/v1/licences?status=pending&per_page=100", name="api: pending")
        with self.client.get(
            "/api/v1/licences",
            params={"updated_since": self.since, "per_page": 200},
            name="api: changed since",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            items = response.json()["items"]
            if items:
                self.since = items[-1]["updated_at"]


@events.quitting.add_listener
def _write_orders(**_kwargs: Any) -> None:
    Path(os.environ["BENCH_LOAD_ORDERS"]).write_text(json.dumps(sorted(ORDERS_SEEN)))
