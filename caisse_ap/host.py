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


# One part of an IPv4 address as the C resolver reads it (inet_aton): hex
# after 0x, octal after a leading 0, else decimal.
_INET_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
# RFC 6874 writes an IPv6 zone's "%" as "%25" in URLs; people copy it from there.
_URL_ZONE = re.compile(r"%25(?![0-9]*\Z)")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def inet_aton_address(text: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address ``text`` is for the C resolver, in any of the forms
    ``inet_aton`` takes (``0x7f000001``, ``127.1``, ``2130706433``,
    ``0177.0.0.1``): a resolver connects there without any DNS query."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(map(_INET_PART.fullmatch, parts)):
        return None
    values = [
        int(part[2:], 16)
        if part[:2] in ("0x", "0X")
        else int(part, 8 if part.startswith("0") else 10)
        for part in parts
    ]
    *head, last = values
    if any(value > 255 for value in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def ip_address_of(host: str | None) -> IPAddress | None:
    """The IP address ``host`` spells, however it is spelled, or None for a
    name: an IPv4 address written as IPv4-mapped IPv6 or in a numeric form of
    ``inet_aton`` is that IPv4 address; an IPv6 zone written ``%25eth0``
    (copied from a URL) is ``%eth0``."""
    text = _URL_ZONE.sub("%", (host or "").strip())
    try:
        address: IPAddress = ipaddress.ip_address(text)
    except ValueError:
        return inet_aton_address(text)
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def canonical_host(host: str) -> str:
    """The host as it is saved: an IPv4 address written in a numeric form of
    ``inet_aton`` as its dotted quad, an IPv6 zone with a plain ``%``; any
    other spelling as written (the address policy then judges the address
    itself)."""
    address = ip_address_of(host)
    if address is None:
        return host
    if "%" in host:
        return _URL_ZONE.sub("%", host)
    return host if _is_ip_address(host) else str(address)


def terminal_key(host: str | None, port: int) -> str:
    """``host:port`` identifying one terminal, the same however the host is
    spelled: name case, a trailing dot, IPv6 zeros, an IPv4 address written as
    IPv4-mapped IPv6 (``::ffff:10.0.0.7``) or in a numeric form of the C
    resolver (``0x0a000007``, ``10.7``), an IPv6 zone as ``%eth0`` or
    ``%25eth0``. A name is not resolved here (see the payment method)."""
    address = ip_address_of((host or "").lower())
    if address is None:
        return f"{(host or '').strip().lower().rstrip('.')}:{port}"
    if address.version == 6:
        return f"[{address.compressed}]:{port}"
    return f"{address.compressed}:{port}"
