"""TCP connect with a timeout that can also be abandoned from another thread."""

from __future__ import annotations

import errno
import os
import selectors
import socket
import threading
import time

# How often a blocking wait looks at the cancel flag (the contract says <= 1 s).
CANCEL_POLL = 0.2


class Cancelled(Exception):
    """The cancel flag was set before the connection was made."""


def _is_set(cancel_event: threading.Event | None) -> bool:
    return cancel_event is not None and cancel_event.is_set()


def _connect_one(
    address: tuple, family: int, deadline: float, cancel_event: threading.Event | None
) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            raise OSError(code, os.strerror(code))
        # selectors rather than select(): Odoo processes may hold fds >= 1024.
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_WRITE)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("connection timed out")
                if selector.select(min(CANCEL_POLL, remaining)):
                    break
                if _is_set(cancel_event):
                    raise Cancelled()
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))
        sock.setblocking(True)
        return sock
    except BaseException:
        sock.close()
        raise


def connect(
    host: str, port: int, timeout: float, cancel_event: threading.Event | None = None
) -> socket.socket:
    """Connected blocking socket; tries every address of ``host`` within ``timeout``.

    Raises ``socket.gaierror`` (name resolution), ``TimeoutError``,
    ``OSError`` (refused, unreachable...) or :class:`Cancelled`.
    """
    deadline = time.monotonic() + timeout
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last_error: OSError = OSError(f"no address for {host}")
    for family, _type, _proto, _name, address in infos:
        if _is_set(cancel_event):
            raise Cancelled()
        if time.monotonic() >= deadline:
            break
        try:
            return _connect_one(address, family, deadline, cancel_event)
        except OSError as error:
            last_error = error
    raise last_error
