"""Which addresses a terminal may have: the address policy, without Odoo.

A terminal sits on the shop's network, which is a private network. The
policy, applied to every address a host resolves to before any connection:

1. a cloud metadata address (:data:`METADATA_ADDRESSES`) is always refused;
2. loopback, link-local, unspecified and multicast addresses, and the
   connecting machine's own interface addresses (the Odoo server's, or the
   shop relay's: any service listening on 0.0.0.0 there) are refused unless
   the caller allows local addresses (terminal simulators run on loopback);
3. any other address must be on one of the allowed networks: by default the
   private ones (RFC 1918 and IPv6 unique-local, :data:`DEFAULT_NETWORKS`);
   an administrator may list others, wider or narrower.

Whoever may set a terminal address could otherwise make the server probe its
own network. The client checks the addresses a name resolves to, and
connects to those very addresses (see :func:`.client.connect`).
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from .host import ip_address_of

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOCAL_KINDS = ("loopback", "link-local", "unspecified", "multicast")
KINDS = (*LOCAL_KINDS, "own", "metadata", "outside")
DEFAULT_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
# Instance metadata and platform services of the common clouds: never a
# terminal, whatever the allowed networks say (several IPv6 ones are inside
# fc00::/7, a default terminal network). Each one is its cloud's documented
# address, never a range: the rest of that range is someone's private LAN.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean...
        "169.254.169.253",  # AWS DNS
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS Pod Identity
        "169.254.0.23",  # Tencent Cloud
        "169.254.42.42",  # Scaleway
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud Classic
        "fd00:ec2::254",  # AWS (IPv6)
        "fd00:ec2::253",  # AWS DNS (IPv6)
        "fd00:ec2::23",  # AWS EKS Pod Identity (IPv6)
        "fd20:ce::254",  # Google Cloud (IPv6)
        "fd00:c1::a9fe:a9fe",  # Oracle Cloud (IPv6)
        "fd00:42::42",  # Scaleway (IPv6)
        "fd00:a9fe:a9fe::1",  # Akamai / Linode (IPv6)
        "fe80::a9fe:a9fe",  # OpenStack (IPv6)
    )
)


def _address(text: str | None) -> IPAddress | None:
    """The IP address ``text`` spells, without its IPv6 zone, or None.

    IPv4-mapped IPv6 is judged as IPv4, and so is a numeric form of the C
    resolver (``0x7f000001``, ``127.1``): it connects there without asking
    any DNS server, so it is no name to judge once resolved.
    """
    address = ip_address_of(text)
    if address is not None and address.version == 6 and address.scope_id:
        return ipaddress.IPv6Address(str(address).partition("%")[0])
    return address


def _local_kind(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    return None


def restricted_kind(host: str | None) -> str | None:
    """The local kind of ``host`` when it is written as such, or None.

    One of :data:`LOCAL_KINDS`. An IPv4 address written as IPv6
    (``::ffff:127.0.0.1``) is judged as IPv4; ``localhost`` names (RFC 6761)
    are loopback; any other name is None (judge what it resolves to).
    """
    address = _address(host)
    if address is None:
        name = (host or "").strip().lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            return "loopback"
        return None
    return _local_kind(address)


_NOT_HERE = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EINVAL)


def is_own_address(address: IPAddress) -> bool:
    """Whether ``address`` is one of this machine's interface addresses.

    Binding a socket to an address succeeds only when the address is
    assigned here: exact, for IPv4 and IPv6, with the standard library only.
    """
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((str(address), 0))
    except OSError as error:
        # Any other failure (EACCES...): say "own" rather than risk it.
        return error.errno not in _NOT_HERE
    return True


def parse_networks(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """The allowed networks, normalised: CIDR texts separated by commas,
    spaces or new lines (or an iterable of them). None or empty: the default.

    Raises ValueError naming the first entry that is not a network.
    """
    if text is None:
        return DEFAULT_NETWORKS
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    networks = []
    for item in items:
        if not isinstance(item, str) or len(item) > 64:
            raise ValueError(f"{item!r} is not a network (CIDR expected)")
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ValueError(
                f"{item!r} is not a network (CIDR expected, e.g. 192.168.1.0/24)"
            ) from None
    return tuple(networks) or DEFAULT_NETWORKS


@dataclass(frozen=True)
class AddressRefusal:
    """A terminal host that resolved only to addresses the policy refuses.

    ``address`` is the first refused address, ``kind`` why (see
    :data:`KINDS`). Nothing was sent: the connection was never opened.
    """

    host: str
    address: str
    kind: str

    def __str__(self) -> str:
        why = {
            "own": "one of this machine's own addresses",
            "metadata": "a cloud metadata address",
            "outside": "outside the allowed terminal networks",
        }.get(self.kind, f"a {self.kind} address")
        return (
            f"terminal host {self.host!r} resolves to {self.address}, {why}: "
            "refused, nothing sent"
        )


class AddressRefused(Exception):
    """Raised by :func:`.client.connect` before any connection is opened."""

    def __init__(self, refusal: AddressRefusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


@dataclass(frozen=True)
class AddressPolicy:
    """Where terminals may be: see the module's documentation."""

    allow_local: bool = False
    networks: tuple[IPNetwork, ...] = ()

    @staticmethod
    def of(allow_local: bool, networks: Iterable[str] | None = None) -> AddressPolicy:
        """The policy for these settings (``networks``: CIDR texts, None for
        the default). Raises ValueError for a text that is not a network."""
        return _policy(bool(allow_local), parse_networks(networks))

    def kind(self, text: str, own_check: bool = True) -> str | None:
        """Why the address ``text`` is refused (one of :data:`KINDS`), or None.

        ``own_check``: also refuse this machine's own addresses (False where
        the terminal is reached from another machine: a shop relay's method
        judged on the server).
        """
        address = _address(text)
        if address is None:
            # A name is judged on what it resolves to, but "localhost" names
            # are loopback by definition (RFC 6761), resolved or not.
            local = restricted_kind(text)
            return None if self.allow_local else local
        if address in METADATA_ADDRESSES:
            return "metadata"
        local = _local_kind(address)
        if local:
            return None if self.allow_local else local
        if own_check and is_own_address(address):
            return None if self.allow_local else "own"
        if not any(address in network for network in self.networks):
            return "outside"
        return None

    def refusal(self, host: str, address: str) -> AddressRefusal | None:
        kind = self.kind(address)
        return AddressRefusal(host, address, kind) if kind else None


@functools.lru_cache(maxsize=64)
def _policy(allow_local: bool, networks: tuple[str, ...]) -> AddressPolicy:
    return AddressPolicy(allow_local, tuple(ipaddress.ip_network(n) for n in networks))
