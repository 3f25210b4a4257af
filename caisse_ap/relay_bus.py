"""The shop relay's ear on Odoo's bus: told at once when work waits.

A thread keeps one websocket to Odoo's ``/websocket`` (the bus, which Odoo.sh
serves from its gevent process: a waiting connection takes no HTTP worker),
subscribed to the relay's own channel with its token (see
:mod:`caisse_ap.relay_wire`, "Wake-ups"). It sets ``wake`` when Odoo says work
waits, when it starts listening and when it stops: the poll loop then polls at
once. ``listening`` says whether the loop may poll rarely. Anything wrong
(refused, closed, silent) ends the connection; the loop polls as before
meanwhile, and the thread tries again later.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.parse
from collections.abc import Callable

from . import ws_client
from .relay_wire import (
    BUS_HEARTBEAT,
    BUS_KEY,
    BUS_READY,
    BUS_READY_TIMEOUT,
    BUS_WORK,
    PATH_BUS,
)

_logger = logging.getLogger("caisse_ap.relay")

# Between two tries of a bus that failed: from a few seconds up to this (a
# proxy that does not route /websocket costs the server one request then).
RETRY_FIRST = 2.0
RETRY_MAX = 300.0
# How often the thread looks at the stop flag while nothing arrives.
STOP_CHECK = 0.5
# The close codes of a subscribe Odoo refused: its token (4001, as for an
# expired session; 1008 is the policy code of RFC 6455).
CLOSE_POLICY = 1008
CLOSE_SESSION_EXPIRED = 4001
# Closes that are part of Odoo's routine (a restart, a connection that lived
# its hour): said at info level, the connection comes back at once.
ROUTINE_CLOSES = (1000, 1001, 1012, 1013, 4002)


def bus_url(server: str) -> str:
    """The websocket address of an ``http(s)://`` Odoo."""
    parts = urllib.parse.urlsplit(server)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urllib.parse.urlunsplit(
        (scheme, parts.netloc, parts.path.rstrip("/") + PATH_BUS, "", "")
    )


def session_cookie(set_cookie: str) -> str:
    """``session_id=...`` from a ``Set-Cookie`` header, or ``""``."""
    first = set_cookie.split(";", 1)[0].strip()
    return first if first.startswith("session_id=") else ""


class BusListener:
    """The websocket thread; ``wake`` is shared with the poll loop."""

    def __init__(
        self,
        server: str,
        token: str,
        status: Callable[[], dict],
        wake: threading.Event,
        stopping: threading.Event,
        user_agent: str,
        connect: Callable[..., ws_client.WebSocket] = ws_client.connect,
    ) -> None:
        self.server = server
        self.url = bus_url(server)
        self._token = token
        self._status = status
        self._wake = wake
        self._stopping = stopping
        self._user_agent = user_agent
        self._connect = connect
        self._listening = threading.Event()
        # Odoo's anonymous session, kept across reconnections (else each one
        # leaves a session file on the server).
        self._cookie = ""
        self._thread: threading.Thread | None = None
        self.last_error = ""

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="relay-bus", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread:
            self._thread.join(timeout)

    def run(self) -> None:
        retry = RETRY_FIRST
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._listen()
            except (OSError, ValueError) as error:
                self._lost(error)
            finally:
                if self._listening.is_set():
                    self._listening.clear()
                    self._wake.set()  # the loop polls again at once
            # A connection that served a while (Odoo closes each after an
            # hour or so, or restarted) comes back at once; failures wait more.
            if time.monotonic() - started > 2 * BUS_HEARTBEAT:
                retry = RETRY_FIRST
            self._stopping.wait(retry * random.uniform(0.5, 1.0))
            retry = min(retry * 2, RETRY_MAX)

    def _lost(self, error: Exception) -> None:
        message = str(error) or type(error).__name__
        code = error.code if isinstance(error, ws_client.Closed) else None
        if code == CLOSE_SESSION_EXPIRED:
            # Odoo's close for a refused token; or it forgot the session: the
            # next connection starts a new one.
            self._cookie = ""
        if code in (CLOSE_POLICY, CLOSE_SESSION_EXPIRED):
            _logger.error(
                "Odoo's bus refused this relay's subscription (%s): a wrong or "
                "revoked token? (see the poll's answer)",
                message,
            )
        if code in ROUTINE_CLOSES and self._listening.is_set():
            _logger.info("Odoo's bus %s: connecting again", message)
        elif message != self.last_error:
            # Once per kind of failure: a proxy that never routes the bus
            # would otherwise fill the log.
            _logger.warning(
                "Odoo's bus at %s: %s; polling every few seconds meanwhile (is "
                "%s routed to Odoo's bus?)",
                self.url,
                message,
                PATH_BUS,
            )
        self.last_error = message

    def _listen(self) -> None:
        headers = {"Origin": self.server, "User-Agent": self._user_agent}
        if self._cookie:
            headers["Cookie"] = self._cookie
        websocket = self._connect(self.url, timeout=10.0, headers=headers)
        try:
            self._cookie = session_cookie(websocket.headers.get("set-cookie", "")) or (
                self._cookie
            )
            self._serve(websocket)
        finally:
            websocket.close()

    def _subscribe(self, websocket: ws_client.WebSocket) -> None:
        proof = {"token": self._token, **self._status()}
        websocket.send_text(
            json.dumps(
                {
                    "event_name": "subscribe",
                    "data": {"channels": [], "last": 0, BUS_KEY: proof},
                }
            )
        )

    def _serve(self, websocket: ws_client.WebSocket) -> None:
        """Subscribe, then every heartbeat again; each subscribe must be
        answered by BUS_READY in time."""
        next_beat = time.monotonic()
        answer_by: float | None = None
        while not self._stopping.is_set():
            now = time.monotonic()
            if answer_by is not None and now > answer_by:
                raise ws_client.WebSocketError(
                    f"no answer to the subscription within {BUS_READY_TIMEOUT:.0f} s"
                )
            if now >= next_beat:
                self._subscribe(websocket)
                next_beat = now + BUS_HEARTBEAT
                answer_by = answer_by or now + BUS_READY_TIMEOUT
            until = min(next_beat, answer_by or next_beat, now + STOP_CHECK)
            message = websocket.receive(max(until - now, 0.0))
            if message is None:
                continue
            kinds = notification_types(message)
            if BUS_READY in kinds:
                answer_by = None
                if not self._listening.is_set():
                    self._listening.set()
                    self.last_error = ""
                    _logger.info("listening on Odoo's bus at %s", self.url)
                    self._wake.set()  # anything that came meanwhile
            if BUS_WORK in kinds:
                self._wake.set()


def notification_types(message: str | bytes) -> set[str]:
    """The types of the notifications in one bus message (a JSON list of
    ``{"id", "message": {"type", "payload"}}``). Raises ValueError for a
    message that is not that."""
    if isinstance(message, bytes):
        raise ValueError("a binary message on the bus")
    notifications = json.loads(message)
    if not isinstance(notifications, list):
        raise ValueError("a bus message that is not a list")
    kinds = set()
    for notification in notifications:
        inner = notification.get("message") if isinstance(notification, dict) else None
        kind = inner.get("type") if isinstance(inner, dict) else None
        if isinstance(kind, str):
            kinds.add(kind)
    return kinds
