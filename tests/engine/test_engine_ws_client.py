"""The relay's websocket client against servers that behave, and that do not:
each misbehaviour ends in a WebSocketError (an OSError), never a hang nor a
message taken for true."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest
from fake_websocket import ScriptedServer, accept, frame, read_frame

from caisse_ap import ws_client
from caisse_ap.ws_client import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(handler: Callable[[socket.socket, str], None]) -> ScriptedServer:
        server = ScriptedServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
        assert server.errors == []


def wait_closed(conn: socket.socket) -> None:
    """Until the client closes its end (what it sends before is ignored)."""
    conn.settimeout(5)
    while conn.recv(4096):
        pass


def test_messages_pings_and_sending(serve: Callable[..., ScriptedServer]) -> None:
    received: list[tuple[int, bytes]] = []

    def handler(conn: socket.socket, head: str) -> None:
        accept(conn, head)
        conn.sendall(frame(OP_PING, b"are you there") + frame(OP_TEXT, b"hello"))
        received.append(read_frame(conn))  # the pong
        received.append(read_frame(conn))  # the client's text
        # A message in three fragments, a control frame in between.
        conn.sendall(
            frame(OP_TEXT, b"caf", fin=False)
            + frame(OP_PING, b"")
            + frame(0x0, "é ".encode(), fin=False)
            + frame(0x0, b"ok")
        )
        received.append(read_frame(conn))
        wait_closed(conn)

    server = serve(handler)
    websocket = ws_client.connect(server.url, timeout=5, headers={"Origin": "x"})
    assert websocket.receive(5) == "hello"
    websocket.send_text("subscribe")
    assert websocket.receive(5) == "café ok"
    websocket.close()
    deadline = time.monotonic() + 5
    while len(received) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)  # the server's thread reads the last pong
    assert received == [
        (OP_PONG, b"are you there"),
        (OP_TEXT, b"subscribe"),
        (OP_PONG, b""),
    ]
    assert "Origin: x" in server.heads[0]
    assert "Sec-WebSocket-Version: 13" in server.heads[0]


def test_silence_is_no_message(serve: Callable[..., ScriptedServer]) -> None:
    def handler(conn: socket.socket, head: str) -> None:
        accept(conn, head)
        wait_closed(conn)

    websocket = ws_client.connect(serve(handler).url, timeout=5)
    started = time.monotonic()
    assert websocket.receive(0.2) is None
    assert time.monotonic() - started < 2
    websocket.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
        b"Connection: Upgrade\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        b"HTTP/1.1 101 OK\r\n" + b"X-Padding: " + b"a" * 20000 + b"\r\n\r\n",
        b"",
    ],
    ids=["502", "200", "wrong-accept", "other-upgrade", "not-http", "huge-head", "eof"],
)
def test_a_bad_handshake_is_refused(
    serve: Callable[..., ScriptedServer], answer: bytes
) -> None:
    def handler(conn: socket.socket, _head: str) -> None:
        conn.sendall(answer)
        conn.shutdown(socket.SHUT_WR)
        wait_closed(conn)

    with pytest.raises(ws_client.HandshakeError) as refused:
        ws_client.connect(serve(handler).url, timeout=5)
    if answer.startswith(b"HTTP/1.1 502"):
        assert refused.value.status == 502


def test_an_extension_nobody_asked_for_is_refused(
    serve: Callable[..., ScriptedServer],
) -> None:
    def handler(conn: socket.socket, head: str) -> None:
        accept(conn, head, extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
        wait_closed(conn)

    with pytest.raises(ws_client.HandshakeError):
        ws_client.connect(serve(handler).url, timeout=5)


def test_a_silent_server_times_out(serve: Callable[..., ScriptedServer]) -> None:
    def handler(conn: socket.socket, _head: str) -> None:
        wait_closed(conn)

    started = time.monotonic()
    with pytest.raises(OSError):
        ws_client.connect(serve(handler).url, timeout=0.3)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "sent",
    [
        # Announces 2**62 bytes: refused from its header, nothing awaited.
        struct.pack("!BBQ", 0x81, 127, 2**62),
        # Just over the limit, all of it sent.
        frame(OP_TEXT, b"a" * (ws_client.MAX_MESSAGE + 1)),
        # Fragments adding up to more than the limit.
        frame(OP_TEXT, b"a" * ws_client.MAX_MESSAGE, fin=False) + frame(0x0, b"a"),
    ],
    ids=["announced", "sent", "fragments"],
)
def test_an_oversized_message_closes(
    serve: Callable[..., ScriptedServer], sent: bytes
) -> None:
    closes: list[tuple[int, bytes]] = []

    def handler(conn: socket.socket, head: str) -> None:
        accept(conn, head)
        try:
            conn.sendall(sent)
        except OSError:
            pass
        closes.append(read_frame(conn))
        wait_closed(conn)

    websocket = ws_client.connect(serve(handler).url, timeout=5)
    started = time.monotonic()
    with pytest.raises(ws_client.TooBig):
        while True:
            websocket.receive(5)
    assert time.monotonic() - started < 5
    assert websocket.closed
    deadline = time.monotonic() + 5
    while not closes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closes == [(OP_CLOSE, struct.pack("!H", ws_client.CLOSE_TOO_BIG))]


@pytest.mark.parametrize(
    "sent",
    [
        struct.pack("!BB", 0x81, 0x80 | 2) + b"\0\0\0\0hi",  # masked by the server
        struct.pack("!BB", 0xC1, 2) + b"hi",  # a reserved bit (compression)
        struct.pack("!BB", 0x83, 2) + b"hi",  # an unknown opcode
        frame(OP_PING, b"p", fin=False),  # a fragmented control frame
        struct.pack("!BB", 0x89, 126) + struct.pack("!H", 200) + b"p" * 200,
        frame(0x0, b"orphan"),  # a continuation without a start
        frame(OP_TEXT, b"\xff\xfe"),  # not UTF-8
    ],
    ids=[
        "masked",
        "rsv",
        "opcode",
        "control-fragment",
        "long-control",
        "orphan",
        "utf8",
    ],
)
def test_an_invalid_frame_closes(
    serve: Callable[..., ScriptedServer], sent: bytes
) -> None:
    def handler(conn: socket.socket, head: str) -> None:
        accept(conn, head)
        conn.sendall(sent)
        wait_closed(conn)

    websocket = ws_client.connect(serve(handler).url, timeout=5)
    with pytest.raises(ws_client.WebSocketError):
        websocket.receive(5)
    assert websocket.closed


def test_the_servers_close_is_answered_and_raised(
    serve: Callable[..., ScriptedServer],
) -> None:
    answered: list[tuple[int, bytes]] = []

    def handler(conn: socket.socket, head: str) -> None:
        accept(conn, head)
        conn.sendall(frame(OP_CLOSE, struct.pack("!H", 1008) + b"invalid token"))
        answered.append(read_frame(conn))
        wait_closed(conn)

    websocket = ws_client.connect(serve(handler).url, timeout=5)
    with pytest.raises(ws_client.Closed) as closed:
        websocket.receive(5)
    assert (closed.value.code, closed.value.reason) == (1008, "invalid token")
    assert websocket.closed
    deadline = time.monotonic() + 5
    while not answered and time.monotonic() < deadline:
        time.sleep(0.02)
    assert answered == [(OP_CLOSE, struct.pack("!H", 1008))]
    with pytest.raises(ws_client.WebSocketError):
        websocket.send_text("too late")


def test_a_dropped_connection_is_an_error(
    serve: Callable[..., ScriptedServer],
) -> None:
    def handler(conn: socket.socket, head: str) -> None:
        accept(conn, head)
        conn.sendall(frame(OP_TEXT, b"half")[:3])
        conn.shutdown(socket.SHUT_RDWR)

    websocket = ws_client.connect(serve(handler).url, timeout=5)
    with pytest.raises(OSError):
        websocket.receive(5)


def test_through_the_https_proxy_of_the_environment(
    serve: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``wss`` connection asks the proxy for a tunnel (its refusal is a
    refused handshake), with the proxy's credentials when it has some."""

    def proxy(conn: socket.socket, _head: str) -> None:
        conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
        wait_closed(conn)

    server = serve(proxy)
    monkeypatch.setenv("HTTPS_PROXY", f"http://shop:s3cret@127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(ws_client.HandshakeError) as refused:
        ws_client.connect("wss://odoo.example.com/websocket", timeout=5)
    assert refused.value.status == 407
    head = server.heads[0]
    assert head.startswith("CONNECT odoo.example.com:443 HTTP/1.1")
    assert "Proxy-Authorization: Basic c2hvcDpzM2NyZXQ=" in head
