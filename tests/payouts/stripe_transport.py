"""A test HTTP client for the Stripe SDK: Stripe Connect answered from Stripe's own
example objects (`/work/shared/stripe/fixtures3.json`), every request recorded.

Plugged with `app.config["STRIPE_HTTP_CLIENT"]`, it receives exactly what the official
SDK would send over the network (method, URL, headers, form-encoded body) and answers
the JSON a Stripe server would, so the app's gateway is exercised through the real SDK:
its parameter encoding, its `Idempotency-Key` header, its error classes.

- POST /v1/accounts                     → `resources.account` (a new `acct_…` id)
- GET  /v1/accounts/{id}                → that account as it is now (`set_account`)
- POST /v1/account_links                → `resources.account_link` (url of that account)
- POST /v1/transfers                    → `resources.transfer` (amount, currency,
                                          destination, metadata… taken from the request)
- POST /v1/transfers/{id}/reversals     → `resources.transfer_reversal`

Like Stripe, a request repeating the `Idempotency-Key` of a successful one gets the
first answer again and creates nothing. `refuse()` makes the next matching call answer
a Stripe error instead.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

FIXTURES = Path("/work/shared/stripe/fixtures3.json")
_RESOURCES: dict[str, Any] = json.loads(FIXTURES.read_text(encoding="utf-8"))["resources"]

_KEY = re.compile(r"^(?P<head>[^\[]+)(?P<rest>(?:\[[^\]]*\])*)$")


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of Stripe's example object `resources.<name>`."""
    return copy.deepcopy(_RESOURCES[name])


def decode_form(body: str) -> dict[str, Any]:
    """`a[b][c]=1&d=x` → `{"a": {"b": {"c": "1"}}, "d": "x"}` (Stripe's form encoding)."""
    decoded: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(key)
        assert match, f"unexpected form key {key!r}"
        path = [match["head"], *re.findall(r"\[([^\]]*)\]", match["rest"])]
        node = decoded
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return decoded


@dataclass(frozen=True)
class Request:
    """One call the SDK made."""

    method: str  # "POST"
    path: str  # "/v1/transfers"
    params: dict[str, Any]  # the decoded form, nested
    idempotency_key: str | None
    headers: dict[str, str]


@dataclass
class _Refusal:
    method: str
    path: re.Pattern[str]
    status: int
    error: dict[str, Any]
    times: int


class StripeTransport(stripe.HTTPClient):
    """Answers the SDK from the fixtures and keeps every request in `requests`."""

    name = "test"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.accounts: list[str] = []  # ids of the accounts created, in order
        self.account_objects: dict[str, dict[str, Any]] = {}  # id → the account now
        self.transfers: dict[str, dict[str, Any]] = {}  # id → the transfer as Stripe holds it
        self._refusals: list[_Refusal] = []
        self._replays: dict[str, tuple[str, str]] = {}  # Idempotency-Key → (path, answer)
        self._ids = itertools.count(1)

    # --- what tests call -------------------------------------------------------------

    def refuse(
        self,
        method: str,
        path: str,
        message: str,
        *,
        status: int = 400,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls to `method path` (a regex on the path, matched in full)
        answer this Stripe error."""
        error = {"message": message, "type": error_type}
        if code is not None:
            error["code"] = code
        self._refusals.append(_Refusal(method, re.compile(path), status, error, times))

    def set_account(
        self, account_id: str, *, payouts_enabled: bool, disabled_reason: str | None = None
    ) -> None:
        """The connected account as Stripe holds it from now on (its onboarding went on)."""
        account = self.account_objects[account_id]
        account.update(payouts_enabled=payouts_enabled, details_submitted=True)
        account["requirements"]["disabled_reason"] = disabled_reason

    def calls(self, method: str, path: str) -> list[Request]:
        """The recorded requests of `method` whose path matches `path` in full."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # --- stripe.HTTPClient -----------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        method = method.upper()
        path = urlsplit(url).path
        if isinstance(post_data, bytes):
            post_data = post_data.decode("utf-8")
        params = decode_form(post_data or "")
        sent = {name.lower(): value for name, value in (headers or {}).items()}
        key = sent.get("idempotency-key")
        self.requests.append(Request(method, path, params, key, dict(headers or {})))
        request_id = {"Request-Id": f"req_test{len(self.requests):06d}"}

        for refusal in self._refusals:
            if refusal.times and refusal.method == method and refusal.path.fullmatch(path):
                refusal.times -= 1
                return json.dumps({"error": refusal.error}), refusal.status, request_id
        if key is not None and key in self._replays:
            first_path, body = self._replays[key]
            assert first_path == path, f"Idempotency-Key {key} reused for another call"
            return body, 200, {**request_id, "Idempotent-Replayed": "true"}

        answer = self._answer(method, path, params)
        if answer is None:
            error = {
                "message": f"Unrecognized request URL ({method}: {path}).",
                "type": "invalid_request_error",
            }
            return json.dumps({"error": error}), 404, request_id
        body = json.dumps(answer)
        if key is not None:
            self._replays[key] = (path, body)
        return body, 200, request_id

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the payouts never stream from Stripe")

    def close(self) -> None:
        pass

    # --- the answers -----------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_test{next(self._ids):06d}"

    def _answer(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if method == "GET":
            account = re.fullmatch(r"/v1/accounts/(?P<id>[^/]+)", path)
            return self.account_objects.get(account["id"]) if account else None
        if method != "POST":
            return None
        if path == "/v1/accounts":
            return self._account(params)
        if path == "/v1/account_links":
            return self._account_link(params)
        if path == "/v1/transfers":
            return self._transfer(params)
        reversal = re.fullmatch(r"/v1/transfers/(?P<id>[^/]+)/reversals", path)
        if reversal and reversal["id"] in self.transfers:
            return self._reversal(reversal["id"], params)
        return None

    def _account(self, params: dict[str, Any]) -> dict[str, Any]:
        account = fixture("account")
        account["id"] = self._new_id("acct")
        account["country"] = params.get("country", account["country"])
        account["email"] = params.get("email", account["email"])
        account["metadata"] = params.get("metadata", {})
        account["external_accounts"]["url"] = f"/v1/accounts/{account['id']}/external_accounts"
        self.accounts.append(account["id"])
        self.account_objects[account["id"]] = account
        return account

    def _account_link(self, params: dict[str, Any]) -> dict[str, Any]:
        link = fixture("account_link")
        example_account = fixture("account")["id"]
        link["url"] = link["url"].replace(example_account, params["account"])
        return link

    def _transfer(self, params: dict[str, Any]) -> dict[str, Any]:
        transfer = fixture("transfer")
        transfer_id = self._new_id("tr")
        transfer.update(
            id=transfer_id,
            amount=int(params["amount"]),
            currency=params["currency"],
            destination=params["destination"],
            description=params.get("description"),
            transfer_group=params.get("transfer_group"),
            metadata=params.get("metadata", {}),
        )
        transfer["reversals"]["url"] = f"/v1/transfers/{transfer_id}/reversals"
        self.transfers[transfer_id] = transfer
        return transfer

    def _reversal(self, transfer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        transfer = self.transfers[transfer_id]
        amount = int(params.get("amount", transfer["amount"] - transfer["amount_reversed"]))
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        reversal = fixture("transfer_reversal")
        reversal.update(
            id=self._new_id("trr"),
            amount=amount,
            currency=transfer["currency"],
            transfer=transfer_id,
            metadata=params.get("metadata", {}),
        )
        return reversal
