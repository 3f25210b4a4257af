from unittest.mock import patch

import psycopg2.errors

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import caisse_ap_worker
from ..models.caisse_ap_transaction import PosCaisseApTransaction
from .common import CaisseApCommon

WORKER_LOGGER = caisse_ap_worker.__name__


@tagged("post_install", "-at_install")
class TestBackendWorker(CaisseApCommon):
    """Whatever goes wrong in the thread, the transaction ends in a final state."""

    def test_crash_after_sending_is_unknown(self):
        with (
            patch.object(
                caisse_ap_worker.transport, "exchange", side_effect=RuntimeError("boom")
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

    def test_thread_is_named_after_the_payment(self):
        names = []
        real_start = caisse_ap_worker.threading.Thread.start

        def spy(thread):
            names.append(thread.name)
            return real_start(thread)

        with patch.object(caisse_ap_worker.threading.Thread, "start", spy):
            started, _transaction, _status = self.pay()
        self.assertEqual(names, [f"caisse-ap-{started['payment_uuid']}"])

    def test_thread_is_not_a_daemon(self):
        # A recycled or gracefully stopped worker must wait for the answer.
        threads = []
        real_start = caisse_ap_worker.threading.Thread.start

        def spy(thread):
            threads.append(thread)
            return real_start(thread)

        with patch.object(caisse_ap_worker.threading.Thread, "start", spy):
            _started, _transaction, status = self.pay()
        self.assertEqual([thread.daemon for thread in threads], [False])
        self.assertEqual(status["state"], "success")
