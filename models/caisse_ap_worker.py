"""Background exchange with the terminal: no HTTP worker waits for the customer.

The RPC creates the transaction and hands a :class:`Job` to :func:`launch`;
after the commit the payment runs as a coroutine on this process's single
I/O thread (an asyncio loop): it sends the request and waits for the answer
holding no database cursor, then records the outcome with a fresh cursor and
tells the POS through its bus channel. The short database writes run in a
small thread pool, so N concurrent payments cost N coroutines, not N thread
stacks and malloc arenas (Odoo's memory limits watch the virtual size).
"""

import asyncio
import concurrent.futures
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from functools import partial

from odoo import SUPERUSER_ID, api
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..caisse_ap import aio_transport
from ..caisse_ap.codec import PaymentRequest
from ..caisse_ap.sim_loop import LoopThread

_logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5
DB_TRIES = 5
# Added to a payment's own timeouts when waiting for it at exit: its writes.
EXIT_MARGIN = 30


@dataclass
class _Payment:
    future: concurrent.futures.Future
    deadline: float  # monotonic: by then the exchange has ended


@dataclass
class _IO:
    """This process's loop thread and database pool (one set per process)."""

    pid: int
    loop: LoopThread
    db_pool: concurrent.futures.ThreadPoolExecutor


# In-flight payments by (database, payment uuid): lets tests and exit wait.
_payments = {}
_lock = threading.Lock()
_io = None
_exit_hook_registered = False


@dataclass(frozen=True)
class Job:
    dbname: str
    transaction_id: int
    payment_uuid: str
    attempt: int
    terminal_key: str
    lang: str
    host: str
    port: int
    request: PaymentRequest
    answer_timeout: float


def launch(env, job):
    """Run ``job`` on the I/O loop once the current transaction is committed.

    Test cursors drop post-commit hooks: in test mode the payment starts at
    once; its cursors then share (and wait for) the test cursor.
    """
    if env.registry.in_test_mode():
        env.flush_all()
        _start(env.registry, job)
    else:
        env.cr.postcommit.add(partial(_start, env.registry, job))


def _forget_parent_io():
    # A forked child has none of its parent's threads; the lock may even have
    # been held by one of them at fork time.
    global _io, _lock  # noqa: PLW0603
    _io = None
    _lock = threading.Lock()
    _payments.clear()


os.register_at_fork(after_in_child=_forget_parent_io)


def _current_io():
    """The loop of this process, started on first use (and again after a fork)."""
    global _io, _exit_hook_registered  # noqa: PLW0603
    with _lock:
        if _io is None or _io.pid != os.getpid():
            loop = LoopThread(name="caisse-ap-io")
            loop.start()
            pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="caisse-ap-db"
            )
            _io = _IO(os.getpid(), loop, pool)
            if not _exit_hook_registered:
                # Not atexit.register: atexit runs after the interpreter has
                # joined non-daemon threads and shut down every executor
                # (concurrent.futures' own _register_atexit hook), too late to
                # write an outcome. Hooks registered here run first, in reverse
                # order, while the loop (a daemon thread) and the pool still
                # work: a recycled worker (sys.exit(0) after limit_request or
                # limit_memory_soft) or a gracefully stopped server waits for
                # its payments, as the non-daemon threads did. The master
                # SIGKILLs a worker after limit_time_real: a longer payment
                # ends "unknown" through the sweep, as after a crash.
                threading._register_atexit(_wait_at_exit)
                _exit_hook_registered = True
        return _io


def _start(registry, job):
    io = _current_io()
    key = (job.dbname, job.payment_uuid)
    deadline = time.monotonic() + CONNECT_TIMEOUT + job.answer_timeout
    with _lock:
        future = io.loop.submit(_pay(registry, job, io.db_pool))
        _payments[key] = _Payment(future, deadline)
    future.add_done_callback(partial(_forget, key))


def _forget(key, future):
    with _lock:
        payment = _payments.get(key)
        if payment is not None and payment.future is future:
            del _payments[key]


def _wait_at_exit():
    with _lock:
        if _io is None or _io.pid != os.getpid():
            return
        pending = list(_payments.values())
    if not pending:
        return
    timeout = max(p.deadline for p in pending) + EXIT_MARGIN - time.monotonic()
    _logger.info("Caisse-AP: waiting for %d payment(s) before exiting", len(pending))
    concurrent.futures.wait([p.future for p in pending], timeout=max(timeout, 0))


def wait_for_worker(dbname, payment_uuid, timeout=30.0):
    """Wait for a payment, if any is running; False if it is still running."""
    with _lock:
        payment = _payments.get((dbname, payment_uuid))
    if payment is None:
        return True
    done, _pending = concurrent.futures.wait([payment.future], timeout=timeout)
    return bool(done)


def running_workers(dbname):
    """Payment uuids still running."""
    with _lock:
        return [
            uuid
            for (db, uuid), payment in _payments.items()
            if db == dbname and not payment.future.done()
        ]


async def _pay(registry, job, db_pool):
    loop = asyncio.get_running_loop()
    where = (
        f"Caisse-AP {job.terminal_key}: payment {job.payment_uuid} "
        f"attempt {job.attempt}"
    )

    def in_db(func):
        # Short writes in the pool: the loop itself never blocks on the database.
        return loop.run_in_executor(
            db_pool, partial(_in_transaction, registry, job, func)
        )

    sent = False
    try:
        if not await in_db(lambda txn: txn._mark_sent()):
            return
        sent = True  # recorded as sent: from now on a failure means "unknown"
        exchange = await aio_transport.exchange_async(
            job.host,
            job.port,
            job.request,
            connect_timeout=CONNECT_TIMEOUT,
            answer_timeout=job.answer_timeout,
        )
        try:
            await in_db(lambda txn: txn._record_exchange(exchange))
        except Exception:
            # The terminal may have charged: leave enough in the log to reconcile.
            _logger.error("%s: cannot record the outcome %s", where, exchange.as_dict())
            raise
    except Exception as error:
        _logger.exception("%s: worker failed", where)
        await loop.run_in_executor(
            db_pool,
            _end_after_crash,
            registry,
            job,
            "unknown" if sent else "error",
            str(error),
        )


def _end_after_crash(registry, job, state, error):
    message = f"worker failed: {error}"
    try:
        _in_transaction(registry, job, lambda txn: txn._record_crash(state, message))
    except Exception:
        _logger.exception(
            "Caisse-AP payment %s: cannot record the failure; the sweep will end it",
            job.payment_uuid,
        )


def _in_transaction(registry, job, func):
    """Call ``func(transaction)`` in a short transaction of its own, retried on
    serialization failures (the POS may write the same row, e.g. a cancel)."""
    threading.current_thread().dbname = job.dbname  # shown in Odoo's log lines
    for tryno in range(1, DB_TRIES + 1):
        try:
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {"lang": job.lang})
                return func(env["pos.caisse.ap.transaction"].browse(job.transaction_id))
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            if tryno == DB_TRIES:
                raise
            time.sleep(random.uniform(0.05, 0.3 * tryno))
    return None
