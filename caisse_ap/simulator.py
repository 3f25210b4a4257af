"""Simulated Caisse-AP terminal: a test fixture and a command-line tool.

    python -m caisse_ap.simulator --port 0 --scenario "decline:af=05" --delay 2

Like a real terminal it handles one transaction at a time; a connection that
arrives while it is busy is ignored (kept open, never answered) or refused
(closed at once). Per-transaction scenarios can be queued; the default
scenario applies when the queue is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import logging
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

from .decoder import FrameDecoder
from .frame import ProtocolError
from .redact import redact_frame
from .scenario import KINDS, Scenario
from .sim_loop import LoopThread
from .terminal import REQUEST_TAGS, Delivery, plan_delivery

_logger = logging.getLogger(__name__)

BUSY_BEHAVIOURS = ("ignore", "refuse")
DEFAULT_PORT = 8888
# After the request's mandatory tags arrived, wait this long for optional ones.
REQUEST_QUIET = 0.05
READ_SIZE = 4096


class TerminalSimulator:
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
    ) -> None:
        if busy_behaviour not in BUSY_BEHAVIOURS:
            raise ValueError(f"busy_behaviour must be one of {', '.join(BUSY_BEHAVIOURS)}")
        self.host = host
        self._requested_port = port
        self.port = port
        self.busy_behaviour = busy_behaviour
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
        self._tasks: set[asyncio.Task[None]] = set()
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
        _logger.info("Terminal simulator listening on %s:%s", self.host, self.port)

    async def _open(self) -> asyncio.AbstractServer:
        return await asyncio.start_server(self._serve, self.host, self._requested_port)

    def stop(self) -> None:
        """Stop listening, end every connection (a hang included), stop the thread."""
        server, self._server = self._server, None
        if server is not None:
            self._loop.run(self._close(server), timeout=10)
        if self._own_loop:
            self._loop.stop()
        with self._cond:
            self._cond.notify_all()

    async def _close(self, server: asyncio.AbstractServer) -> None:
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    def __enter__(self) -> TerminalSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

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
            return self._queue.popleft() if self._queue else dataclasses.replace(self._scenario)

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
        """End a transaction stuck in the "hang" scenario (closed, no answer)."""
        self._loop.call_soon(self._release.set)

    def _record(self, record: dict[str, Any]) -> None:
        with self._cond:
            self._exchanges.append(record)
            self._cond.notify_all()

    # -- connection handling (loop thread) --------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)  # type: ignore[arg-type]
        try:
            if self._busy:
                await self._turn_away(reader, writer)
            else:
                self._busy = True
                try:
                    await self._transaction(reader, writer)
                finally:
                    self._busy = False
        except Exception:  # a bug here must not take the loop down
            _logger.exception("Terminal simulator %s: connection handler failed", self.port)
        finally:
            if task is not None:
                self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _turn_away(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._cond:
            self._busy_connections += 1
        _logger.info("Terminal simulator %s: busy, %s connection", self.port,
                     "refusing" if self.busy_behaviour == "refuse" else "ignoring")
        if self.busy_behaviour == "ignore":
            await _drain_until_closed(reader)

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str] | None]:
        decoder = FrameDecoder(REQUEST_TAGS)
        while True:
            timeout = REQUEST_QUIET if decoder.complete else self.request_timeout
            try:
                chunk = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
            except (TimeoutError, ConnectionError):
                chunk = b""
            decoder.receive_data(chunk)
            try:
                if not chunk or decoder.next_event() is not None and decoder.complete and False:
                    break
            except ProtocolError as error:
                _logger.info("Terminal simulator %s: unreadable request: %s", self.port, error)
                return decoder.buffer, None
        return decoder.buffer, dict(decoder.next_event().fields) if decoder.complete else None
