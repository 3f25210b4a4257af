"""The address policy as an attacker meets it: a manager who may set a
terminal address tries to reach the server's own services, its cloud's
metadata, or anything outside the shop's private network."""

from __future__ import annotations

import pytest

from caisse_ap import (
    DEFAULT_NETWORKS,
    AddressPolicy,
    Outcome,
    PaymentRequest,
    exchange,
    parse_networks,
    probe,
)
from caisse_ap import address as address_module
from caisse_ap.simulator import TerminalSimulator


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", "outside"),  # the internet
        ("100.64.1.1", "outside"),  # carrier-grade NAT: a cloud's internal range
        ("100.100.100.200", "metadata"),  # Alibaba Cloud metadata
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),  # AWS, inside fc00::/7 all the same
        ("::ffff:169.254.169.254", "metadata"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("ff02::1", "multicast"),
        ("fe80::1%eth0", "link-local"),
        ("localhost", "loopback"),
        ("Caisse.LOCALHOST.", "loopback"),
    ],
)
def test_default_policy_refuses(address: str, kind: str) -> None:
    assert AddressPolicy.of(False).kind(address) == kind


@pytest.mark.parametrize(
    "address", ["192.168.1.50", "10.1.2.3", "172.31.255.254", "fd12:3456::50"]
)
def test_default_policy_allows_private_networks(address: str) -> None:
    assert AddressPolicy.of(False).kind(address) is None


def test_own_interface_addresses_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A private address of the server itself (PostgreSQL listening on 0.0.0.0)."""
    monkeypatch.setattr(
        address_module, "is_own_address", lambda ip: str(ip) == "10.0.0.5"
    )
    policy = AddressPolicy.of(False)
    assert policy.kind("10.0.0.5") == "own"
    assert policy.kind("10.0.0.6") is None
    # Judged from another machine (a shop relay's terminal), it is not ours.
    assert policy.kind("10.0.0.5", own_check=False) is None
    # A simulator on the server itself is allowed only when local addresses are.
    assert AddressPolicy.of(True).kind("10.0.0.5") is None


def test_own_address_detection_is_real() -> None:
    assert address_module.is_own_address(address_module._address("127.0.0.1"))
    # TEST-NET-2: assigned to no machine.
    assert not address_module.is_own_address(address_module._address("198.51.100.77"))


def test_allowing_local_addresses_never_allows_metadata() -> None:
    policy = AddressPolicy.of(True)
    assert policy.kind("127.0.0.1") is None
    assert policy.kind("169.254.10.10") is None
    assert policy.kind("169.254.169.254") == "metadata"
    assert policy.kind("localhost") is None
    assert policy.kind("terminal.shop.example") is None  # judged once resolved
    # Nor anything outside the allowed networks.
    assert policy.kind("8.8.8.8") == "outside"


def test_networks_narrow_and_widen() -> None:
    narrow = AddressPolicy.of(False, ["192.168.1.0/24"])
    assert narrow.kind("192.168.1.9") is None
    assert narrow.kind("192.168.2.9") == "outside"
    assert narrow.kind("10.0.0.9") == "outside"
    wide = AddressPolicy.of(False, parse_networks("192.168.0.0/16, 100.64.0.0/10"))
    assert wide.kind("100.64.1.1") is None
    # Widened to the metadata address's range: still refused.
    assert wide.kind("100.100.100.200") == "metadata"


# The metadata services of the clouds, where they are not 169.254.169.254.
CLOUD_METADATA = [
    "fd20:ce::254",  # Google Cloud (IPv6), inside fc00::/7
    "fd00:ec2::254",  # AWS (IPv6)
    "fd00:ec2::23",  # AWS EKS Pod Identity (IPv6)
    "169.254.170.23",  # AWS EKS Pod Identity
    "fd00:c1::a9fe:a9fe",  # Oracle Cloud (IPv6)
    "192.0.0.192",  # Oracle Cloud Classic
    "fd00:42::42",  # Scaleway (IPv6)
    "169.254.42.42",  # Scaleway
    "fd00:a9fe:a9fe::1",  # Akamai / Linode (IPv6)
    "169.254.0.23",  # Tencent Cloud
    "fe80::a9fe:a9fe",  # OpenStack (IPv6)
    "fe80::a9fe:a9fe%eth0",  # the same, scoped to an interface
    "::ffff:192.0.0.192",  # IPv4-mapped
    "100.100.100.200",  # Alibaba Cloud
    "168.63.129.16",  # Azure wire server
]


@pytest.mark.parametrize("address", CLOUD_METADATA)
def test_every_clouds_metadata_is_refused_whatever_is_allowed(address: str) -> None:
    """Widest settings: local addresses allowed, every network listed."""
    policy = AddressPolicy.of(True, ["0.0.0.0/0", "::/0"])
    assert policy.kind(address) == "metadata"
    assert AddressPolicy.of(False).kind(address) == "metadata"


@pytest.mark.parametrize(
    "text", ["192.168.1.0/33", "example.org", "10.0.0.0/8; DROP", "x" * 100]
)
def test_parse_networks_refuses_what_is_not_a_network(text: str) -> None:
    with pytest.raises(ValueError, match="is not a network"):
        parse_networks(text)


def test_parse_networks_default_and_forms() -> None:
    assert parse_networks(None) == DEFAULT_NETWORKS
    assert parse_networks("  ") == DEFAULT_NETWORKS
    assert parse_networks("192.168.1.7/24\n10.0.0.0/8") == (
        "192.168.1.0/24",
        "10.0.0.0/8",
    )
    with pytest.raises(ValueError):
        parse_networks([7])  # type: ignore[list-item]


def test_exchange_outside_the_networks_is_not_sent(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    """The simulator listens on loopback; allowed local addresses do not allow a
    network the administrator left out (checked before any connection)."""
    result = exchange(
        "127.0.0.1",
        simulator.port,
        request_1250,
        quiet_period=0.1,
        allow_local=True,
        networks=["192.168.1.0/24"],
    )
    assert result.outcome is Outcome.SUCCESS, result.error
    refused = exchange("8.8.8.8", simulator.port, request_1250, allow_local=True)
    assert refused.outcome is Outcome.NOT_SENT
    assert refused.refusal is not None and refused.refusal.kind == "outside"
    ok, reason, refusal = probe("100.100.100.200", 80, allow_local=True)
    assert not ok and refusal is not None and refusal.kind == "metadata"
    assert "metadata" in reason
