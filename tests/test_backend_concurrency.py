from datetime import timedelta

import psycopg2

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..caisse_ap.simulator import Scenario
from ..models.pos_caisse_ap_sweep_mixin import UNSENT_AFTER
from ..runtime import worker as caisse_ap_worker
from .common import CaisseApCommon
from .test_backend_payment_method import TERMINAL_NAME, resolving


@tagged("post_install", "-at_install")
class TestBackendConcurrency(CaisseApCommon):
    @classmethod
    def _create_extra_methods(cls):
        # A second method on the same terminal (e.g. card and ANCV on one device).
        cls.neighbour = cls._create_method("TPE Voisin", fr_caisse_ap_ip_mode="ancv")
        return cls.neighbour

    def setUp(self):
        super().setUp()
        self.neighbour.fr_caisse_ap_ip_port = self.simulator.port

    def hold_terminal(self):
        """Start a payment the terminal keeps until release_hang()."""
        self.simulator.set_scenario(Scenario(kind="hang", delay=0))
        started = self.start()
        self.wait_until(lambda: self.simulator.busy)
        self.simulator.set_scenario(Scenario(kind="approve", delay=0))
        return started

    # ------------------------------------------------------------------
    # One transaction per terminal
    # ------------------------------------------------------------------
    def test_busy_terminal(self):
        first = self.hold_terminal()
        for method in (self.method, self.neighbour):
            with (
                self.subTest(method=method.name),
                self.assertRaisesRegex(UserError, "busy"),
            ):
                self.start(method=method)
        self.assertEqual(len(self.transactions()), 1, "a refused start records nothing")

        self.simulator.release_hang()
        self.assertEqual(self.wait(first["payment_uuid"]).state, "unknown")
        _started, _transaction, status = self.pay(method=self.neighbour)
        self.assertEqual(status["state"], "success", "the terminal is free again")
        self.assertEqual(len(self.simulator.exchanges), 2)
        self.assertEqual(
            self.simulator.busy_connections, 0, "nothing was sent while busy"
        )

    def test_busy_whatever_the_address_spelling(self):
        self.hold_terminal()
        # The same terminal, written as IPv4-mapped IPv6 on the other method.
        self.neighbour.fr_caisse_ap_ip_address = "::FFFF:127.0.0.1"
        with self.assertRaisesRegex(UserError, "busy"):
            self.start(method=self.neighbour)
        self.assertEqual(len(self.transactions()), 1)

    def test_busy_whatever_the_numeric_spelling_or_name(self):
        """Two methods, one terminal: the other one written as the resolver
        reads it too (saved before addresses were normalised), or as a DNS
        name of it. Nothing reaches the terminal while it is busy."""
        self.hold_terminal()
        for spelling in ("0x7f000001", "127.1", "2130706433"):
            with self.subTest(spelling):
                self.env.cr.execute(
                    "UPDATE pos_payment_method SET fr_caisse_ap_ip_address = %s "
                    "WHERE id = %s",
                    (spelling, self.neighbour.id),
                )
                self.neighbour.invalidate_recordset()
                with self.assertRaisesRegex(UserError, "busy"):
                    self.start(method=self.neighbour)
        self.neighbour.fr_caisse_ap_ip_address = TERMINAL_NAME
        with (
            resolving(TERMINAL_NAME, "127.0.0.1"),
            self.assertRaisesRegex(UserError, "busy"),
        ):
            self.start(method=self.neighbour)
        self.assertEqual(len(self.transactions()), 1)
        self.assertEqual(self.simulator.busy_connections, 0)

    def test_busy_index_in_database(self):
        first = self.hold_terminal()
        transaction = self.transactions(first["payment_uuid"])
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.UniqueViolation),
        ):
            with self.env.cr.savepoint():
                transaction.copy({"payment_uuid": "other", "state": "pending"})
        # Final transactions do not hold the terminal.
        transaction.copy({"payment_uuid": "old", "state": "failure"})

    # ------------------------------------------------------------------
    # Idempotency
    # ------------------------------------------------------------------
    def test_repeat_after_success_sends_nothing(self):
        started, transaction, _status = self.pay()
        for retry in (False, True):
            again = self.start(payment_uuid=started["payment_uuid"], retry=retry)
            self.assertEqual(again["transaction_id"], transaction.id)
            self.assertEqual(again["state"], "success")
        self.assertEqual(len(self.simulator.exchanges), 1)
        self.assertEqual(len(self.transactions()), 1)

    def test_repeat_while_running_sends_nothing(self):
        first = self.hold_terminal()
        again = self.start(payment_uuid=first["payment_uuid"])
        self.assertEqual(again["transaction_id"], first["transaction_id"])
        self.assertFalse(again["final"])
        self.simulator.release_hang()
        self.wait(first["payment_uuid"])
        self.assertEqual(len(self.simulator.exchanges), 1)
        self.assertEqual(self.simulator.busy_connections, 0)

    def test_retry_after_failure(self):
        self.simulator.queue(Scenario(kind="decline", delay=0))
        started, first, status = self.pay()
        self.assertEqual(status["state"], "failure")
        again = self.start(payment_uuid=started["payment_uuid"])
        self.assertEqual(again["attempt"], 2)
        second = self.wait(started["payment_uuid"])
        self.assertEqual(second.state, "success")
        self.assertNotEqual(first, second)
        self.assertEqual(len(self.simulator.exchanges), 2)
        self.assertNotIn("CF", self.simulator.exchanges[-1]["request_fields"])
        self.assertEqual(
            [first.correlation_id, second.correlation_id],
            [f"{first.correlation_id[:-2]}-1", f"{first.correlation_id[:-2]}-2"],
        )

    def test_unknown_needs_the_cashiers_retry(self):
        self.simulator.queue(Scenario(kind="close", delay=0))
        started, first, status = self.pay()
        self.assertEqual(status["state"], "unknown")
        again = self.start(payment_uuid=started["payment_uuid"])
        self.assertEqual(
            again["transaction_id"], first.id, "no resend without the cashier's choice"
        )
        self.assertEqual(len(self.simulator.exchanges), 1)
        retried = self.start(payment_uuid=started["payment_uuid"], retry=True)
        self.assertEqual(retried["attempt"], 2)
        self.assertEqual(self.wait(started["payment_uuid"]).state, "success")
        self.assertEqual(len(self.simulator.exchanges), 2)

    def test_a_repeated_start_after_a_quick_refusal_tells_the_refusal(self):
        # The reply to the start was lost, the terminal refused at once, and
        # the POS sends the same request again (same key): the refusal is
        # its answer, the terminal is not asked once more.
        self.simulator.queue(Scenario(kind="decline", delay=0))
        started, first, _status = self.pay(start_key="click1")
        self.assertEqual(first.state, "failure")
        again = self.start(payment_uuid=started["payment_uuid"], start_key="click1")
        self.assertEqual(again["transaction_id"], first.id)
        self.assertEqual(again["state"], "failure")
        self.assertEqual(len(self.simulator.exchanges), 1, "asked once")
        # The cashier's next click has a new key: the terminal is asked again.
        clicked = self.start(payment_uuid=started["payment_uuid"], start_key="click2")
        self.assertEqual(clicked["attempt"], 2)
        self.assertEqual(self.wait(started["payment_uuid"]).state, "success")
        self.assertEqual(len(self.simulator.exchanges), 2)
        self.assertEqual(
            self.transactions(started["payment_uuid"]).mapped("start_key"),
            ["click2", "click1"],
        )

    def test_a_repeated_retry_after_a_quick_refusal_sends_nothing(self):
        self.simulator.queue(
            Scenario(kind="close", delay=0), Scenario(kind="decline", delay=0)
        )
        started, first, status = self.pay(start_key="click1")
        self.assertEqual(status["state"], "unknown")
        uuid_ = started["payment_uuid"]
        retried = self.start(payment_uuid=uuid_, retry=True, start_key="retry1")
        self.assertEqual(self.wait(uuid_).state, "failure")
        # The Retry's reply was lost; the POS repeats it as it was: a retry,
        # with its key.
        again = self.start(payment_uuid=uuid_, retry=True, start_key="retry1")
        self.assertEqual(again["transaction_id"], retried["transaction_id"])
        self.assertEqual(again["state"], "failure")
        self.assertEqual(len(self.simulator.exchanges), 2)

    def test_a_retry_that_never_arrived_is_started_by_its_repeat(self):
        self.simulator.queue(Scenario(kind="close", delay=0))
        started, first, status = self.pay(start_key="click1")
        self.assertEqual(status["state"], "unknown")
        uuid_ = started["payment_uuid"]
        # The Retry's first try never reached the server: its repeat starts
        # the new attempt.
        repeated = self.start(payment_uuid=uuid_, retry=True, start_key="retry1")
        self.assertEqual(repeated["attempt"], 2)
        self.assertEqual(self.wait(uuid_).state, "success")
        self.assertEqual(len(self.simulator.exchanges), 2)

    def test_a_start_without_key_or_with_another_payments_key_starts_anew(self):
        self.simulator.queue(Scenario(kind="decline", delay=0))
        started, first, _status = self.pay(start_key="shared")
        other, _transaction, _status = self.pay(start_key="shared")
        self.assertNotEqual(other["payment_uuid"], started["payment_uuid"])
        self.assertEqual(other["attempt"], 1, "a key finds its own payment only")
        # Without a key (an older POS), a failed attempt is followed by a new one.
        again = self.start(payment_uuid=started["payment_uuid"])
        self.assertEqual(again["attempt"], 2)
        self.wait(started["payment_uuid"])
        self.assertEqual(len(self.simulator.exchanges), 3)

    def test_a_malformed_start_key_is_refused_before_anything(self):
        for start_key in (12, True, ["k"], {"k": 1}, "a b", "k" * 65, "clé", "k\n"):
            with (
                self.subTest(start_key=start_key),
                self.assertRaisesRegex(UserError, "Invalid payment request key"),
            ):
                self.start(start_key=start_key)
        self.assertFalse(self.transactions())
        self.assertEqual(len(self.simulator.exchanges), 0)
        for start_key in ("", None, "k" * 64, "Az09_-"):
            with self.subTest(start_key=start_key):
                started = self.start(start_key=start_key)
                self.wait(started["payment_uuid"])
        self.assertCountEqual(
            self.transactions().mapped("start_key"), ["Az09_-", "k" * 64, False, False]
        )

    def test_payment_stays_with_its_method(self):
        started, _transaction, _status = self.pay()
        with self.assertRaisesRegex(UserError, "another payment method"):
            self.start(payment_uuid=started["payment_uuid"], method=self.neighbour)
        with self.assertRaisesRegex(UserError, "No terminal transaction"):
            self.rpc("caisse_ap_status", started["payment_uuid"], method=self.neighbour)

    # ------------------------------------------------------------------
    # Cancel
    # ------------------------------------------------------------------
    def test_cancel_before_sending(self):
        # Holding the test lock keeps the worker from even marking the request sent.
        with self.registry.test_lock:
            started = self.start()
            cancelled = self.rpc("caisse_ap_cancel", started["payment_uuid"])
            self.assertEqual(cancelled["state"], "cancel_requested")
            self.assertTrue(cancelled["cancel_requested"])
            self.assertIn("red button", cancelled["message"])
        transaction = self.wait(started["payment_uuid"])
        self.assertEqual(transaction.state, "error")
        self.assertFalse(transaction.sent_at)
        status = self.rpc("caisse_ap_status", started["payment_uuid"])
        self.assertIn("cancelled before being sent", status["message"])
        self.assertEqual(self.simulator.exchanges, [])

    def test_answer_after_cancel_is_recorded(self):
        # The terminal holds its answer until the cancel is recorded.
        self.simulator.set_scenario(Scenario(kind="approve", delay=0, hold=True))
        started = self.start()
        self.wait_until(lambda: self.simulator.busy)
        cancelled = self.rpc("caisse_ap_cancel", started["payment_uuid"])
        self.assertEqual(cancelled["state"], "cancel_requested")
        self.simulator.release()
        transaction = self.wait(started["payment_uuid"])
        self.assertEqual(transaction.state, "success")
        self.assertTrue(transaction.cancel_requested)
        status = self.rpc("caisse_ap_status", started["payment_uuid"])
        self.assertTrue(status["cancel_requested"])
        self.assertIn("although a cancel was requested", status["message"])
        self.assertEqual(
            [message["state"] for message in self.bus_messages()],
            ["sent", "cancel_requested", "success"],
        )

    def test_cancel_after_the_end_changes_nothing(self):
        started, _transaction, _status = self.pay()
        cancelled = self.rpc("caisse_ap_cancel", started["payment_uuid"])
        self.assertEqual(cancelled["state"], "success")
        self.assertFalse(cancelled["cancel_requested"])

    # ------------------------------------------------------------------
    # Lost transactions
    # ------------------------------------------------------------------
    def make_lost(self, state="sent", key=None, overdue=True):
        now = fields.Datetime.now()
        return self.make_transaction(
            state,
            terminal_key=key or self.method._caisse_ap_terminal_key(),
            started_at=now - timedelta(minutes=10),
            sent_at=state != "pending" and now - timedelta(minutes=10),
            deadline=now + timedelta(seconds=-1 if overdue else 600),
        )

    def test_status_sweeps_a_lost_transaction(self):
        lost = self.make_lost()
        status = self.rpc("caisse_ap_status", lost.payment_uuid)
        self.assertEqual(status["state"], "unknown")
        self.assertIn("check on the terminal", status["message"])
        self.assertEqual(self.bus_messages()[-1]["state"], "unknown")

    def test_cron_sweeps_lost_transactions(self):
        sent = self.make_lost("sent", key="10.0.0.1:8888")
        cancelled = self.make_lost("cancel_requested", key="10.0.0.2:8888")
        never_sent = self.make_lost("pending", key="10.0.0.3:8888")
        running = self.make_lost("sent", key="10.0.0.4:8888", overdue=False)
        left_unsent = self.make_lost("pending", key="10.0.0.5:8888", overdue=False)
        just_started = self.make_transaction("pending")
        relay = self.env["pos.caisse.ap.relay"].create({"name": "Shop"})
        relayed = self.make_transaction(
            "pending",
            relay_id=relay.id,
            started_at=left_unsent.started_at,
            relay_send_deadline=fields.Datetime.now() + timedelta(minutes=1),
        )
        self.env.ref(
            "l10n_fr_pos_caisse_ap_ip.ir_cron_caisse_ap_sweep"
        ).method_direct_trigger()
        self.env.invalidate_all()
        self.assertEqual(sent.state, "unknown")
        self.assertEqual(cancelled.state, "unknown")
        self.assertEqual(
            never_sent.state, "error", "never handed to the terminal: not charged"
        )
        self.assertEqual(running.state, "sent")
        self.assertEqual(left_unsent.state, "error", "its worker is long overdue")
        self.assertIn("never sent", left_unsent.error_message)
        self.assertEqual(just_started.state, "pending", "its worker may send it")
        self.assertEqual(relayed.state, "pending", "the relay's own send deadline")

    # A start committed, then its worker gone before sending (the process
    # killed or crashed between the commit and the send)
    def start_left_unsent(self):
        """The start's payment and the job its worker would have run."""
        started, job = self.start_without_worker()
        return started["payment_uuid"], job

    def started_ago(self, payment_uuid, seconds):
        transaction = self.transactions(payment_uuid)
        transaction.started_at = fields.Datetime.now() - timedelta(seconds=seconds)
        return transaction

    def test_a_payment_no_worker_sent_ends_not_sent_long_before_its_deadline(self):
        payment_uuid, _job = self.start_left_unsent()
        window = UNSENT_AFTER.total_seconds()
        self.started_ago(payment_uuid, window - 5)
        status = self.rpc("caisse_ap_status", payment_uuid)
        self.assertEqual(status["state"], "pending", "its worker may still send it")
        transaction = self.started_ago(payment_uuid, window + 1)
        self.assertGreater(transaction.deadline, fields.Datetime.now())
        status = self.rpc("caisse_ap_status", payment_uuid)
        self.assertEqual(status["state"], "error")
        self.assertIn("the customer was not charged", status["message"])
        self.assertIn("Odoo stopped before sending it", status["message"])
        # The terminal is free again, and got only the next payment.
        _started, _transaction, status = self.pay()
        self.assertEqual(status["state"], "success")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_a_late_worker_sends_nothing_once_its_payment_ended_not_sent(self):
        payment_uuid, job = self.start_left_unsent()
        self.started_ago(payment_uuid, UNSENT_AFTER.total_seconds() + 1)
        self.assertEqual(self.rpc("caisse_ap_status", payment_uuid)["state"], "error")
        caisse_ap_worker.launch(self.env, job)
        self.assertEqual(self.wait(payment_uuid).state, "error")
        self.assertEqual(self.simulator.exchanges, [], "nothing sent")

    def test_a_cancel_of_a_payment_no_worker_sent_ends_it_not_sent(self):
        payment_uuid, _job = self.start_left_unsent()
        cancelled = self.rpc("caisse_ap_cancel", payment_uuid)
        self.assertEqual(cancelled["state"], "cancel_requested")
        self.started_ago(payment_uuid, UNSENT_AFTER.total_seconds() + 1)
        status = self.rpc("caisse_ap_status", payment_uuid)
        self.assertEqual(status["state"], "error")
        self.assertIn("cancelled before being sent", status["message"])

    def test_a_lost_transaction_frees_its_terminal(self):
        lost = self.make_lost()
        _started, _transaction, status = self.pay()
        self.assertEqual(status["state"], "success")
        self.assertEqual(lost.state, "unknown")

    def test_answer_after_the_sweep_is_recorded(self):
        self.simulator.set_scenario(Scenario(kind="approve", delay=1.0))
        started = self.start()
        self.wait_until(lambda: self.simulator.busy)
        with self.registry.test_lock:
            transaction = self.transactions(started["payment_uuid"])
            transaction.deadline = fields.Datetime.now() - timedelta(seconds=1)
            swept = self.rpc("caisse_ap_status", started["payment_uuid"])
        self.assertEqual(swept["state"], "unknown")
        self.assertEqual(self.wait(started["payment_uuid"]).state, "success")
