import socket
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import psycopg2.errors
from psycopg2.pool import PoolError

from odoo import fields
from odoo.tests import tagged
from odoo.tools import config, mute_logger

from ..caisse_ap.simulator import Scenario
from ..models.pos_caisse_ap_outcome_mixin import PosCaisseApOutcomeMixin
from ..models.pos_caisse_ap_transaction import PosCaisseApTransaction
from ..runtime import worker as caisse_ap_worker
from .common import CaisseApCommon
from .worker_support import running_workers

WORKER_LOGGER = caisse_ap_worker.__name__


class FlakyCursors:
    """A cursor factory that fails as planned, then gives real (test) cursors.

    ``plan`` holds, per call: an exception to raise instead of a cursor,
    ``LOST_COMMIT`` (the work is done, then the connection breaks), or None.
    """

    def __init__(self, registry, plan, then=None):
        self.registry = registry
        self.plan = list(plan)
        self.then = then
        self.calls = 0

    def __call__(self):
        self.calls += 1
        step = self.plan.pop(0) if self.plan else self.then
        if isinstance(step, Exception):
            raise step
        cursor = self.registry.cursor()
        if step is LOST_COMMIT:
            return _LostCommit(cursor)
        return cursor


LOST_COMMIT = "lost commit"


class _LostCommit:
    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        return self.cursor.__enter__()

    def __exit__(self, *exc):
        self.cursor.__exit__(*exc)
        raise psycopg2.OperationalError("server closed the connection unexpectedly")


