"""Whom a rate limit counts: the network address a request comes from."""

from __future__ import annotations

import ipaddress

from flask import request

IPV6_SUBSCRIBER_PREFIX = 64


def network_address() -> str:
    """The request's network address (as the proxy in front reported it). For IPv6, its
    /64 network: one subscriber usually holds a whole one, and counting each address
    apart would let them try 2^64 times as often."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_SUBSCRIBER_PREFIX}", strict=False))
    return str(ip)
