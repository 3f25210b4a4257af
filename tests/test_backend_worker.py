import threading
from unittest.mock import patch

import psycopg2.errors

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..caisse_ap.scenario import Scenario
from ..models import caisse_ap_worker
from ..models.pos_caisse_ap_transaction import PosCaisseApTransaction
from .common import CaisseApCommon

WORKER_LOGGER = caisse_ap_worker.__name__


@tagged("post_install", "-at_install")
class TestBackendWorker(CaisseApCommon):
    """Whatever goes wrong in the thread, the transaction ends in a final state."""

    def test_crash_after_sending_is_unknown(self):
        with (
            patch.object(
                caisse_ap_worker.aio_transport,
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
                "_caisse_ap_mark_sent",
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
                PosCaisseApTransaction,
                "_caisse_ap_record_exchange",
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
        original = PosCaisseApTransaction._caisse_ap_mark_sent
        calls = []

        def conflicting_once(transaction):
            calls.append(transaction.id)
            if len(calls) == 1:
                raise psycopg2.errors.SerializationFailure("concurrent update")
            return original(transaction)

        with patch.object(
            PosCaisseApTransaction, "_caisse_ap_mark_sent", conflicting_once
        ):
            _started, _transaction, status = self.pay()
        self.assertEqual(len(calls), 2)
        self.assertEqual(status["state"], "success")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_payments_share_one_io_thread(self):
        # N concurrent payments cost coroutines, not threads (finding 2).
        threads = []
        real_exchange = caisse_ap_worker.aio_transport.exchange_async

        async def spy(*args, **kwargs):
            threads.append(threading.current_thread())
            return await real_exchange(*args, **kwargs)

        with patch.object(caisse_ap_worker.aio_transport, "exchange_async", spy):
            self.pay()
            self.pay()
        self.assertEqual(len(threads), 2)
        self.assertIs(threads[0], threads[1])
        self.assertEqual(threads[0].name, "caisse-ap-io")

    def test_exit_waits_for_the_payments_in_flight(self):
        # What a recycled worker's sys.exit(0) runs before its threads die.
        self.simulator.set_scenario(Scenario(kind="approve", delay=1))
        started = self.start()
        self.assertEqual(
            caisse_ap_worker.running_workers(self.cr.dbname),
            [started["payment_uuid"]],
        )
        caisse_ap_worker._wait_at_exit()
        self.assertEqual(caisse_ap_worker.running_workers(self.cr.dbname), [])
        self.env.invalidate_all()
        transaction = self.transactions(started["payment_uuid"])[:1]
        self.assertEqual(transaction.state, "success")
