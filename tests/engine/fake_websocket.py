"""Server-side pieces of RFC 6455 for the engine's tests: a scripted TCP
server whose handler plays a websocket server, well-behaved or hostile."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

from caisse_ap import ws_client


class ScriptedServer:
    """Accepts connections on 127.0.0.1 and runs ``handler(conn, head)`` for
    each in a thread (``head``: the client's request head, decoded)."""

    def __init__(self, handler: Callable[[socket.socket, str], None]) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self._stopped = threading.Event()
        self.port = self.listener.getsockname()[1]
        self.heads: list[str] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            head = read_head(conn)
            self.heads.append(head)
            self.handler(conn, head)
        except OSError:
            pass
        except BaseException as error:  # reported by the test
            self.errors.append(error)

    def close(self) -> None:
        self._stopped.set()
        self._accepting.join(5)
        self.listener.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        for thread in self._threads:
            thread.join(5)


def read_head(conn: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def header(head: str, name: str) -> str:
    for line in head.split("\r\n")[1:]:
        key, _sep, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return ""


def accept(conn: socket.socket, head: str, extra: str = "") -> None:
    """Answer the handshake as a server must."""
    key = ws_client.accept_key(header(head, "Sec-WebSocket-Key"))
    conn.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Accept: {key}\r\n{extra}\r\n"
        ).encode()
    )


def frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    """A server frame (unmasked)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        return struct.pack("!BB", first, length) + payload
    if length < 2**16:
        return struct.pack("!BBH", first, 126, length) + payload
    return struct.pack("!BBQ", first, 127, length) + payload


def read_frame(conn: socket.socket) -> tuple[int, bytes]:
    """A client frame, unmasked: ``(opcode, payload)``."""

    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = conn.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the client went away")
            data += chunk
        return data

    first, second = exactly(2)
    assert second & 0x80, "a client frame must be masked"
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", exactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", exactly(8))
    key = exactly(4)
    return first & 0x0F, ws_client.mask(exactly(length), key)
