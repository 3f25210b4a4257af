"""The shop relay woken by Odoo's bus, against a fake Odoo that serves its
websocket: told at once, it polls rarely while idle; without the bus, or when
the bus stops answering, it polls as before."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from fake_websocket import accept, frame, read_frame
from test_engine_relay import LIVENESS, TOKEN, FakeOdoo, payment_job, until

from caisse_ap import relay_bus, relay_wire
from caisse_ap.relay import Client, Relay
from caisse_ap.relay_bus import bus_url, notification_types, session_cookie
from caisse_ap.simulator import TerminalSimulator
from caisse_ap.ws_client import OP_CLOSE, OP_TEXT


class BusOdoo(FakeOdoo):
    """FakeOdoo with a bus: ``/websocket`` answers each relay subscribe with
    READY (``bus_mode`` "ready"), with nothing ("mute"), closes it as a
    wrong token as Odoo does (4001: "refuse"), or is refused (502: "off")."""

    def __init__(self) -> None:
        self.bus_mode = "ready"
        self.subscribes: list[dict] = []
        self.bus_heads: list[str] = []
        self.connections: list[socket.socket] = []
        self.bus_lock = threading.Lock()
        super().__init__()

    def notify(self, kind: str) -> None:
        """A notification of ``kind`` to every open bus connection."""
        message = json.dumps([{"id": 1, "message": {"type": kind, "payload": {}}}])
        with self.bus_lock:
            for conn in self.connections:
                try:
                    conn.sendall(frame(OP_TEXT, message.encode()))
                except OSError:
                    pass

    def drop_bus(self) -> None:
        with self.bus_lock:
            for conn in self.connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.connections.clear()

    def stop(self) -> None:
        self.drop_bus()
        super().stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self
        base = super()._handler()

        class Handler(base):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                head = f"GET {self.path}\r\n" + "".join(
                    f"{name}: {value}\r\n" for name, value in self.headers.items()
                )
                fake.bus_heads.append(head)
                if self.path != relay_wire.PATH_BUS or fake.bus_mode == "off":
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = self.connection
                accept(conn, head, extra="Set-Cookie: session_id=abc; HttpOnly\r\n")
                with fake.bus_lock:
                    fake.connections.append(conn)
                try:
                    self._serve_bus(conn)
                except OSError:
                    pass
                self.close_connection = True

            def _serve_bus(self, conn: socket.socket) -> None:
                while True:
                    opcode, payload = read_frame(conn)
                    if opcode == OP_CLOSE:
                        return
                    if opcode != OP_TEXT:
                        continue
                    data = json.loads(payload)["data"]
                    fake.subscribes.append(data)
                    if fake.bus_mode == "refuse":
                        conn.sendall(frame(OP_CLOSE, struct.pack("!H", 4001)))
                        return
                    if fake.bus_mode == "ready":
                        fake.notify(relay_wire.BUS_READY)

        return Handler


@pytest.fixture
def odoo() -> Iterator[BusOdoo]:
    fake = BusOdoo().start()
    yield fake
    fake.stop()


@pytest.fixture
def run_relay() -> Iterator[Callable[..., Relay]]:
    running: list[tuple[Relay, threading.Thread]] = []

    def run(url: str, interval: float = 0.05, bus: bool = True) -> Relay:
        relay = Relay(Client(url, TOKEN), wait=0, interval=interval, bus=bus)
        thread = threading.Thread(target=relay.run)
        thread.start()
        running.append((relay, thread))
        return relay

    yield run
    for relay, thread in running:
        relay.stop()
        thread.join(LIVENESS)


def test_a_notification_wakes_the_relay_which_claims_at_once(
    odoo: BusOdoo, run_relay: Callable[..., Relay], simulator: TerminalSimulator
) -> None:
    # Polling alone would take 30 s: only the bus can bring it sooner.
    relay = run_relay(odoo.url, interval=30)
    until(lambda: relay.listening)
    subscribe = odoo.subscribes[0]
    assert subscribe["channels"] == []
    assert subscribe[relay_wire.BUS_KEY]["token"] == TOKEN
    assert subscribe[relay_wire.BUS_KEY]["protocol"] == relay_wire.PROTOCOL
    assert "Origin: " + odoo.url in odoo.bus_heads[0]
    until(lambda: len(odoo.polls) >= 1)
    time.sleep(0.2)
    polls = len(odoo.polls)
    odoo.jobs.append(payment_job(7, simulator))
    started = time.monotonic()
    odoo.notify(relay_wire.BUS_WORK)
    until(lambda: odoo.results)
    assert time.monotonic() - started < 2
    assert odoo.results[0]["transaction_id"] == 7
    assert len(simulator.exchanges) == 1
    assert len(odoo.polls) <= polls + 2


def test_an_idle_relay_on_the_bus_polls_rarely(
    odoo: BusOdoo, run_relay: Callable[..., Relay]
) -> None:
    relay = run_relay(odoo.url, interval=0.05)
    until(lambda: relay.listening)
    time.sleep(1.5)
    # Its first poll, and one when the bus answered: not one every 0.05 s.
    assert len(odoo.polls) <= 3
    assert all(poll["wait"] == 0 for poll in odoo.polls[1:])


def test_heartbeats_say_the_relay_is_there(
    odoo: BusOdoo, run_relay: Callable[..., Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_bus, "BUS_HEARTBEAT", 0.2)
    relay = run_relay(odoo.url)
    until(lambda: len(odoo.subscribes) >= 4)
    assert relay.listening
    assert all(s[relay_wire.BUS_KEY]["token"] == TOKEN for s in odoo.subscribes)
    # One connection, one session: the cookie comes back only on a new one.
    assert len(odoo.bus_heads) == 1


def test_without_the_bus_the_relay_polls_and_pays(
    odoo: BusOdoo, run_relay: Callable[..., Relay], simulator: TerminalSimulator
) -> None:
    odoo.bus_mode = "off"  # a proxy that does not route /websocket
    relay = run_relay(odoo.url, interval=0.05)
    until(lambda: len(odoo.bus_heads) >= 1)
    odoo.jobs.append(payment_job(8, simulator))
    until(lambda: odoo.results)
    assert not relay.listening
    until(lambda: len(odoo.polls) >= 10)


def test_a_silent_bus_is_not_trusted(
    odoo: BusOdoo,
    run_relay: Callable[..., Relay],
    monkeypatch: pytest.MonkeyPatch,
    simulator: TerminalSimulator,
) -> None:
    """Connected but never answering the subscription (an older Odoo, whose
    bus ignores the relay's key): the relay keeps polling."""
    monkeypatch.setattr(relay_bus, "BUS_READY_TIMEOUT", 0.3)
    odoo.bus_mode = "mute"
    relay = run_relay(odoo.url, interval=0.05)
    until(lambda: len(odoo.subscribes) >= 1)
    odoo.jobs.append(payment_job(9, simulator))
    until(lambda: odoo.results)
    until(lambda: len(odoo.polls) >= 10)
    assert not relay.listening


def test_a_lost_bus_brings_the_polls_back(
    odoo: BusOdoo, run_relay: Callable[..., Relay], simulator: TerminalSimulator
) -> None:
    relay = run_relay(odoo.url, interval=0.05)
    until(lambda: relay.listening)
    odoo.bus_mode = "off"
    odoo.drop_bus()
    until(lambda: not relay.listening)
    polls = len(odoo.polls)
    until(lambda: len(odoo.polls) >= polls + 5)
    odoo.jobs.append(payment_job(10, simulator))
    until(lambda: odoo.results)


def test_a_refused_token_on_the_bus_is_logged(
    odoo: BusOdoo, run_relay: Callable[..., Relay], caplog: pytest.LogCaptureFixture
) -> None:
    odoo.bus_mode = "refuse"
    with caplog.at_level(logging.ERROR, "caisse_ap.relay"):
        relay = run_relay(odoo.url, interval=0.05)
        until(lambda: "refused this relay's subscription" in caplog.text)
    assert not relay.listening
    until(lambda: len(odoo.polls) >= 5)


def test_poll_only_when_asked(odoo: BusOdoo, run_relay: Callable[..., Relay]) -> None:
    run_relay(odoo.url, interval=0.05, bus=False)
    until(lambda: len(odoo.polls) >= 5)
    assert odoo.bus_heads == []


def test_bus_addresses_and_messages() -> None:
    assert bus_url("https://shop.odoo.com") == "wss://shop.odoo.com/websocket"
    assert bus_url("http://127.0.0.1:8069/") == "ws://127.0.0.1:8069/websocket"
    assert session_cookie("session_id=abc; HttpOnly; Path=/") == "session_id=abc"
    assert session_cookie("other=1; Path=/") == ""
    assert notification_types(
        '[{"id": 1, "message": {"type": "a", "payload": {}}}, {"id": 2}, 3]'
    ) == {"a"}
    for invalid in ("{}", "not json", b"[]"):
        with pytest.raises(ValueError):
            notification_types(invalid)
