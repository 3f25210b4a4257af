"""The address policy after name resolution: a name that resolves to loopback or
link-local is refused before any connection, unless the caller allows it; the
connection goes to the checked address itself (one resolution only)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from caisse_ap import (
    AddressPolicy,
    AddressRefusal,
    Outcome,
    PaymentRequest,
    exchange,
    probe,
    relay_wire,
)
from caisse_ap import client as client_module
from caisse_ap.simulator import TerminalSimulator

NAME = "terminal.shop.example"  # .example never resolves for real


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on loopback that is never accepted from: a connection
    attempt would sit in its queue."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    yield server
    server.close()


def connections(server: socket.socket) -> int:
    """How many connections reached ``server`` (each accepted and closed)."""
    count = 0
    while True:
        try:
            sock, _address = server.accept()
        except BlockingIOError:
            return count
        sock.close()
        count += 1


def fake_dns(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    """Resolve NAME to ``addresses`` (any other host for real); the names asked."""
    asked: list[str] = []
    real = client_module.resolve

    async def resolve(host: str, port: int) -> list[tuple]:
        asked.append(host)
        if host != NAME:
            return await real(host, port)
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port),
            )
            for address in addresses
        ]

    monkeypatch.setattr(client_module, "resolve", resolve)
    return asked


def test_localhost_refused_after_resolution_unless_allowed(
    listener: socket.socket, request_1250: PaymentRequest
) -> None:
    """``localhost`` is resolved for real: its loopback addresses are refused."""
    port = listener.getsockname()[1]
    result = exchange("localhost", port, request_1250, connect_timeout=2)
    assert result.outcome is Outcome.NOT_SENT
    assert not result.outcome.is_unknown and result.sent is False
    assert result.refusal is not None and result.refusal.kind == "loopback"
    assert result.refusal.address in ("127.0.0.1", "::1")
    assert "refused" in result.error and "loopback" in result.error
    time.sleep(0.1)
    assert connections(listener) == 0, "no connection was even opened"


def test_localhost_allowed_when_the_caller_allows_it(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    result = exchange(
        "localhost", simulator.port, request_1250, quiet_period=0.1, allow_local=True
    )
    assert result.outcome is Outcome.SUCCESS, result.error
    assert result.refusal is None
    assert simulator.wait_for_exchanges(1, 5)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("127.0.0.1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_name_resolving_to_a_local_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    simulator: TerminalSimulator,
    request_1250: PaymentRequest,
    address: str,
    kind: str,
) -> None:
    fake_dns(monkeypatch, address)
    result = exchange(NAME, simulator.port, request_1250)
    assert result.outcome is Outcome.NOT_SENT
    assert result.refusal == AddressRefusal(NAME, address, kind)
    assert simulator.exchanges == []
    # Logged for the integrator, with what the name resolved to.
    assert f"resolves to {address}, a " in caplog.text


def test_only_the_allowed_addresses_of_a_name_are_used() -> None:
    infos = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 1)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.50", 1)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 1, 0, 0)),
    ]
    kept = client_module._checked(NAME, infos, AddressPolicy.of(False))
    assert [info[4][0] for info in kept] == ["192.168.1.50"]
    # Local addresses allowed: never a metadata address.
    kept = client_module._checked(NAME, infos, AddressPolicy.of(True))
    assert [info[4][0] for info in kept] == ["192.168.1.50", "::1"]


def test_connects_to_the_checked_address_without_resolving_again(
    monkeypatch: pytest.MonkeyPatch,
    simulator: TerminalSimulator,
    request_1250: PaymentRequest,
) -> None:
    """NAME does not resolve for real: the payment reaches the simulator only
    because the connection uses the address checked, from the one resolution."""
    asked = fake_dns(monkeypatch, "127.0.0.1")
    result = exchange(
        NAME, simulator.port, request_1250, quiet_period=0.1, allow_local=True
    )
    assert result.outcome is Outcome.SUCCESS, result.error
    assert asked == [NAME]
    assert simulator.wait_for_exchanges(1, 5)


def test_name_resolution_counts_in_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch, request_1250: PaymentRequest
) -> None:
    async def slow(host: str, port: int) -> list[tuple]:
        await asyncio.sleep(30)
        return []

    monkeypatch.setattr(client_module, "resolve", slow)
    started = time.monotonic()
    result = exchange(NAME, 8888, request_1250, connect_timeout=0.3)
    assert time.monotonic() - started < 5
    assert result.outcome is Outcome.NOT_SENT
    assert "timed out after 0.3 s" in result.error


def test_probe_refused_unless_allowed(simulator: TerminalSimulator) -> None:
    ok, reason, refusal = probe("localhost", simulator.port)
    assert not ok and "loopback" in reason
    assert refusal is not None and refusal.kind == "loopback"
    assert probe("localhost", simulator.port, allow_local=True) == (True, "", None)
    assert simulator.exchanges == []


def test_refusal_crosses_the_relay_wire(
    monkeypatch: pytest.MonkeyPatch, request_1250: PaymentRequest
) -> None:
    fake_dns(monkeypatch, "169.254.169.254")
    result = exchange(NAME, 80, request_1250)
    back = relay_wire.exchange_from_json(relay_wire.to_json(result))
    assert back.refusal == AddressRefusal(NAME, "169.254.169.254", "metadata")
    assert back.outcome is Outcome.NOT_SENT
    assert result.as_dict()["refusal"] == {
        "host": NAME,
        "address": "169.254.169.254",
        "kind": "metadata",
    }
