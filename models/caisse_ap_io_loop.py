"""The asyncio loop thread on which this process's payments wait for terminals.

Its only user is the payment worker (:mod:`.caisse_ap_worker`): one loop per
process serves every payment in flight, N payments cost N coroutines.
"""

import asyncio
import threading


class IOLoopThread:
    """An event loop running forever in a daemon thread, fed coroutines."""

    def __init__(self, name):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=name, daemon=True
        )
        self._thread.start()

    def submit(self, coro):
        """Schedule ``coro`` from any thread: a ``concurrent.futures.Future``."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)
