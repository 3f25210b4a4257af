"""A minimal WebSocket client (RFC 6455) on the standard library.

Enough for the shop relay to listen on Odoo's bus: one connection, text
messages, pings answered, no extension. Whatever the server (or a proxy in
between) sends that is not that is an error (:class:`WebSocketError`, an
``OSError``): the caller closes and falls back. Frames are parsed from a
buffer (:func:`parse_frame`), never trusted for their announced length.
"""

from __future__ import annotations

import base64
import hashlib
import os
import select
import socket
import ssl
import struct
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# The longest message accepted, whole or in fragments (Odoo's own limit).
MAX_MESSAGE = 2**20
# The longest handshake answer (status line and headers).
MAX_HEAD = 16 * 1024
OP_CONTINUE, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
DATA_OPS = (OP_CONTINUE, OP_TEXT, OP_BINARY)
CONTROL_OPS = (OP_CLOSE, OP_PING, OP_PONG)
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_BIG = 1009


class WebSocketError(ConnectionError):
    """The connection cannot go on (refused, broken, or not a websocket)."""


class HandshakeError(WebSocketError):
    """The server did not accept the websocket (``status``: its HTTP status,
    0 when it did not answer HTTP)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class TooBig(WebSocketError):
    """A frame or a message over :data:`MAX_MESSAGE`."""


class Closed(WebSocketError):
    """The server closed the connection, with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed by the server ({code} {reason})".strip())
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer to ``key``."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()  # noqa: S324
    return base64.b64encode(digest).decode("ascii")


def mask(payload: bytes, key: bytes) -> bytes:
    """``payload`` XOR the 4-byte ``key`` repeated (RFC 6455, 5.3)."""
    if not payload:
        return b""
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


def encode_frame(opcode: int, payload: bytes, key: bytes | None = None) -> bytes:
    """One final frame, masked as a client must (``key``: 4 random bytes)."""
    key = os.urandom(4) if key is None else key
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 2**16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return head + key + mask(payload, key)


def parse_frame(
    buffer: bytes | bytearray, limit: int = MAX_MESSAGE
) -> tuple[Frame | None, int]:
    """The first frame a server sent in ``buffer`` and the bytes it took, or
    ``(None, 0)`` while it is incomplete. Raises :class:`WebSocketError` for
    what a server may not send: a masked frame, reserved bits, an unknown
    opcode, a fragmented or long control frame, a payload over ``limit``
    (said from its header: its bytes are never awaited)."""
    if len(buffer) < 2:
        return None, 0
    first, second = buffer[0], buffer[1]
    fin, opcode, length = bool(first & 0x80), first & 0x0F, second & 0x7F
    if first & 0x70:
        raise WebSocketError("reserved bits set (no extension was agreed)")
    if second & 0x80:
        raise WebSocketError("masked frame from the server")
    if opcode not in DATA_OPS + CONTROL_OPS:
        raise WebSocketError(f"unknown opcode {opcode:#x}")
    if opcode in CONTROL_OPS and (not fin or length > 125):
        raise WebSocketError("invalid control frame")
    start = 2
    if length == 126:
        if len(buffer) < 4:
            return None, 0
        (length,) = struct.unpack_from("!H", buffer, 2)
        start = 4
    elif length == 127:
        if len(buffer) < 10:
            return None, 0
        (length,) = struct.unpack_from("!Q", buffer, 2)
        start = 10
    if length > limit:
        raise TooBig(f"frame of {length} bytes over the limit of {limit}")
    if len(buffer) < start + length:
        return None, 0
    return Frame(fin, opcode, bytes(buffer[start : start + length])), start + length


def proxy_for(scheme: str, host: str) -> str | None:
    """The HTTP proxy to tunnel through, from the environment (as urllib
    reads ``HTTPS_PROXY`` and ``NO_PROXY``); None for a direct connection."""
    if scheme != "https" or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get("https")


