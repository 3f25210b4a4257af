"""Which addresses a terminal may have: the address policy, without Odoo.

A terminal sits on the shop's network. Loopback, link-local, unspecified and
multicast addresses reach the machine that connects (the Odoo server, or the
shop relay's host) or its private services: cloud metadata at
169.254.169.254, local databases. Whoever may set a terminal address could
otherwise probe them. The caller decides whether they are allowed (terminal
simulators run on loopback); the client checks the addresses a name resolves
to, and connects to those very addresses (see :func:`.client.connect`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

KINDS = ("loopback", "link-local", "unspecified", "multicast")


def restricted_kind(host: str | None) -> str | None:
    """Why ``host`` may not be a terminal unless allowed, or None.

    One of :data:`KINDS`. An IPv4 address written as IPv6
    (``::ffff:127.0.0.1``) is judged as IPv4; ``localhost`` names (RFC 6761)
    are loopback; any other name is None (judge what it resolves to).
    """
    host = (host or "").strip().lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = host.rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            return "loopback"
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    return None


@dataclass(frozen=True)
class AddressRefusal:
    """A terminal host that resolved only to addresses the policy refuses.

    ``address`` is the first refused address, ``kind`` its kind (see
    :data:`KINDS`). Nothing was sent: the connection was never opened.
    """

    host: str
    address: str
    kind: str

    def __str__(self) -> str:
        return (
            f"terminal host {self.host!r} resolves to {self.address}, a {self.kind} "
            "address: refused, nothing sent (local addresses are not allowed)"
        )


class AddressRefused(Exception):
    """Raised by :func:`.client.connect` before any connection is opened."""

    def __init__(self, refusal: AddressRefusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal
