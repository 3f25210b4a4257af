"""The asyncio loop thread on which this process's payments wait for terminals.

Its only user is the payment worker (:mod:`.caisse_ap_worker`): one loop per
process serves every payment in flight, N payments cost N coroutines.

Every thread the payments will need is started up front. From Python 3.12 on,
``Thread.start()`` raises once the interpreter is shutting down, and thread
pools start their threads lazily: a worker that exits (recycled after
``limit_request``, a graceful stop) right after a payment started could then
neither write it "sent" nor record the terminal's answer.
"""

import asyncio
import concurrent.futures
import threading

# Threads of the loop's default executor: name resolution (getaddrinfo).
RESOLVER_THREADS = 2


def prestarted_pool(workers, name):
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


class IOLoopThread:
    """An event loop running forever in a daemon thread, fed coroutines."""

    def __init__(self, name):
        self._loop = asyncio.new_event_loop()
        self._loop.set_default_executor(
            prestarted_pool(RESOLVER_THREADS, f"{name}-resolver")
        )
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=name, daemon=True
        )
        self._thread.start()

    def submit(self, coro):
        """Schedule ``coro`` from any thread: a ``concurrent.futures.Future``."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)
