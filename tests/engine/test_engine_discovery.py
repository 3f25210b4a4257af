"""Finding terminals: what accepts a connection, nothing sent, bounded, policed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from caisse_ap import discovery
from caisse_ap.address import AddressPolicy
from caisse_ap.simulator import Scenario, TerminalSimulator

LOCAL = AddressPolicy.of(True)
DEFAULT = AddressPolicy.of(False)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Listener:
    """A plain TCP listener that keeps every byte any connection sent it."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.1)
        self.received = b""
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(0.3)
                try:
                    while chunk := conn.recv(1024):
                        self.received += chunk
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def shop() -> Iterator[tuple[int, list[TerminalSimulator], Listener]]:
    """Two simulated terminals and one bare listener on one port of 127.0.0.0/29."""
    port = _free_port("127.0.0.2")
    terminals = [
        TerminalSimulator(host, port, Scenario(delay=0))
        for host in ("127.0.0.2", "127.0.0.5")
    ]
    for terminal in terminals:
        terminal.start()
    listener = Listener("127.0.0.6", port)
    yield port, terminals, listener
    for terminal in terminals:
        terminal.stop()
    listener.stop()


def test_finds_what_listens_and_sends_nothing(shop) -> None:
    port, terminals, listener = shop
    result = discovery.scan("127.0.0.0/29", port, LOCAL)
    assert result.found == ("127.0.0.2", "127.0.0.5", "127.0.0.6")
    assert result.probed == 6 and result.complete
    assert result.network == "127.0.0.0/29" and result.port == port
    time.sleep(0.4)  # let the listener read whatever might have come
    assert listener.connections == 1 and listener.received == b""
    assert all(terminal.exchanges == [] for terminal in terminals)


def test_a_lone_address_and_a_loose_network_are_read_as_meant(shop) -> None:
    port, _terminals, _listener = shop
    assert discovery.scan("127.0.0.5", port, LOCAL).found == ("127.0.0.5",)
    # Host bits set: the network that holds the address.
    assert discovery.scan(" 127.0.0.3/30 ", port, LOCAL).found == ("127.0.0.2",)


@pytest.mark.parametrize(
    ("network", "code"),
    [
        ("10.0.0.0/21", "too_wide"),
        ("fd00::/117", "too_wide"),
        ("0.0.0.0/0", "too_wide"),
        ("127.0.0.0/30", "loopback"),
        ("192.0.2.0/24", "outside"),
        ("169.254.169.0/24", "link-local"),
        ("169.254.169.254/32", "metadata"),
        ("not a network", "not_a_network"),
        ("", "not_a_network"),
        ("10.0.0.0/8" + "0" * 80, "not_a_network"),
    ],
)
def test_a_network_the_policy_refuses_is_refused_whole(network, code) -> None:
    with pytest.raises(discovery.ScanRefused) as refused:
        discovery.scan(network, 8888, DEFAULT)
    assert refused.value.code == code


@pytest.mark.parametrize("value", [None, 12, ["10.0.0.0/24"], b"10.0.0.0/24"])
def test_a_network_that_is_no_text_is_refused(value) -> None:
    with pytest.raises(discovery.ScanRefused) as refused:
        discovery.scan(value, 8888, DEFAULT)
    assert refused.value.code == "not_a_network"


@pytest.mark.parametrize("port", [0, -1, 65536, "8888", True, None])
def test_a_bad_port_is_refused(port) -> None:
    with pytest.raises(discovery.ScanRefused) as refused:
        discovery.scan("10.0.0.0/30", port, DEFAULT)
    assert refused.value.code == "bad_port"


def test_the_widest_network_allowed_is_a_22() -> None:
    network = discovery.parse_network("10.1.4.0/22")
    assert len(discovery.targets(network, DEFAULT)) == 1022


def test_metadata_and_own_addresses_are_left_out_not_fatal() -> None:
    policy = AddressPolicy.of(False, ["fd20:ce::200/120"])
    kept = discovery.targets(discovery.parse_network("fd20:ce::200/120"), policy)
    assert "fd20:ce::254" not in kept and "fd20:ce::253" in kept
    # The machine's own address inside an allowed network is skipped too.
    own = _own_private_address()
    if own is not None:
        policy = AddressPolicy.of(False, [f"{own}/30"])
        kept = discovery.targets(discovery.parse_network(f"{own}/30"), policy)
        assert own not in kept


def _own_private_address() -> str | None:
    """This machine's first private IPv4 address, if it has one."""
    for _family, _type, _proto, _name, address in socket.getaddrinfo(
        socket.gethostname(), None, socket.AF_INET
    ):
        text = address[0]
        if DEFAULT.kind(text, own_check=False) is None:
            return text
    return None


def test_the_budget_ends_the_scan(monkeypatch) -> None:
    async def never_answers(address: str, port: int, timeout: float) -> bool:
        await asyncio.sleep(60)
        return True

    monkeypatch.setattr(discovery, "_accepts", never_answers)
    started = time.monotonic()
    found, complete = asyncio.run(
        discovery.find_listeners(["10.0.0.1", "10.0.0.2"], 8888, budget=0.2)
    )
    assert found == [] and not complete
    assert time.monotonic() - started < 2


def test_connections_at_once_are_bounded(monkeypatch) -> None:
    in_flight, most = 0, 0

    async def slow(address: str, port: int, timeout: float) -> bool:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return address.endswith(".7")

    monkeypatch.setattr(discovery, "_accepts", slow)
    addresses = [f"10.0.0.{n}" for n in range(1, 255)]
    found, complete = asyncio.run(
        discovery.find_listeners(addresses, 8888, concurrency=16)
    )
    assert found == ["10.0.0.7"] and complete
    assert most == 16


def test_the_suggested_network_is_the_terminal_s_24_when_allowed() -> None:
    assert discovery.suggested_network(DEFAULT, "192.168.7.40") == "192.168.7.0/24"
    assert discovery.suggested_network(LOCAL, "127.0.0.9") == "127.0.0.0/24"


def test_no_suggestion_the_policy_would_refuse(monkeypatch) -> None:
    monkeypatch.setattr(discovery, "_own_ipv4_addresses", lambda: ["192.0.2.10"])
    assert discovery.suggested_network(DEFAULT, "203.0.113.5") is None
    assert discovery.suggested_network(DEFAULT, "not an address") is None
    monkeypatch.setattr(discovery, "_own_ipv4_addresses", lambda: ["10.1.2.3"])
    assert discovery.suggested_network(DEFAULT) == "10.1.2.0/24"
