"""Background exchange with the terminal: no HTTP worker waits for the customer.

The RPC creates the transaction and hands a :class:`Job` to :func:`launch`;
after the commit a thread sends the request and waits for the answer holding
no database cursor, then records the outcome with a fresh cursor and tells
the POS through its bus channel.
"""

import logging
import random
import threading
import time
from dataclasses import dataclass
from functools import partial

from odoo import SUPERUSER_ID, api
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..caisse_ap import transport
from ..caisse_ap.codec import PaymentRequest

_logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5
DB_TRIES = 5

# Running threads by (database, payment uuid): lets tests wait for them.
_threads = {}
_threads_lock = threading.Lock()


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
    """Run ``job`` in a thread once the current transaction is committed.

    Test cursors drop post-commit hooks: in test mode the thread starts at
    once; its cursors then share (and wait for) the test cursor.
    """
    if env.registry.in_test_mode():
        env.flush_all()
        _start(env.registry, job)
    else:
        env.cr.postcommit.add(partial(_start, env.registry, job))


def _start(registry, job):
    # Not a daemon: a prefork worker that Odoo recycles (limit_request,
    # limit_memory_soft) or stops gracefully (SIGINT from the master) leaves
    # its loop and ends with sys.exit(0), whose interpreter shutdown joins
    # non-daemon threads but kills daemon ones on the spot, losing an answer
    # the terminal may already have charged. The master SIGKILLs a worker
    # that stops pinging for limit_time_real, so the wait is bounded; a
    # longer payment ends "unknown" through the sweep, as after a crash.
    thread = threading.Thread(
        target=_run,
        args=(registry, job),
        name=f"caisse-ap-{job.payment_uuid}",
        daemon=False,
    )
    with _threads_lock:
        _threads[(job.dbname, job.payment_uuid)] = thread
    thread.start()


def wait_for_worker(dbname, payment_uuid, timeout=30.0):
    """Wait for the thread of a payment, if any; False if it is still running."""
    with _threads_lock:
        thread = _threads.get((dbname, payment_uuid))
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


def running_workers(dbname):
    """Payment uuids whose thread is still running."""
    with _threads_lock:
        return [
            uuid
            for (db, uuid), thread in _threads.items()
            if db == dbname and thread.is_alive()
        ]


def _run(registry, job):
    current = threading.current_thread()
    current.dbname = job.dbname  # shown in Odoo's log lines
    where = (
        f"Caisse-AP {job.terminal_key}: payment {job.payment_uuid} "
        f"attempt {job.attempt}"
    )
    sent = False
    try:
        if not _in_transaction(registry, job, lambda txn: txn._caisse_ap_mark_sent()):
            return
        sent = True  # recorded as sent: from now on a failure means "unknown"
        exchange = transport.exchange(
            job.host,
            job.port,
            job.request,
            connect_timeout=CONNECT_TIMEOUT,
            answer_timeout=job.answer_timeout,
        )
        try:
            _in_transaction(
                registry, job, lambda txn: txn._caisse_ap_record_exchange(exchange)
            )
        except Exception:
            # The terminal may have charged: leave enough in the log to reconcile.
            _logger.error("%s: cannot record the outcome %s", where, exchange.as_dict())
            raise
    except Exception as error:
        _logger.exception("%s: worker failed", where)
        _end_after_crash(registry, job, "unknown" if sent else "error", str(error))
    finally:
        with _threads_lock:
            if _threads.get((job.dbname, job.payment_uuid)) is current:
                del _threads[(job.dbname, job.payment_uuid)]


def _end_after_crash(registry, job, state, error):
    message = f"worker failed: {error}"
    try:
        _in_transaction(
            registry, job, lambda txn: txn._caisse_ap_record_crash(state, message)
        )
    except Exception:
        _logger.exception(
            "Caisse-AP payment %s: cannot record the failure; the sweep will end it",
            job.payment_uuid,
        )


def _in_transaction(registry, job, func):
    """Call ``func(transaction)`` in a short transaction of its own, retried on
    serialization failures (the POS may write the same row, e.g. a cancel)."""
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
