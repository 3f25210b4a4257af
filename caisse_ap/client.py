"""The point of sale's side of Caisse-AP over IP: asyncio, one request per connection.

:func:`exchange_async` sends a request and waits for its answer; one event
loop can wait for many terminals. Blocking callers use :func:`exchange` and
:func:`probe` (``asyncio.run`` underneath). The decisions (when the answer
is complete, what the outcome is) belong to the sans-I/O
:class:`~.exchange.Exchange`; this module only moves bytes and reads the
clock.

Reading never cancels a receive that may hold bytes: one read of the
stream stays pending across waits, and a stream keeps what it received even
when a read is cancelled. An answer that arrives while the loop is stalled
(a request thread holding the GIL, a slow log handler) is not lost.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any, NamedTuple

from .address import AddressPolicy, AddressRefusal, AddressRefused
from .decoder import MAX_ANSWER_SIZE
from .exchange import SETTLE_PERIOD, Exchange, ExchangeResult, Outcome
from .redact import LOG_LIMIT, redact_frame
from .request import PaymentRequest

_logger = logging.getLogger(__name__)

RECV_SIZE = 4096
# What a failed connection raises; every one means NOT_SENT.
CONNECT_ERRORS = (OSError, UnicodeError, ValueError, OverflowError)


def _bad_address(host: object, port: object) -> str:
    if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
        raise TypeError("host must be a str and port an int")
    if not host.strip():
        return "no terminal host configured"
    if not 0 < port < 65536:
        return f"invalid port {port} (1 to 65535)"
    return ""


def _connect_failure(host: str, port: int, error: BaseException, timeout: float) -> str:
    where = f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host {host!r}: {error.strerror or error}"
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return f"connection to {where} timed out after {timeout:g} s"
    if isinstance(error, ConnectionRefusedError) or "Connect call failed" in str(error):
        return f"connection to {where} refused (nothing listening on that port?)"
    return f"cannot connect to {where}: {error}"


async def _until(future: asyncio.Future, deadline: float) -> None:
    """Wait for ``future`` until ``deadline`` (monotonic), never cancelling it."""
    while not future.done():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        await asyncio.wait({future}, timeout=remaining)


async def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` results of ``host:port`` for TCP (tests replace it)."""
    loop = asyncio.get_running_loop()
    return await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def allowed_addresses(host: str, port: int, policy: AddressPolicy) -> list[str]:
    """The addresses ``host`` resolves to that ``policy`` allows, as
    :func:`connect` resolves it (none: OSError; all refused: empty)."""
    infos = await resolve(host, port)
    addresses = [str(info[4][0]) for info in infos]
    return [address for address in addresses if policy.kind(address) is None]


def _checked(
    host: str, infos: list[tuple[Any, ...]], policy: AddressPolicy
) -> list[tuple[Any, ...]]:
    """The resolved addresses the policy allows; AddressRefused when none is."""
    if not infos:
        raise OSError(f"no address for host {host!r}")
    kept = []
    refusal = None
    for info in infos:
        found = policy.refusal(host, str(info[4][0]))
        if found is None:
            kept.append(info)
        elif refusal is None:
            refusal = found
    if not kept:
        raise AddressRefused(refusal)  # type: ignore[arg-type]
    if refusal:
        _logger.warning(
            "Caisse-AP %s: %s; connecting to its other addresses only", host, refusal
        )
    return kept


