"""Background exchange with the terminal: no HTTP worker waits for the customer.

The RPC creates the transaction and hands a :class:`Job` to :func:`launch`;
after the commit the payment runs as a coroutine on this process's single
I/O thread (an asyncio loop): it sends the request and waits for the answer
holding no database cursor, then records the outcome with a fresh cursor and
tells the POS through its bus channel. The short database writes run in a
small thread pool, so N concurrent payments cost N coroutines, not N thread
stacks and malloc arenas (Odoo's memory limits watch the virtual size).

A database write that fails for a passing reason (a conflict, a lost
connection, a full pool) is tried again with backoff until the payment's
deadline; an outcome that still cannot be written is kept in a spool file
(:func:`outcome_spool`) and recorded at the next start or sweep.
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
from pathlib import Path

import psycopg2
from psycopg2.pool import PoolError

from odoo import SUPERUSER_ID, api
from odoo.tools import config

from .. import caisse_ap
from ..caisse_ap import LoopThread, Spool, ip_address_of, prestarted_pool
from . import transaction_calls as calls

_logger = logging.getLogger(__name__)

# Name resolution and TCP connection together.
CONNECT_TIMEOUT = 5
# Sending the frame once connected (the transport allows the connect timeout).
SEND_TIMEOUT = CONNECT_TIMEOUT
# How long a payment may wait for the database before its request is sent
# (past it, nothing is sent) and after its answer (past it, the answer is spooled).
SEND_DB_SECONDS = 10
RECORD_DB_SECONDS = 30
# Pauses between database tries: doubled from the first to the longest.
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 2.0
# Passing failures: serialization conflicts and deadlocks (OperationalError
# subclasses), lost or refused connections, Odoo's pool full.
RETRIABLE_DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError, PoolError)
# Threads of the pool that runs the payments' short database writes.
DB_THREADS = 2
# Threads of the loop's default executor: name resolution (getaddrinfo).
RESOLVER_THREADS = 2
# Added to a payment's budget when waiting for it at exit.
EXIT_MARGIN = 5


def outcome_spool(dbname):
    """Where this database's outcomes wait while it cannot be written to."""
    return Spool(Path(config["data_dir"]) / "caisse_ap_spool" / dbname)


def payment_budget(answer_timeout):
    """Seconds from launch to a payment's last database write, at most.

    The sweep ends a transaction as lost only past this (plus a grace), so it
    never frees a terminal whose exchange or database retries are still going.
    """
    return (
        SEND_DB_SECONDS
        + CONNECT_TIMEOUT
        + SEND_TIMEOUT
        + answer_timeout
        + RECORD_DB_SECONDS
    )


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


# In-flight payments by (database, payment uuid): lets exit (and tests) wait.
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
    request: caisse_ap.PaymentRequest
    answer_timeout: float
    # The address policy: loopback, link-local... terminal addresses allowed,
    # and the networks where terminals may be (None: the private ones).
    allow_local: bool = False
    networks: tuple = None


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
            loop = LoopThread("caisse-ap-io", resolver_threads=RESOLVER_THREADS)
            loop.start()
            pool = prestarted_pool(DB_THREADS, "caisse-ap-db")
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


def resolved_address(host, port, allow_local, networks, timeout=CONNECT_TIMEOUT):
    """The lowest address the terminal name ``host`` resolves to that the
    address policy allows, resolved as the payment's connection resolves it,
    on this process's loop; None when no such address comes within
    ``timeout`` (the resolver failed, was too slow, or gave only refused
    addresses: the connection then says why, as it always did)."""
    policy = caisse_ap.AddressPolicy.of(allow_local, networks)
    future = _current_io().loop.submit(caisse_ap.allowed_addresses(host, port, policy))
    try:
        addresses = future.result(timeout)
    except (concurrent.futures.TimeoutError, OSError) as error:
        future.cancel()
        _logger.info("Caisse-AP %s:%s: not resolved (%s)", host, port, error)
        return None
    if not addresses:
        return None
    # The same addresses in another order (round-robin DNS): the same one.
    found = [ip_address_of(address) for address in addresses]
    return str(min(found, key=lambda address: (address.version, address)))


