"""The front proxy a prefork Odoo needs for its bus, as nginx does in production.

In prefork mode the HTTP workers refuse websockets: ``/websocket`` must reach
the bus (gevent) process on its own port, everything else the HTTP workers.
This proxy routes each TCP connection by the path of its first request (Odoo
answers HTTP/1.0 and closes every connection, so one connection is one
request) and copies bytes both ways. With the bus switched off it answers
``/websocket`` with 502, like a proxy that does not forward it: the POS then
only has its status polling.
"""

from __future__ import annotations

import asyncio
import contextlib

from settings import HOST, log

from caisse_ap.loop_thread import ConnectionTasks, LoopThread

HEAD_LIMIT = 65536
REFUSED = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class FrontProxy:
    """``HOST:port`` → the HTTP port, or the bus port for ``/websocket``."""

    def __init__(self, http_port: int, bus_port: int) -> None:
        self.http_port = http_port
        self.bus_port = bus_port
        self.bus = True  # False: /websocket is refused
        self.port = 0
        self.websockets = 0  # websocket connections forwarded
        self.refused = 0  # websocket connections refused (bus off)
        self._loop = LoopThread("bench-front-proxy")
        self._server: asyncio.AbstractServer | None = None
        self._tasks = ConnectionTasks()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self._loop.start()
        self._server = self._loop.run(
            asyncio.start_server(self._serve, HOST, 0), timeout=10
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log(
            f"front proxy on {self.url}: /websocket → {self.bus_port}, "
            f"the rest → {self.http_port}"
        )

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None

            with contextlib.suppress(Exception):
                self._loop.run(self._tasks.close(server), timeout=10)
        self._loop.stop()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await self._tasks.run(self._route(reader, writer))

    async def _route(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                line = await reader.readuntil(b"\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            parts = line.split(b" ")
            path = parts[1] if len(parts) > 1 else b""
            port = self.http_port
            if path.startswith(b"/websocket"):
                if not self.bus:
                    self.refused += 1
                    writer.write(REFUSED)
                    await writer.drain()
                    return
                self.websockets += 1
                port = self.bus_port
            up_reader, upstream = await asyncio.open_connection(HOST, port)
            upstream.write(line)
            await asyncio.gather(
                _pipe(reader, upstream),
                _pipe(up_reader, writer),
                return_exceptions=True,
            )
        except (ConnectionError, OSError):
            pass
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, then pass the end on (half-close)."""
    try:
        while True:
            data = await reader.read(HEAD_LIMIT)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