def _read_head(sock: socket.socket, deadline: float) -> tuple[bytes, bytes]:
    """An HTTP answer's head (up to its blank line) and the bytes after it."""
    data = bytearray()
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            raise HandshakeError("the server's answer has too long a head")
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(4096)
        if not chunk:
            raise HandshakeError("the server closed the connection before answering")
        data.extend(chunk)
    head, _sep, rest = bytes(data).partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HandshakeError(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _tunnel(proxy: str, host: str, port: int, deadline: float) -> socket.socket:
    """A TCP connection to ``host:port`` through an HTTP proxy's CONNECT."""
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    sock = socket.create_connection(
        (parts.hostname or "", parts.port or 3128),
        timeout=max(deadline - time.monotonic(), 0.001),
    )
    try:
        lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
        if parts.username:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
            lines.append(f"Proxy-Authorization: Basic {credentials}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head, rest = _read_head(sock, deadline)
        status, _headers = _parse_head(head)
        if status != 200 or rest:
            raise HandshakeError(f"the proxy refused the tunnel ({status})", status)
        return sock
    except BaseException:
        sock.close()
        raise


class WebSocket:
    """One client connection. Not thread-safe: one thread uses it."""

    def __init__(
        self,
        sock: socket.socket,
        received: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._sock = sock
        # The handshake answer's headers, names in lower case.
        self.headers = headers or {}
        self._buffer = bytearray(received)
        self._fragments: bytearray | None = None
        self._fragment_op = OP_TEXT
        self.closed = False

    # -- sending ----------------------------------------------------------
    def _send(self, opcode: int, payload: bytes) -> None:
        if self.closed:
            raise WebSocketError("the connection is closed")
        self._sock.settimeout(10.0)
        self._sock.sendall(encode_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode("utf-8"))

    def ping(self, payload: bytes = b"") -> None:
        self._send(OP_PING, payload[:125])

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Say goodbye (best effort) and close the socket."""
        if self.closed:
            return
        try:
            payload = struct.pack("!H", code) + reason.encode("utf-8")[:120]
            self._send(OP_CLOSE, payload)
        except OSError:
            pass
        finally:
            self.closed = True
            self._sock.close()

    # -- receiving --------------------------------------------------------
    def receive(self, timeout: float) -> str | bytes | None:
        """The next message, or None once ``timeout`` seconds passed without
        one. Pings are answered on the way; a close frame raises
        :class:`Closed`; anything invalid closes and raises
        :class:`WebSocketError`."""
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            while True:
                message = self._next_message()
                if message is not None:
                    return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._fill(remaining):
                    return None
        except Closed:
            raise
        except (WebSocketError, UnicodeDecodeError) as error:
            self.close(
                CLOSE_TOO_BIG if isinstance(error, TooBig) else CLOSE_PROTOCOL_ERROR
            )
            if isinstance(error, WebSocketError):
                raise
            raise WebSocketError(f"a text message that is not UTF-8: {error}") from None
        except OSError:
            self.closed = True
            self._sock.close()
            raise

    def _fill(self, timeout: float) -> bool:
        """Read what arrives within ``timeout``: False when nothing did."""
        pending = isinstance(self._sock, ssl.SSLSocket) and self._sock.pending()
        if not pending:
            readable, _w, _x = select.select([self._sock], [], [], timeout)
            if not readable:
                return False
        self._sock.settimeout(10.0)
        try:
            chunk = self._sock.recv(65536)
        except ssl.SSLWantReadError:
            return True  # TLS bytes that made no data yet
        if not chunk:
            raise WebSocketError(
                "the server closed the connection without a close frame"
            )
        self._buffer.extend(chunk)
        return True

    def _next_message(self) -> str | bytes | None:
        while True:
            frame, used = parse_frame(self._buffer, MAX_MESSAGE)
            if frame is None:
                return None
            del self._buffer[:used]
            message = self._take(frame)
            if message is not None:
                return message

    def _take(self, frame: Frame) -> str | bytes | None:
        if frame.opcode == OP_PING:
            self._send(OP_PONG, frame.payload)
            return None
        if frame.opcode == OP_PONG:
            return None
        if frame.opcode == OP_CLOSE:
            raise self._closed_by_server(frame.payload)
        if frame.opcode == OP_CONTINUE:
            if self._fragments is None:
                raise WebSocketError("a continuation frame without a start")
            self._fragments.extend(frame.payload)
        else:
            if self._fragments is not None:
                raise WebSocketError("a new message inside a fragmented one")
            self._fragments = bytearray(frame.payload)
            self._fragment_op = frame.opcode
        if len(self._fragments) > MAX_MESSAGE:
            raise TooBig(f"message over the limit of {MAX_MESSAGE} bytes")
        if not frame.fin:
            return None
        payload, self._fragments = bytes(self._fragments), None
        return payload.decode("utf-8") if self._fragment_op == OP_TEXT else payload

    def _closed_by_server(self, payload: bytes) -> Closed:
        code, reason = CLOSE_NORMAL, ""
        if len(payload) >= 2:
            (code,) = struct.unpack("!H", payload[:2])
            reason = payload[2:].decode("utf-8", "replace")
        # Answer the close (best effort), then the connection is over.
        try:
            self._send(OP_CLOSE, payload[:2])
        except OSError:
            pass
        self.closed = True
        self._sock.close()
        return Closed(code, reason[:200])


def connect(
    url: str,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> WebSocket:
    """Open a websocket to ``url`` (``ws://`` or ``wss://``), through the
    environment's HTTPS proxy for ``wss``. Raises :class:`HandshakeError`
    when the server does not switch protocols exactly as it must."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"invalid websocket URL {url!r}")
    secure = parts.scheme == "wss"
    host, port = parts.hostname, parts.port or (443 if secure else 80)
    deadline = time.monotonic() + timeout
    proxy = proxy_for("https" if secure else "http", host)
    if proxy:
        sock = _tunnel(proxy, host, port, deadline)
    else:
        sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if secure:
            context = context or ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        netloc = host if ":" not in host else f"[{host}]"
        if parts.port:
            netloc += f":{parts.port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head, rest = _read_head(sock, deadline)
        status, answer = _parse_head(head)
        if status != 101:
            raise HandshakeError(f"the server answered {status}, not 101", status)
        if answer.get("upgrade", "").lower() != "websocket" or "upgrade" not in (
            answer.get("connection", "").lower()
        ):
            raise HandshakeError("the server did not upgrade to websocket", status)
        if answer.get("sec-websocket-accept") != accept_key(key):
            raise HandshakeError("wrong Sec-WebSocket-Accept", status)
        if answer.get("sec-websocket-extensions") or answer.get(
            "sec-websocket-protocol"
        ):
            raise HandshakeError("an extension or subprotocol nobody asked for", status)
        return WebSocket(sock, rest, answer)
    except BaseException:
        sock.close()
        raise
