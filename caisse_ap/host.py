"""How a terminal's host is written: what is a host at all, and one key per terminal.

Which addresses a terminal may have is :mod:`.address`'s business.
"""

from __future__ import annotations

import ipaddress
import re

# One DNS label: letters, digits and inner hyphens, 1 to 63 characters.
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
MAX_DNS_NAME = 253


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_valid_host(host: object) -> bool:
    """True for an IPv4/IPv6 address or a DNS name, without spaces."""
    if not isinstance(host, str) or not host or host != host.strip():
        return False
    if _is_ip_address(host):
        return True
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > MAX_DNS_NAME:
        return False
    labels = name.split(".")
    # An all-digit last label is a malformed IPv4 address (192.168.1.300), not a name.
    return all(_DNS_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def terminal_key(host: str | None, port: int) -> str:
    """``host:port`` identifying one terminal, the same however the host is
    spelled: name case, a trailing dot, IPv6 zeros, an IPv4 address written as
    IPv4-mapped IPv6 (``::ffff:10.0.0.7``)."""
    host = (host or "").strip().lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"{host}:{port}"
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        return f"[{address.compressed}]:{port}"
    return f"{address.compressed}:{port}"