async def _open(
    host: str, port: int, policy: AddressPolicy
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Resolve once, check, then connect to the checked socket addresses
    themselves: no second resolution can bring another address (DNS rebinding)."""
    loop = asyncio.get_running_loop()
    infos = _checked(host, await resolve(host, port), policy)
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, sockaddr)
        except OSError as failure:
            sock.close()
            error = failure
            continue
        except BaseException:
            sock.close()
            raise
        try:
            return await asyncio.open_connection(sock=sock)
        except BaseException:
            sock.close()
            raise
    raise error  # type: ignore[misc]


async def connect(
    host: str,
    port: int,
    timeout: float,
    *,
    allow_local: bool = False,
    networks: tuple[str, ...] | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a stream to ``host:port`` (every allowed address of ``host``) within
    ``timeout``, name resolution included.

    The addresses ``host`` resolves to that the address policy refuses
    (:mod:`.address`: ``allow_local`` and the allowed ``networks``, None for
    the private ones) are skipped; when none is left,
    :class:`~.address.AddressRefused` is raised and no connection was opened.
    Raises ``socket.gaierror``, ``TimeoutError``, ``OSError`` (refused,
    unreachable...).
    """
    opening = asyncio.ensure_future(
        _open(host, port, AddressPolicy.of(allow_local, networks))
    )
    try:
        await _until(opening, time.monotonic() + timeout)
    finally:
        if not opening.done():
            opening.cancel()
            # Let the loop drop the half-open socket before going on.
            await asyncio.gather(opening, return_exceptions=True)
    return opening.result()


class Probe(NamedTuple):
    """What "Test connection" found: ``refusal`` is set when the address
    policy refused the host (``ok`` is then False)."""

    ok: bool
    reason: str
    refusal: AddressRefusal | None = None


def _log_refusal(where: str, refusal: AddressRefusal) -> None:
    _logger.warning("Caisse-AP %s: %s", where, refusal)


async def probe_async(
    host: str,
    port: int,
    timeout: float = 3.0,
    *,
    allow_local: bool = False,
    networks: tuple[str, ...] | None = None,
) -> Probe:
    """Open and close a connection (nothing is sent)."""
    problem = _bad_address(host, port)
    if problem:
        return Probe(False, problem)
    try:
        _reader, writer = await connect(
            host, port, timeout, allow_local=allow_local, networks=networks
        )
    except AddressRefused as refused:
        _log_refusal(f"{host}:{port}", refused.refusal)
        return Probe(False, str(refused.refusal), refused.refusal)
    except CONNECT_ERRORS as error:
        return Probe(False, _connect_failure(host, port, error, timeout))
    writer.close()
    return Probe(True, "")


def probe(host: str, port: int, timeout: float = 3.0, **policy: Any) -> Probe:
    """Blocking :func:`probe_async` (``policy``: its ``allow_local``, ``networks``)."""
    return asyncio.run(probe_async(host, port, timeout, **policy))


def _check_arguments(
    request: object, max_answer_size: object, **timings: object
) -> None:
    """Programming errors raise; network and terminal problems never do."""
    if not isinstance(request, PaymentRequest):
        raise TypeError(
            f"request must be a PaymentRequest, not {type(request).__name__}"
        )
    for name, value in timings.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, not {value!r}")
    if not isinstance(max_answer_size, int) or max_answer_size < 1:
        raise ValueError(
            f"max_answer_size must be a positive int, not {max_answer_size!r}"
        )


class _Run:
    """One call of :func:`exchange_async`: the state plus the clock and the log."""

    def __init__(self, state: Exchange) -> None:
        self.state = state
        self.started = time.monotonic()

    def finish(
        self,
        outcome: Outcome,
        error: str = "",
        result=None,
        refusal: AddressRefusal | None = None,
    ) -> ExchangeResult:
        state = self.state
        done = ExchangeResult(
            outcome=outcome,
            result=result,
            error=error,
            request_frame=state.frame,
            answer_frame=state.redacted_answer(),
            sent=state.sent,
            duration=time.monotonic() - self.started,
            refusal=refusal,
        )
        received = state.received
        level = logging.WARNING if outcome.is_unknown else logging.INFO
        _logger.log(
            level,
            "Caisse-AP %s: %s in %.1f s%s; answer: %s",
            state.where,
            outcome.value,
            done.duration,
            f" ({error})" if error else "",
            redact_frame(received, LOG_LIMIT) if received else "(none)",
        )
        note = state.trailing_note()
        if note:
            _logger.warning("Caisse-AP %s: %s", state.where, note)
        return done


async def exchange_async(
    host: str,
    port: int,
    request: PaymentRequest,
    *,
    connect_timeout: float = 5.0,
    answer_timeout: float = 180.0,
    quiet_period: float = 0.3,
    settle_period: float = SETTLE_PERIOD,
    max_answer_size: int = MAX_ANSWER_SIZE,
    allow_local: bool = False,
    networks: tuple[str, ...] | None = None,
) -> ExchangeResult:
    """Send ``request`` to the terminal and wait for its answer.

    Never raises for network or protocol problems: every ending is an
    :class:`Outcome`. ``answer_timeout`` counts from the moment the request
    was sent. Cancelling the task itself closes the connection and propagates
    ``CancelledError``: the caller then decides the outcome. A host that
    resolves only to addresses the address policy refuses (:mod:`.address`:
    ``allow_local``, ``networks``) ends NOT_SENT with ``refusal`` set, before
    any connection is opened. A whole answer is read until ``quiet_period`` of
    silence, or ``settle_period`` once it holds all it needs (see
    :class:`.exchange.Exchange`).
    """
    _check_arguments(
        request,
        max_answer_size,
        connect_timeout=connect_timeout,
        answer_timeout=answer_timeout,
        quiet_period=quiet_period,
        settle_period=settle_period,
    )
    state = Exchange(
        request,
        answer_timeout,
        quiet_period,
        max_answer_size,
        f"{host}:{port}",
        settle_period=settle_period,
    )
    run = _Run(state)
    problem = _bad_address(host, port)
    if problem:
        return run.finish(Outcome.NOT_SENT, problem)
    try:
        reader, writer = await connect(
            host,
            port,
            connect_timeout,
            allow_local=allow_local,
            networks=networks,
        )
    except AddressRefused as refused:
        _log_refusal(state.where, refused.refusal)
        return run.finish(
            Outcome.NOT_SENT, str(refused.refusal), refusal=refused.refusal
        )
    except CONNECT_ERRORS as error:
        return run.finish(
            Outcome.NOT_SENT, _connect_failure(host, port, error, connect_timeout)
        )
    try:
        return await _send_and_read(run, reader, writer, connect_timeout)
    finally:
        writer.close()


async def _send_and_read(
    run: _Run,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    send_timeout: float,
) -> ExchangeResult:
    """The exchange on an open connection: the request out, the answer in."""
    state = run.state
    _logger.info("Caisse-AP %s: sending %s", state.where, redact_frame(state.frame))
    try:
        writer.write(state.frame)
        await asyncio.wait_for(writer.drain(), max(send_timeout, 1.0))
    except (OSError, TimeoutError, asyncio.TimeoutError) as error:
        # Part of the frame may have left: the terminal may have it.
        return run.finish(
            Outcome.NO_ANSWER, f"sending to {state.where} failed: {error}"
        )
    state.request_sent(time.monotonic())
    await _read(reader, state)
    outcome, result, error = state.conclude()
    return run.finish(outcome, error, result)


async def _read(
    reader: asyncio.StreamReader,
    state: Exchange,
) -> None:
    """Feed ``state`` until it says the reading is over."""
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            wait = state.wait_time(time.monotonic())
            if wait is None:
                return
            if pending is None:
                pending = asyncio.ensure_future(reader.read(RECV_SIZE))
            # asyncio.wait() never cancels ``pending``: a read that completes
            # as the wait times out is collected on the next turn.
            await asyncio.wait({pending}, timeout=wait)
            if not pending.done():
                continue
            read, pending = pending, None
            try:
                chunk = read.result()
            except OSError as error:
                state.connection_broken(str(error))
            else:
                state.receive(chunk, time.monotonic())
    finally:
        if pending is not None:
            # The reading is over: what this read may still bring stays in
            # the stream's buffer, unused.
            pending.cancel()


def exchange(
    host: str, port: int, request: PaymentRequest, **options: Any
) -> ExchangeResult:
    """Blocking :func:`exchange_async`: same arguments, never raises either."""
    return asyncio.run(exchange_async(host, port, request, **options))
