"""Waiting for the payment worker's coroutines: what the tests need of it.

The worker keeps its in-flight payments by (database, payment uuid) so that a
server waits for them before exiting; the tests wait for them the same way,
so that no payment outlives its test.
"""

import concurrent.futures

from ..runtime import worker


def wait_for_worker(dbname, payment_uuid, timeout=30.0):
    """Wait for a payment, if any is running; False if it is still running."""
    with worker._lock:
        payment = worker._payments.get((dbname, payment_uuid))
    if payment is None:
        return True
    done, _pending = concurrent.futures.wait([payment.future], timeout=timeout)
    return bool(done)


def running_workers(dbname):
    """Payment uuids still running."""
    with worker._lock:
        return [
            uuid
            for (db, uuid), payment in worker._payments.items()
            if db == dbname and not payment.future.done()
        ]
