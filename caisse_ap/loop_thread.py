"""An asyncio event loop running in a background thread, fed from others.

One loop serves many coroutines: Odoo's payment worker runs every payment in
flight of its process on one, the simulator every simulated terminal.

Threads can be started up front (:func:`prestarted_pool`). From Python 3.12
on, ``Thread.start()`` raises once the interpreter is shutting down, and
thread pools start their threads lazily: an Odoo worker that exits (recycled
after ``limit_request``, a graceful stop) right after a payment started could
then neither resolve the terminal's name nor record its answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def prestarted_pool(workers: int, name: str) -> concurrent.futures.ThreadPoolExecutor:
    """A thread pool whose ``workers`` threads all run already."""
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix=name
    )
    # Each task holds its thread until all are started, so that every submit
    # finds no idle thread and starts a new one.
    everyone = threading.Barrier(workers + 1)
    for _ in range(workers):
        pool.submit(everyone.wait)
    everyone.wait()
    return pool


class LoopThread:
    """An event loop running forever in a daemon thread once :meth:`start`-ed.

    ``resolver_threads``: the loop's default executor (name resolution,
    ``getaddrinfo``) gets that many threads, started with the loop.
    """

    def __init__(
        self, name: str = "caisse-ap-loop", resolver_threads: int | None = None
    ) -> None:
        self.name = name
        self.resolver_threads = resolver_threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        if self.resolver_threads:
            loop.set_default_executor(
                prestarted_pool(self.resolver_threads, f"{self.name}-resolver")
            )
        ready = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(loop, ready), name=self.name, daemon=True
        )
        self._loop, self._thread = loop, thread
        thread.start()
        ready.wait()

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
            # Whatever is left (it should be nothing) is cancelled, not leaked.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (from another thread)."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the loop thread is not running")
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(
                "LoopThread.run() called from its own thread would deadlock"
            )
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop without waiting for it (any thread)."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the loop thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call_soon(self, callback: Callable[..., object], *args: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = self._loop = None


class ConnectionTasks:
    """The handlers a stream server runs, so that stopping the server ends them all."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self, handler: Coroutine[Any, Any, None]) -> None:
        """Await ``handler`` as a tracked task (call it from the server's callback)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await handler
        except asyncio.CancelledError:
            # close() cancels on purpose; ending normally keeps asyncio's
            # stream callback (3.11) from reporting the cancellation.
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def close(self, server: asyncio.AbstractServer) -> None:
        """Stop listening and cancel every running handler."""
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
