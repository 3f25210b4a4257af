"""Terminal address checks, kept apart from the ORM so they stay easy to test."""

import ipaddress
import re

# One DNS label: letters, digits and inner hyphens, 1 to 63 characters.
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
MAX_DNS_NAME = 253


def _is_ip_address(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_valid_host(host):
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


def restricted_kind(host):
    """Why ``host`` may not be a terminal unless allowed, or None.

    A terminal sits on the shop's network. Loopback, link-local, unspecified and
    multicast addresses reach the Odoo server itself or its host's private
    services (cloud metadata at 169.254.169.254, local databases): one of
    "loopback", "link-local", "unspecified", "multicast". An IPv4 address
    written as IPv6 (``::ffff:127.0.0.1``) is judged as IPv4; ``localhost``
    names (RFC 6761) are loopback.
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


def terminal_key(host, port):
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