@tagged("post_install", "-at_install")
class TestBackendWorker(CaisseApCommon):
    """Whatever goes wrong in the thread, the transaction ends in a final state."""

    def test_crash_after_sending_is_unknown(self):
        with (
            patch.object(
                caisse_ap_worker.caisse_ap,
                "exchange_async",
                side_effect=RuntimeError("boom"),
            ),
            mute_logger(WORKER_LOGGER),
        ):
            _started, transaction, status = self.pay()
        self.assertEqual(status["state"], "unknown")
        self.assertIn("boom", transaction.error_message)
        self.assertEqual(self.bus_messages()[-1]["state"], "unknown")

    def test_crash_before_sending_is_an_error(self):
        with (
            patch.object(
                PosCaisseApTransaction,
                "_mark_sent",
                side_effect=RuntimeError("database gone"),
            ),
            mute_logger(WORKER_LOGGER),
        ):
            _started, transaction, status = self.pay()
        self.assertEqual(status["state"], "error")
        self.assertIn("database gone", transaction.error_message)
        self.assertEqual(self.simulator.exchanges, [], "nothing was sent")

    def test_outcome_that_cannot_be_recorded_is_unknown(self):
        with (
            patch.object(
                PosCaisseApOutcomeMixin,
                "_record_outcome",
                side_effect=RuntimeError("disk full"),
            ),
            mute_logger(WORKER_LOGGER),
        ):
            _started, transaction, status = self.pay()
        # The terminal approved, Odoo could not write it: the cashier must check.
        self.assertEqual(len(self.simulator.exchanges), 1)
        self.assertEqual(status["state"], "unknown")
        self.assertIn("disk full", transaction.error_message)

    def test_serialization_failure_is_retried(self):
        original = PosCaisseApTransaction._mark_sent
        calls = []

        def conflicting_once(transaction):
            calls.append(transaction.id)
            if len(calls) == 1:
                raise psycopg2.errors.SerializationFailure("concurrent update")
            return original(transaction)

        with patch.object(PosCaisseApTransaction, "_mark_sent", conflicting_once):
            _started, _transaction, status = self.pay()
        self.assertEqual(len(calls), 2)
        self.assertEqual(status["state"], "success")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_payments_share_one_io_thread(self):
        # N concurrent payments cost coroutines, not threads (finding 2).
        threads = []
        real_exchange = caisse_ap_worker.caisse_ap.exchange_async

        async def spy(*args, **kwargs):
            threads.append(threading.current_thread())
            return await real_exchange(*args, **kwargs)

        with patch.object(caisse_ap_worker.caisse_ap, "exchange_async", spy):
            self.pay()
            self.pay()
        self.assertEqual(len(threads), 2)
        self.assertIs(threads[0], threads[1])
        self.assertEqual(threads[0].name, "caisse-ap-io")

    def test_threads_needed_at_exit_run_before_it(self):
        # Python >= 3.12 starts no thread at shutdown: the pools' threads
        # (database writes, name resolution) must all run from the start.
        caisse_ap_worker._current_io()
        names = [thread.name for thread in threading.enumerate()]
        self.assertEqual(
            sum(name.startswith("caisse-ap-db") for name in names),
            caisse_ap_worker.DB_THREADS,
        )
        self.assertEqual(
            sum(name.startswith("caisse-ap-io-resolver") for name in names),
            caisse_ap_worker.RESOLVER_THREADS,
        )

    def test_exit_waits_for_the_payments_in_flight(self):
        # What a recycled worker's sys.exit(0) runs before its threads die.
        self.simulator.set_scenario(Scenario(kind="approve", delay=1))
        started = self.start()
        self.assertEqual(
            running_workers(self.cr.dbname),
            [started["payment_uuid"]],
        )
        caisse_ap_worker._wait_at_exit()
        self.assertEqual(running_workers(self.cr.dbname), [])
        self.env.invalidate_all()
        transaction = self.transactions(started["payment_uuid"])[:1]
        self.assertEqual(transaction.state, "success")

    # ------------------------------------------------------------------
    # Database outages
    # ------------------------------------------------------------------
    def flaky(self, plan, then=None):
        cursors = FlakyCursors(self.registry, plan, then)
        return cursors, patch.object(
            caisse_ap_worker, "_cursors", lambda registry: cursors
        )

    def test_database_outage_is_retried(self):
        lost = psycopg2.OperationalError("could not connect to server")
        cursors, flaky = self.flaky(
            [lost, PoolError("The Connection Pool Is Full"), None]
            + [psycopg2.InterfaceError("connection already closed"), lost, None]
        )
        with flaky, mute_logger(WORKER_LOGGER):
            _started, transaction, status = self.pay()
        self.assertEqual(cursors.calls, 6, "3 tries to mark it sent, 3 to record")
        self.assertEqual(status["state"], "success")
        self.assertEqual(transaction.auth_code, "123456")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_lost_commit_of_sent_still_sends_once(self):
        # "sent" was committed, the worker only heard of a broken connection.
        cursors, flaky = self.flaky([LOST_COMMIT])
        with flaky, mute_logger(WORKER_LOGGER):
            _started, _transaction, status = self.pay()
        self.assertEqual(cursors.calls, 3)
        self.assertEqual(status["state"], "success")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def _spool_an_approval(self):
        """An approval the worker could not write before its deadline: spooled."""
        spool = self.enterContext(tempfile.TemporaryDirectory())
        self.enterContext(patch.dict(config.options, {"data_dir": spool}))
        down = psycopg2.OperationalError("the database system is starting up")
        cursors, flaky = self.flaky([None], then=down)
        with (
            flaky,
            # A short deadline: the outage outlasts it.
            patch.object(caisse_ap_worker, "payment_budget", lambda timeout: 3),
            mute_logger(WORKER_LOGGER),
        ):
            started = self.start()
            transaction = self.wait(started["payment_uuid"])
        self.assertGreater(cursors.calls, 3)
        self.assertEqual(len(self.simulator.exchanges), 1, "the terminal approved")
        self.assertEqual(transaction.state, "sent", "nothing written yet")
        [(kept_id, _record)] = caisse_ap_worker.outcome_spool(self.cr.dbname).pending()
        path = caisse_ap_worker.outcome_spool(self.cr.dbname).path(kept_id)
        return spool, transaction, path

    def test_outcome_spooled_then_recorded(self):
        spool, transaction, path = self._spool_an_approval()
        self.assertEqual(
            path,
            Path(spool, "caisse_ap_spool", self.cr.dbname, f"{transaction.id}.json"),
        )
        text = path.read_text()
        self.assertNotIn("497010", text, "no card number in the spool")
        self.assertEqual(oct(path.stat().st_mode & 0o777), "0o600")

        # At the next start, the sweep is asked to run at once.
        cron = self.env.ref("l10n_fr_pos_caisse_ap_ip.ir_cron_caisse_ap_sweep")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        self.env["pos.caisse.ap.transaction"]._register_hook()
        self.assertTrue(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        )
        # The sweep records it; the file goes once that is committed.
        self.env["pos.caisse.ap.transaction"]._cron_sweep()
        self.assertEqual(transaction.state, "success")
        self.assertEqual(transaction.auth_code, "123456")
        self.assertEqual(transaction.card_last4, "1234")
        self.assertTrue(path.exists(), "kept until the write is committed")
        self.env.cr.postcommit.run()
        self.assertFalse(path.exists())
        self.assertEqual(
            list(caisse_ap_worker.outcome_spool(self.cr.dbname).pending()), []
        )

    def test_spooled_outcome_recorded_by_the_next_status(self):
        _spool, transaction, _path = self._spool_an_approval()
        # Within its deadline a status only reads, unless the outcome waits in
        # the spool: the cashier must not wait for the sweep's next run.
        transaction.deadline = fields.Datetime.now() + timedelta(minutes=5)
        status = self.rpc("caisse_ap_status", transaction.payment_uuid)
        self.assertEqual(status["state"], "success")
        self.assertEqual(transaction.auth_code, "123456")

    # ------------------------------------------------------------------
    # Name resolution
    # ------------------------------------------------------------------
    def test_name_resolution_counts_in_the_connection_timeout(self):
        real_getaddrinfo = socket.getaddrinfo

        def slow_dns(host, *args, **kwargs):
            if host != "slow-dns.test":
                return real_getaddrinfo(host, *args, **kwargs)
            if kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
                raise socket.gaierror(socket.EAI_NONAME, "not a number")
            time.sleep(3)  # a resolver that does not answer in time
            raise socket.gaierror(socket.EAI_AGAIN, "temporary failure")

        self.method.fr_caisse_ap_ip_address = "slow-dns.test"
        with (
            patch.object(socket, "getaddrinfo", slow_dns),
            patch.object(caisse_ap_worker, "CONNECT_TIMEOUT", 0.5),
        ):
            _started, transaction, status = self.pay()
        self.assertEqual(status["state"], "error", "never sent: not charged")
        self.assertIn("timed out", transaction.error_message)
        self.assertLess(transaction.duration, 2, "bounded by the connect timeout")
