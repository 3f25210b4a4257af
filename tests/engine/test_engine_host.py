"""One key per terminal: the spellings a resolver takes for one address."""

from __future__ import annotations

import socket

import pytest

from caisse_ap import AddressPolicy
from caisse_ap.host import canonical_host, terminal_key

# What the C resolver takes for 127.0.0.1 besides the dotted quad (inet_aton).
LOOPBACK_SPELLINGS = (
    "0x7f000001",
    "0X7F000001",
    "127.1",
    "127.0.1",
    "2130706433",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "127.0.0.0x1",
    "017700000001",
)


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_numeric_spellings_are_one_terminal(spelling: str) -> None:
    # The resolver itself says they are that address.
    assert socket.inet_aton(spelling) == socket.inet_aton("127.0.0.1")
    assert terminal_key(spelling, 8888) == terminal_key("127.0.0.1", 8888)
    assert canonical_host(spelling) == "127.0.0.1"


@pytest.mark.parametrize(
    "name", ["0x", "0x100000000", "4294967296", "1.16777216", "08", "1..2", "0xg"]
)
def test_what_the_resolver_refuses_as_a_number_stays_a_name(name: str) -> None:
    with pytest.raises(OSError):
        socket.inet_aton(name)
    assert canonical_host(name) == name
    assert terminal_key(name, 8888) == f"{name}:8888"


def test_ipv6_scope_is_written_one_way() -> None:
    keys = {
        terminal_key(host, 8888)
        for host in ("fe80::1%eth0", "FE80:0::1%25eth0", "fe80::0001%25ETH0")
    }
    assert keys == {"[fe80::1%eth0]:8888"}
    assert canonical_host("fe80::1%25eth0") == "fe80::1%eth0"
    # A zone of digits is an interface index: %251 is index 251, not %1.
    assert terminal_key("fe80::1%251", 8888) != terminal_key("fe80::1%1", 8888)


def test_names_keep_their_spelling_when_saved() -> None:
    assert canonical_host("TPE.Shop.LAN") == "TPE.Shop.LAN"
    assert canonical_host("10.0.0.7") == "10.0.0.7"
    assert canonical_host("0xa000007") == "10.0.0.7"
    assert canonical_host("::FFFF:10.0.0.7") == "::FFFF:10.0.0.7"


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("0x7f000001", "loopback"),
        ("127.1", "loopback"),
        ("2852039166", "metadata"),  # 169.254.169.254
        ("0xa9fea9fe", "metadata"),
        ("0xa000007", None),  # 10.0.0.7, a shop's private address
        ("0x08080808", "outside"),
    ],
)
def test_the_policy_judges_numeric_spellings_as_the_address(
    spelling: str, kind: str | None
) -> None:
    assert AddressPolicy.of(False).kind(spelling) == kind