def _cursors(registry):
    """Where the worker gets its cursors (tests make it fail)."""
    return registry.cursor


def _start(registry, job):
    io = _current_io()
    key = (job.dbname, job.payment_uuid)
    deadline = time.monotonic() + payment_budget(job.answer_timeout)
    with _lock:
        future = io.loop.submit(_pay(_cursors(registry), job, io.db_pool, deadline))
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


async def _pay(cursors, job, db_pool, deadline):
    where = (
        f"Caisse-AP {job.terminal_key}: payment {job.payment_uuid} "
        f"attempt {job.attempt}"
    )
    send_by = min(time.monotonic() + SEND_DB_SECONDS, deadline)
    sent = False
    try:
        if not await _in_db(cursors, job, db_pool, send_by, calls.mark_sent):
            return
        sent = True  # recorded as sent: from now on a failure means "unknown"
        exchange = await caisse_ap.exchange_async(
            job.host,
            job.port,
            job.request,
            connect_timeout=CONNECT_TIMEOUT,
            answer_timeout=job.answer_timeout,
            allow_local=job.allow_local,
            networks=job.networks,
        )
        outcome = caisse_ap.outcome_record(exchange)
        try:
            await _in_db(
                cursors,
                job,
                db_pool,
                deadline,
                partial(calls.record_outcome, outcome=outcome),
            )
        except RETRIABLE_DB_ERRORS as error:
            _spool(job, outcome, where, error)
        except Exception:
            # The terminal may have charged: leave enough in the log to reconcile.
            _logger.error("%s: cannot record the outcome %s", where, outcome)
            raise
    except Exception as error:
        _logger.exception("%s: worker failed", where)
        await _end_after_crash(
            cursors, job, db_pool, deadline, "unknown" if sent else "error", error
        )


def _spool(job, outcome, where, error):
    record = {
        "transaction_id": job.transaction_id,
        "payment_uuid": job.payment_uuid,
        "attempt": job.attempt,
        "outcome": outcome,
    }
    try:
        path = outcome_spool(job.dbname).keep(job.transaction_id, record)
    except OSError:
        _logger.error("%s: cannot record nor spool the outcome %s", where, outcome)
        raise
    _logger.error(
        "%s: database unavailable until the deadline (%s): outcome %s kept in %s, "
        "recorded at the next start or sweep",
        where,
        error,
        outcome["outcome"],
        path,
    )


async def _end_after_crash(cursors, job, db_pool, deadline, state, error):
    message = f"worker failed: {error}"
    try:
        await _in_db(
            cursors,
            job,
            db_pool,
            deadline,
            partial(calls.record_crash, state=state, error=message),
        )
    except Exception:
        _logger.exception(
            "Caisse-AP payment %s: cannot record the failure; the sweep will end it",
            job.payment_uuid,
        )


async def _in_db(cursors, job, db_pool, until, func):
    """``func(transaction)`` in a short transaction of its own, in the pool
    (``func``: one of the calls of :mod:`.transaction_calls`).

    Tried again on passing failures, with growing pauses spent on the loop
    (no pool thread sleeps), while the next try can start before ``until``.
    """
    loop = asyncio.get_running_loop()
    pause = FIRST_PAUSE
    while True:
        try:
            return await loop.run_in_executor(
                db_pool, partial(_in_transaction, cursors, job, func)
            )
        except RETRIABLE_DB_ERRORS as error:
            wait = random.uniform(pause / 2, pause)
            if time.monotonic() + wait >= until:
                raise
            _logger.info(
                "Caisse-AP payment %s: database write failed (%s), next try in %.2f s",
                job.payment_uuid,
                str(error).strip() or type(error).__name__,
                wait,
            )
            await asyncio.sleep(wait)
            pause = min(pause * 2, LONGEST_PAUSE)


def _in_transaction(cursors, job, func):
    threading.current_thread().dbname = job.dbname  # shown in Odoo's log lines
    with cursors() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"lang": job.lang})
        return func(env["pos.caisse.ap.transaction"].browse(job.transaction_id))
