"""Where the webhook channel may call: public Internet addresses only.

A vendor's provisioning URL could otherwise point our servers at themselves or at the
internal network (``https://127.0.0.1:9``, ``http://169.254.169.254/`` — server-side
request forgery). The host is checked when the vendor saves the URL (its literal address,
or every address its name resolves to) and again at each call: the name is resolved
then, every address must be public, and the connection goes to the address that was
checked (the URL's name is kept for the Host header, TLS SNI and the certificate), so a
DNS answer changed between the check and the call (DNS rebinding) cannot reach inside.

``WEBHOOK_ALLOW_LOCAL_TARGETS`` (development and tests only: the demo peers and the
tests' servers listen on 127.0.0.1) lifts the refusal, never the resolution.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import current_app
from requests.adapters import HTTPAdapter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"https": 443, "http": 80}


class TargetRefused(Exception):  # noqa: N818 - reads as what happened
    """The URL leads to an address we do not call; `reason` says why, in French."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refusal_of(address: IPAddress) -> str | None:
    """Why `address` may not be called (what kind of address it is), or None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "une adresse de bouclage (loopback)"
    if address.is_link_local:
        return "une adresse locale au lien (link-local)"
    if address.is_multicast:
        return "une adresse de multidiffusion (multicast)"
    if address.is_unspecified or address.is_reserved:
        return "une adresse réservée"
    if address.is_private:
        return "une adresse de réseau privé"
    if not address.is_global:
        return "une adresse réservée"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order (a literal: itself).
    A name that does not resolve raises requests' ConnectionError (the call may work
    later)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise requests.ConnectionError(f"{host} ne peut pas être résolu") from error
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def local_targets_allowed() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_LOCAL_TARGETS"])


def checked_addresses(url: str) -> list[IPAddress]:
    """The addresses `url` leads to, every one public (unless local targets are allowed);
    else :class:`TargetRefused` naming the address and its kind."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise TargetRefused("l'adresse ne contient pas de nom de serveur")
    addresses = resolve(host, parts.port or DEFAULT_PORTS.get(parts.scheme, 443))
    if not addresses:
        raise requests.ConnectionError(f"{host} ne peut pas être résolu")
    if not local_targets_allowed():
        for address in addresses:
            if reason := refusal_of(address):
                shown = host if host == str(address) else f"{host} ({address})"
                raise TargetRefused(
                    f"{shown} est {reason} : seules les adresses publiques d'Internet sont appelées"
                )
    return addresses


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address given in the URL while TLS checks the certificate (and
    sends SNI) for the original name."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


def post(url: str, *, headers: dict[str, str], timeout: float, **kwargs: Any) -> requests.Response:
    """POST to `url` at an address checked by :func:`checked_addresses` (raises
    :class:`TargetRefused` or a requests error)."""
    address = checked_addresses(url)[0]
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if hostname == str(address):
        return requests.post(url, headers=headers, timeout=timeout, **kwargs)
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = urlunsplit(parts._replace(netloc=netloc))
    host_header = f"{hostname}:{parts.port}" if parts.port else hostname
    with requests.Session() as session:
        session.mount(f"{parts.scheme}://", _PinnedAdapter(hostname))
        pinned_headers = {**headers, "Host": host_header}
        return session.post(pinned, headers=pinned_headers, timeout=timeout, **kwargs)
