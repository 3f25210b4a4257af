"""asyncio twin of :func:`caisse_ap.transport.exchange`.

One event loop can wait for many terminals: N concurrent payments cost N
coroutines, not N thread stacks (and malloc arenas). The stop rules, the
decoder and the classification are those of :mod:`caisse_ap.transport`
(shared code); only the waiting differs.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from .connect import CANCEL_POLL, Cancelled
from .decoder import MAX_ANSWER_SIZE
from .frame import ProtocolError
from .request import PaymentRequest
from .transport import (
    CONNECT_ERRORS,
    RECV_SIZE,
    ExchangeResult,
    Outcome,
    _Exchange,
    cancelled_before_sending,
    connect_failed,
    prepare,
)

# asyncio.TimeoutError is TimeoutError only from Python 3.11.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)


def _is_set(cancel_event: threading.Event | None) -> bool:
    return cancel_event is not None and cancel_event.is_set()


async def _resolve(host: str, port: int) -> list[tuple]:
    try:
        # A numeric address (the usual case) needs no resolver thread.
        return socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except socket.gaierror:
        loop = asyncio.get_running_loop()
        return await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def _connect_one(
    address: tuple, family: int, deadline: float, cancel_event: threading.Event | None
) -> socket.socket:
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        connecting = asyncio.ensure_future(loop.sock_connect(sock, address))
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("connection timed out")
                done, _pending = await asyncio.wait(
                    {connecting}, timeout=min(CANCEL_POLL, remaining)
                )
                if done:
                    connecting.result()
                    return sock
                if _is_set(cancel_event):
                    raise Cancelled()
        finally:
            if not connecting.done():
                connecting.cancel()
                # Let the loop drop its watch on the fd before the fd is closed.
                await asyncio.gather(connecting, return_exceptions=True)
    except BaseException:
        sock.close()
        raise


async def connect_async(
    host: str, port: int, timeout: float, cancel_event: threading.Event | None = None
) -> socket.socket:
    """Connected non-blocking socket: same rules and errors as ``connect.connect``."""
    deadline = time.monotonic() + timeout
    try:
        # Name resolution counts in the connection timeout.
        infos = await asyncio.wait_for(_resolve(host, port), timeout)
    except _TIMEOUTS:
        raise TimeoutError(f"resolving {host} timed out") from None
    last_error: OSError = OSError(f"no address for {host}")
    for family, _type, _proto, _name, address in infos:
        if _is_set(cancel_event):
            raise Cancelled()
        if time.monotonic() >= deadline:
            break
        try:
            return await _connect_one(address, family, deadline, cancel_event)
        except OSError as error:
            last_error = error
    raise last_error


async def exchange_async(
    host: str,
    port: int,
    request: PaymentRequest,
    *,
    connect_timeout: float = 5.0,
    answer_timeout: float = 180.0,
    quiet_period: float = 0.3,
    max_answer_size: int = MAX_ANSWER_SIZE,
    cancel_event: threading.Event | None = None,
) -> ExchangeResult:
    """Same arguments, semantics and outcomes as ``transport.exchange``.

    Cancelling the task itself (``Task.cancel``) closes the socket and
    propagates ``CancelledError``: the caller then decides the outcome.
    """
    state, early = prepare(
        host,
        port,
        request,
        connect_timeout,
        answer_timeout,
        quiet_period,
        max_answer_size,
        cancel_event,
    )
    if early:
        return early
    try:
        sock = await connect_async(host, port, connect_timeout, cancel_event)
    except (Cancelled, *CONNECT_ERRORS) as error:
        return connect_failed(state, host, port, error, connect_timeout)
    with sock:
        early = cancelled_before_sending(state)
        if early:
            return early
        loop = asyncio.get_running_loop()
        where = state.where
        state.log_sending()
        try:
            await asyncio.wait_for(
                loop.sock_sendall(sock, state.frame), max(connect_timeout, 1.0)
            )
        except (OSError, *_TIMEOUTS) as error:
            # Part of the frame may have left: the terminal may have it.
            return state.finish(
                Outcome.NO_ANSWER, f"sending to {where} failed: {error}"
            )
        state.sent = True
        try:
            why, detail = await _read(loop, sock, state)
        except ProtocolError as error:
            return state.finish(Outcome.MALFORMED, f"invalid answer: {error}")
        return state.conclude(why, detail)


async def _read(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, state: _Exchange
) -> tuple[str, str]:
    """The asyncio form of ``_Exchange.read``: same steps, awaited."""
    deadline = time.monotonic() + state.answer_timeout
    while True:
        why, wait = state.read_step(deadline)
        if why:
            return why, ""
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, RECV_SIZE), wait)
        except _TIMEOUTS:
            continue
        except OSError as error:
            return "reset", str(error)
        if state.received(chunk):
            return "closed", ""
