"""Simulated Caisse-AP terminals served by an asyncio loop in a background thread.

Like a real terminal, each one handles one transaction at a time; a
connection that brings a request while it is busy is ignored (kept open,
never answered) or refused (closed at once). Per-transaction scenarios can
be queued; the default scenario applies when the queue is empty.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

from ..decoder import FrameDecoder
from ..frame import ProtocolError
from ..loop_thread import ConnectionTasks, LoopThread
from ..redact import LOG_LIMIT, redact_frame
from .answers import Delivery, asks_acknowledgement, is_valid_request, plan_delivery
from .profiles import TerminalProfile, get_profile
from .scenario import Scenario

_Self = TypeVar("_Self", bound="_Running")

_logger = logging.getLogger(__name__)

BUSY_BEHAVIOURS = ("ignore", "refuse")
# Once the bytes form whole fields, this much silence ends the request.
REQUEST_QUIET = 0.05
READ_SIZE = 4096


class _Running:
    """``with simulator:`` starts it and always stops it."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class TerminalSimulator(_Running):
    """One simulated terminal listening on ``host:port`` (port 0: any free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        scenario: Scenario | None = None,
        busy_behaviour: str = "ignore",
        *,
        loop: LoopThread | None = None,
        request_timeout: float = 30.0,
        name: str = "",
        profile: str | TerminalProfile | None = None,
    ) -> None:
        if busy_behaviour not in BUSY_BEHAVIOURS:
            raise ValueError(
                f"busy_behaviour must be one of {', '.join(BUSY_BEHAVIOURS)}"
            )
        self.host = host
        self._requested_port = port
        self.port = port
        self.busy_behaviour = busy_behaviour
        self.profile = get_profile(profile)
        self.request_timeout = request_timeout
        self.name = name
        self._own_loop = loop is None
        self._loop = loop or LoopThread(f"caisse-ap-simulator-{port}")
        self._cond = threading.Condition()
        self._scenario = dataclasses.replace(scenario) if scenario else Scenario()
        self._queue: collections.deque[Scenario] = collections.deque()
        self._exchanges: list[dict[str, Any]] = []
        self._busy_connections = 0
        self._busy = False
        self._server: asyncio.AbstractServer | None = None
        self._tasks = ConnectionTasks()
        self._release = asyncio.Event()

    # -- life cycle (any thread but the loop's) ---------------------------
    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Listen; returns once connections are accepted."""
        if self._server is not None:
            return
        self._loop.start()
        try:
            self._server = self._loop.run(self._open(), timeout=10)
        except BaseException:
            if self._own_loop:
                self._loop.stop()
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        self._requested_port = self.port  # a restart listens on the same port
        _logger.info("Terminal simulator listening on %s:%s", self.host, self.port)

    async def _open(self) -> asyncio.AbstractServer:
        self._release = asyncio.Event()  # bound to this loop (restart makes a new one)
        return await asyncio.start_server(self._serve, self.host, self._requested_port)

    def stop(self) -> None:
        """Stop listening, end every connection (a hang included), stop the thread."""
        server, self._server = self._server, None
        if server is not None:
            self._loop.run(self._tasks.close(server), timeout=10)
        if self._own_loop:
            self._loop.stop()
        with self._cond:
            self._cond.notify_all()

    # -- scenarios and records (thread-safe) ------------------------------
    def set_scenario(self, scenario: Scenario) -> None:
        """Default scenario, used when the queue is empty."""
        with self._cond:
            self._scenario = dataclasses.replace(scenario)

    @property
    def scenario(self) -> Scenario:
        with self._cond:
            return dataclasses.replace(self._scenario)

    def queue(self, *scenarios: Scenario) -> None:
        """Scenarios for the next transactions, one each, first in first out."""
        with self._cond:
            self._queue.extend(dataclasses.replace(item) for item in scenarios)

    def _take_scenario(self) -> Scenario:
        with self._cond:
            return (
                self._queue.popleft()
                if self._queue
                else dataclasses.replace(self._scenario)
            )

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        """Snapshot of the finished transactions, oldest first."""
        with self._cond:
            return [dict(item) for item in self._exchanges]

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def busy_connections(self) -> int:
        """Connections turned away because a transaction was in progress."""
        with self._cond:
            return self._busy_connections

    def wait_for_exchanges(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` transactions have finished; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._exchanges) >= count, timeout)

    def release_hang(self) -> None:
        """End the current transaction's "hang" (closed, no answer), or let a
        ``hold`` scenario answer.

        Works from the moment the transaction's connection was accepted; it
        has no effect on later transactions.
        """
        self._loop.call_soon(self._release.set)

    release = release_hang

    def _record(self, record: dict[str, Any]) -> None:
        with self._cond:
            self._exchanges.append(record)
            self._cond.notify_all()

    # -- connection handling (loop thread) --------------------------------
    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._tasks.run(self._connection(reader, writer))
        except Exception:  # a bug here must not take the loop down
            _logger.exception(
                "Terminal simulator %s: connection handler failed", self.port
            )
        finally:
            writer.close()

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._busy:
            await self._turn_away(reader)
            return
        request, fields, received_at = await self._read_request(reader)
        if not request:
            _logger.debug(
                "Terminal simulator %s: connection closed without a request", self.port
            )
            return
        # The transaction starts with a whole request (a bare connection, such
        # as a probe, does not make the terminal busy).
        if self._busy:
            await self._turn_away(reader)
            return
        # Scenario first, busy last: a thread that sees ``busy`` may change
        # the default scenario or call release_hang() for this transaction.
        scenario = self._take_scenario()
        self._release.clear()
        self._busy = True
        try:
            await self._transaction(
                request, fields, scenario, reader, writer, received_at
            )
        finally:
            self._busy = False

    async def _turn_away(self, reader: asyncio.StreamReader) -> None:
        with self._cond:
            self._busy_connections += 1
        _logger.info(
            "Terminal simulator %s: busy, %s connection",
            self.port,
            "refusing" if self.busy_behaviour == "refuse" else "ignoring",
        )
        if self.busy_behaviour == "ignore":
            await _drain_until_closed(reader)

    async def _read_request(
        self, reader: asyncio.StreamReader
    ) -> tuple[bytes, dict[str, str] | None, float]:
        """The request bytes, its fields (None when they do not form a request)
        and when its last bytes arrived."""
        decoder = FrameDecoder(())
        received_at = time.time()
        while True:
            # No end marker here either: once the bytes form whole fields, a
            # short silence ends the request (a missing tag is the profile's
            # business: a real terminal answers it at once with AF=09).
            timeout = REQUEST_QUIET if decoder.complete else self.request_timeout
            try:
                chunk = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
            except (asyncio.TimeoutError, ConnectionError):  # not TimeoutError on 3.10
                break
            if not chunk:
                break
            received_at = time.time()
            decoder.receive_data(chunk)
            try:
                decoder.next_event()
            except ProtocolError as error:
                _logger.info(
                    "Terminal simulator %s: unreadable request: %s", self.port, error
                )
                return decoder.buffer, None, received_at
        if decoder.complete:
            fields = decoder.next_event().fields  # type: ignore[attr-defined]
            return decoder.buffer, fields, received_at
        return decoder.buffer, None, received_at

    async def _transaction(
        self,
        request: bytes,
        fields: dict[str, str] | None,
        scenario: Scenario,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        received_at: float,
    ) -> None:
        record: dict[str, Any] = {
            "request": request,
            "request_fields": fields or {},
            "answer": b"",
            "scenario": scenario,
            # When the request's last bytes arrived (the terminal shows the
            # amount); started_at follows the silence that ends the request.
            "received_at": received_at,
            "started_at": time.time(),
            # When the answer's last bytes were written (None: no answer); ended_at
            # comes later when the terminal keeps the connection open afterwards.
            "answered_at": None,
            "ended_at": None,
            "error": "",
        }
        _logger.info(
            "Terminal simulator %s: request %s, scenario %s",
            self.port,
            redact_frame(request, LOG_LIMIT),
            scenario.describe(),
        )
        try:
            await self._play(scenario, fields, reader, writer, record)
        except ConnectionError as error:
            record["error"] = f"connection lost: {error}"
        except asyncio.CancelledError:
            record["error"] = "simulator stopped"
            raise
        finally:
            record["ended_at"] = time.time()
            self._record(record)
            _logger.info(
                "Terminal simulator %s: answered %s%s",
                self.port,
                redact_frame(record["answer"], LOG_LIMIT)
                if record["answer"]
                else "nothing",
                f" ({record['error']})" if record["error"] else "",
            )

    async def _play(
        self,
        scenario: Scenario,
        fields: dict[str, str] | None,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        record: dict[str, Any],
    ) -> None:
        profile = self.profile
        # A real terminal answers a bad request, or BA=1, at once.
        if (
            fields is not None
            and is_valid_request(fields, profile)
            and not asks_acknowledgement(fields, profile)
        ):
            await asyncio.sleep(scenario.delay)
            if scenario.hold and scenario.kind != "hang":
                await self._release.wait()
            if scenario.kind == "hang":
                await self._release.wait()
                record["error"] = "hang released"
                return
            if scenario.kind == "close":
                return
        delivery = plan_delivery(fields, scenario, profile)
        await _deliver(writer, delivery, record)
        if not delivery.reset and (scenario.keep_open or profile.keep_open):
            await _drain_until_closed(reader)


async def _deliver(
    writer: asyncio.StreamWriter, delivery: Delivery, record: dict[str, Any]
) -> None:
    """Write the chunks (``record["answer"]`` grows as they go), then reset if asked."""
    for index, chunk in enumerate(delivery.chunks):
        if index and delivery.pause:
            await asyncio.sleep(delivery.pause)
        record["answered_at"] = time.time()
        writer.write(chunk)
        await writer.drain()
        record["answer"] += chunk
    if delivery.reset:
        await asyncio.sleep(delivery.pause)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends a TCP reset instead of a clean FIN.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        writer.transport.abort()
        record["error"] = "connection reset on purpose"


async def _drain_until_closed(reader: asyncio.StreamReader) -> None:
    """Read and drop bytes until the peer closes (or the task is cancelled)."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(READ_SIZE):
            pass


class MultiTerminalSimulator(_Running):
    """``count`` terminals on one loop thread, on ports ``base_port + i`` or free."""

    def __init__(
        self,
        count: int,
        host: str = "127.0.0.1",
        base_port: int = 0,
        scenario: Scenario | None = None,
        busy_behaviour: str = "ignore",
        profile: str | TerminalProfile | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self._loop = LoopThread("caisse-ap-simulators")
        self.terminals = [
            TerminalSimulator(
                host,
                base_port + index if base_port else 0,
                scenario,
                busy_behaviour,
                loop=self._loop,
                name=f"T{index + 1}",
                profile=profile,
            )
            for index in range(count)
        ]

    @property
    def ports(self) -> list[int]:
        return [terminal.port for terminal in self.terminals]

    def start(self) -> None:
        try:
            for terminal in self.terminals:
                terminal.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for terminal in self.terminals:
            terminal.stop()
        self._loop.stop()

    def set_scenario(self, scenario: Scenario) -> None:
        for terminal in self.terminals:
            terminal.set_scenario(scenario)

    def __len__(self) -> int:
        return len(self.terminals)

    def __iter__(self) -> Iterator[TerminalSimulator]:
        return iter(self.terminals)

    def __getitem__(self, index: int) -> TerminalSimulator:
        return self.terminals[index]
