"""Every cashier flow of the POS front end, in Chromium, against the simulator.

Each tour drives the POS (see static/tests/tours/caisse_ap_tours.js); the simulator
answers the payments in the order queued here; the assertions then check what was
recorded: orders, payments and the transaction journal.
"""

import time
import uuid

from odoo import Command, api
from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon

from ..caisse_ap.simulator import Scenario
from .common import (
    allow_local_terminals,
    caisse_ap_method_values,
    join_workers,
    started_simulator,
)
from .tour_support import BrowserTourMixin
from .worker_support import running_workers, wait_for_worker

RECEIPT = "TICKET CLIENT SIMULATEUR\nCB 1234\nMERCI"
# Long enough for the tour to click Cancel, or to reload the page, while the customer
# "pays".
CUSTOMER_DELAY = 6.0
WORKER_TIMEOUT = 60  # liveness only
TOUR_TIMEOUT = 240  # liveness only: the longest tour takes about a minute


class CaisseApTourCase(BrowserTourMixin, TestPointOfSaleHttpCommon):
    """The demo shop with five Caisse-AP methods on two simulated terminals."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        allow_local_terminals(cls.env)
        cls.card = cls._caisse_ap_method("TPE Carte")
        cls.manual = cls._caisse_ap_method(
            "TPE Manuel", fr_caisse_ap_ip_fast_payment=False
        )
        cls.check = cls._caisse_ap_method(
            "TPE Cheque",
            fr_caisse_ap_ip_mode="check",
            fr_caisse_ap_ip_fast_payment=False,
        )
        cls.ancv = cls._caisse_ap_method(
            "TPE ANCV", fr_caisse_ap_ip_mode="ancv", fr_caisse_ap_ip_fast_payment=False
        )
        cls.neighbour = cls._caisse_ap_method("TPE Voisin")
        cls.main_pos_config.write(
            {
                "payment_method_ids": [
                    Command.link(method.id)
                    for method in (
                        cls.card,
                        cls.manual,
                        cls.check,
                        cls.ancv,
                        cls.neighbour,
                    )
                ],
                "auto_validate_terminal_payment": True,
            }
        )

    @classmethod
    def _caisse_ap_method(cls, name, **values):
        values.setdefault("fr_caisse_ap_ip_receipt", True)
        return cls.env["pos.payment.method"].create(
            caisse_ap_method_values(cls.bank_journal, name, **values)
        )

    def setUp(self):
        super().setUp()
        # Terminal A for every method but the neighbour's, which uses terminal B.
        self.terminal = self._start_simulator()
        self.terminal_b = self._start_simulator()
        (
            self.card | self.manual | self.check | self.ancv
        ).fr_caisse_ap_ip_port = self.terminal.port
        self.neighbour.fr_caisse_ap_ip_port = self.terminal_b.port
        # Registered last, so it runs first: no worker thread outlives the test.
        self.addCleanup(self._join_workers)

    def wait_until(self, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while not predicate():
            self.assertLess(time.monotonic(), deadline, "condition not reached in time")
            time.sleep(0.02)

    def _start_simulator(self):
        return started_simulator(self.addCleanup, delay=0.2)

    def _join_workers(self):
        join_workers(self, self.terminal, self.terminal_b)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _run_tour(self, name, keep_running=()):
        self._open_pos_ui()
        self.start_pos_tour(name, login="pos_user", timeout=TOUR_TIMEOUT)
        for payment_uuid in running_workers(self.cr.dbname):
            if payment_uuid not in keep_running:
                self.assertTrue(
                    wait_for_worker(self.cr.dbname, payment_uuid, WORKER_TIMEOUT),
                    f"worker of payment {payment_uuid} still running after the tour",
                )
        self.env.invalidate_all()

    def _open_pos_ui(self):
        self.main_pos_config.with_user(self.pos_user).open_ui()

    def _orders(self):
        return self.env["pos.order"].search(
            [("session_id", "=", self.main_pos_config.current_session_id.id)],
            order="id",
        )

    def _journal(self, payment=None, session=None):
        domain = []
        if payment:
            domain.append(("payment_uuid", "=", payment.uuid))
        if session:
            domain.append(("session_id", "=", session.id))
        return self.env["pos.caisse.ap.transaction"].search(
            domain, order="payment_uuid, attempt"
        )

    def _requests(self, simulator, count):
        """Requests of the ``count`` transactions the simulator must have finished."""
        self.assertTrue(
            simulator.wait_for_exchanges(count, 10), "the terminal ended its exchanges"
        )
        return [exchange["request_fields"] for exchange in simulator.exchanges]

    def assertPaidByTerminal(
        self, payment, amount, method=None, card_last4="1234", auth_code="123456"
    ):
        self.assertEqual(payment.payment_method_id, method or self.card)
        self.assertAlmostEqual(payment.amount, amount)
        self.assertEqual(
            payment.transaction_id,
            payment.caisse_ap_transaction_id.correlation_id,
            "the journal's reference of the attempt",
        )
        self.assertEqual(payment.payment_method_authcode or "", auth_code)
        self.assertEqual(payment.card_no or "", card_last4)
        self.assertTrue(payment.card_type, "the card application's label")
        self.assertEqual(payment.payment_status, "done")
        self.assertNotIn("false", (payment.ticket or "").lower())
        self.assertEqual(payment.caisse_ap_transaction_id.state, "success")


@tagged("post_install", "-at_install")
class TestCaisseApTours(CaisseApTourCase):
    # ------------------------------------------------------------------
    # Flows 1-4
    # ------------------------------------------------------------------
    def test_tour_card_flows(self):
        """Declined then approved; unknown then Retry or Force done; cancel."""
        self.terminal.queue(
            Scenario(kind="decline", af_code="04"),
            Scenario(kind="approve", receipt=RECEIPT),
            Scenario(kind="garbage"),
            Scenario(kind="approve"),
            Scenario(kind="garbage"),
            Scenario(kind="garbage"),
            Scenario(kind="red_button", af_code="11", delay=CUSTOMER_DELAY),
            Scenario(kind="approve", delay=CUSTOMER_DELAY),
        )
        self._run_tour("CaisseApCardFlowsTour")

        requests = self._requests(self.terminal, 8)
        self.assertEqual(
            len(requests), 8, "one request per attempt, nothing sent twice"
        )
        self.assertEqual({r["CB"] for r in requests}, {"198"})
        self.assertEqual({r["CD"] for r in requests}, {"0"})
        self.assertFalse(self.terminal_b.exchanges)

        orders = self._orders()
        self.assertEqual(len(orders), 5)
        self.assertEqual(set(orders.mapped("state")), {"paid"})
        declined, unknown_retry, forced, forced_later, cancelled = orders

        # 1-2. Declined, Retry, approved: one payment line, two attempts in the journal.
        payment = declined.payment_ids
        self.assertPaidByTerminal(payment, 1.98)
        self.assertIn(
            RECEIPT, payment.ticket, "the terminal's receipt is on the ticket"
        )
        failure, success = self._journal(payment)
        self.assertEqual(
            (failure.attempt, failure.state, failure.failure_code), (1, "failure", "04")
        )
        self.assertEqual((success.attempt, success.state), (2, "success"))
        self.assertEqual(success.receipt_text, RECEIPT)
        self.assertEqual(payment.caisse_ap_transaction_id, success)
        self.assertEqual(success.pos_order_id, declined)

        # 3a. Unknown, then Retry (sent again on purpose, its first try lost
        # before the server), approved.
        payment = unknown_retry.payment_ids
        self.assertPaidByTerminal(payment, 1.98)
        self.assertFalse(
            payment.ticket, "no receipt asked from this answer: nothing appended"
        )
        first, second = self._journal(payment)
        self.assertEqual((first.state, second.state), ("unknown", "success"))

        # 3b. Unknown, Force done: paid without an authorisation; only an
        # approval is linked (the journal finds the attempt by payment reference).
        payment = forced.payment_ids
        self.assertEqual(payment.payment_method_id, self.card)
        self.assertAlmostEqual(payment.amount, 1.98)
        self.assertFalse(payment.transaction_id)
        self.assertEqual(payment.payment_status, "done")
        [attempt] = self._journal(payment)
        self.assertEqual(attempt.state, "unknown")
        self.assertFalse(payment.caisse_ap_transaction_id)
        self.assertFalse(attempt.link_mismatch)

        # 3c. Unknown, dialog closed, Force done on the line.
        payment = forced_later.payment_ids
        self.assertEqual(payment.payment_status, "done")
        self.assertFalse(payment.transaction_id)
        [attempt] = self._journal(payment)
        self.assertEqual(attempt.state, "unknown")

        # 4. Cancel: red button (refused), then a cancel too late: approved anyway.
        payment = cancelled.payment_ids
        self.assertPaidByTerminal(payment, 1.98)
        first, second = self._journal(payment)
        self.assertEqual((first.state, first.failure_code), ("failure", "11"))
        self.assertTrue(first.cancel_requested)
        self.assertEqual(second.state, "success")
        self.assertTrue(second.cancel_requested)

    # ------------------------------------------------------------------
    # Flows 5-7
    # ------------------------------------------------------------------
    def test_tour_split_modes_refund(self):
        """Manual send split across two cards; check and ANCV; refund (credit)."""
        self._run_tour("CaisseApSplitModesRefundTour")

        requests = self._requests(self.terminal, 6)
        self.assertEqual(
            [(r["CB"], r["CD"], r.get("CC")) for r in requests],
            [
                ("200", "0", None),  # manual send, amount edited
                ("196", "0", None),  # the rest, on a second card payment
                ("200", "0", "00C"),  # check
                ("100", "0", "00V"),  # ANCV
                ("294", "0", None),  # card, auto-send
                ("198", "1", None),  # refund: credit
            ],
        )

        split, mixed, refund = self._orders()
        self.assertEqual(set((split | mixed | refund).mapped("state")), {"paid"})

        # 6. One order, two card payments of edited amounts.
        first, second = split.payment_ids.sorted("id")
        self.assertPaidByTerminal(first, 2.00, self.manual)
        self.assertPaidByTerminal(second, 1.96, self.manual)

        # 7. Check, ANCV and card in one order.
        by_method = {p.payment_method_id: p for p in mixed.payment_ids}
        self.assertEqual(set(by_method), {self.check, self.ancv, self.card})
        # No card behind a check or ANCV vouchers: no last 4 digits, and the
        # Ingenico terminal gives no authorisation number either.
        self.assertPaidByTerminal(
            by_method[self.check], 2.00, self.check, card_last4="", auth_code=""
        )
        self.assertPaidByTerminal(
            by_method[self.ancv], 1.00, self.ancv, card_last4="", auth_code=""
        )
        self.assertEqual(by_method[self.check].card_type, "Check")
        self.assertEqual(by_method[self.ancv].card_type, "ANCV holiday vouchers")
        self.assertPaidByTerminal(by_method[self.card], 2.94, self.card)
        modes = {p.payment_method_id: self._journal(p).mode for p in mixed.payment_ids}
        self.assertEqual(
            modes, {self.check: "check", self.ancv: "ancv", self.card: "card"}
        )

        # 5. The refund: negative line, sent as a credit, referencing its order.
        self.assertAlmostEqual(refund.amount_total, -1.98)
        self.assertEqual(refund.refunded_order_id, split)
        payment = refund.payment_ids
        self.assertPaidByTerminal(payment, -1.98)
        [credit] = self._journal(payment)
        self.assertEqual((credit.direction, credit.amount), ("credit", 1.98))
        # The POS named the refunded order: the credit was checked against its
        # terminal payments (2.00 + 1.96).
        self.assertEqual(credit.refunded_order_ids, split)

    # ------------------------------------------------------------------
    # Flows 8-9
    # ------------------------------------------------------------------
    def test_tour_reload_and_busy_terminal(self):
        """Reload during a payment resumes it; a terminal busy elsewhere refuses."""
        # Another register, on terminal B, starts a payment: the customer takes long.
        other_config = self.env["pos.config"].create({"name": "Caisse voisine"})
        # A long timeout: the other payment must stay active during the whole tour.
        other_method = self._caisse_ap_method(
            "TPE Voisin (caisse 2)", fr_caisse_ap_ip_timeout=600
        )
        other_method.fr_caisse_ap_ip_port = self.terminal_b.port
        other_config.payment_method_ids = [Command.link(other_method.id)]
        other_config.open_ui()
        other_session = other_config.current_session_id
        other_session.set_opening_control(0, None)
        self.terminal_b.queue(Scenario(kind="hang"))
        other_uuid = str(uuid.uuid4())
        self.env.flush_all()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.pos_admin.id, {})
            env["pos.payment.method"].browse(other_method.id).caisse_ap_start(
                {
                    "payment_uuid": other_uuid,
                    "order_uuid": str(uuid.uuid4()),
                    "amount": 7.0,
                    "pos_session_id": other_session.id,
                    "retry": False,
                }
            )
        self.wait_until(lambda: self.terminal_b.busy)
        self.env.invalidate_all()
        [other] = self.env["pos.caisse.ap.transaction"].search(
            [("payment_uuid", "=", other_uuid)]
        )
        self.assertEqual(other.state, "sent")

        self.terminal.queue(
            Scenario(kind="approve", delay=CUSTOMER_DELAY),  # reload meanwhile
            Scenario(kind="approve", delay=4),  # the POS goes offline meanwhile
            Scenario(kind="approve"),  # the reply to the start is lost once
            Scenario(kind="approve"),  # every reply to the start is lost
            Scenario(kind="partial", partial_amount=99),
            Scenario(kind="approve"),
        )
        self._run_tour("CaisseApReloadBusyTour", keep_running=(other_uuid,))

        requests = self._requests(self.terminal, 6)
        self.assertEqual(
            [r["CB"] for r in requests],
            ["198", "198", "198", "198", "198", "99"],
            "nothing sent twice",
        )
        resumed, offline, lost_reply, unreachable, partial, busy = self._orders()
        self.assertEqual(
            set(
                (resumed | offline | lost_reply | unreachable | partial).mapped("state")
            ),
            {"paid"},
        )

        # 8. The reloaded page followed the running payment: one request, one attempt.
        payment = resumed.payment_ids
        self.assertPaidByTerminal(payment, 1.98)
        [attempt] = self._journal(payment)
        self.assertEqual(attempt.state, "success")

        # Network: the first start never reached the server, the Retry did.
        payment = offline.payment_ids
        self.assertPaidByTerminal(payment, 1.98)
        [attempt] = self._journal(payment)
        self.assertEqual((attempt.attempt, attempt.state), (1, "success"))

        # Lost replies to the start: the repeats found the attempt the first one
        # started; one request each, and the line kept until the payment was found.
        for order in (lost_reply, unreachable):
            payment = order.payment_ids
            self.assertPaidByTerminal(payment, 1.98)
            [attempt] = self._journal(payment)
            self.assertEqual((attempt.attempt, attempt.state), (1, "success"))

        # Partial authorisation: 0.99 of 1.98 on the first line, the rest on a second.
        first, second = partial.payment_ids.sorted("id")
        self.assertPaidByTerminal(first, 0.99)
        self.assertPaidByTerminal(second, 0.99)
        [attempt] = self._journal(first)
        self.assertTrue(attempt.partial)
        self.assertEqual((attempt.amount, attempt.amount_authorised), (1.98, 0.99))

        # 9. Busy: nothing recorded nor sent for this register, the other payment
        # undisturbed.
        self.assertEqual(busy.state, "paid")
        self.assertEqual(busy.payment_ids.payment_method_id.name, "Cash")
        self.assertFalse(
            self.env["pos.caisse.ap.transaction"].search(
                [("payment_method_id", "=", self.neighbour.id)]
            )
        )
        self.assertTrue(
            self.terminal_b.busy, "terminal B still serves the other register"
        )
        self.assertEqual(
            self.terminal_b.busy_connections, 0, "nothing reached terminal B"
        )
        self.assertFalse(self.terminal_b.exchanges)
        other.invalidate_recordset()
        self.assertEqual(other.state, "sent")
        self.assertFalse(other.cancel_requested)
        self.assertEqual(other.attempt, 1)
