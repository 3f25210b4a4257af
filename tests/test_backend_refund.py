"""Refunds on the terminal are bounded and reference their orders."""

import uuid

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..caisse_ap.simulator import Scenario
from .common import CaisseApCommon


@tagged("post_install", "-at_install")
class TestBackendRefund(CaisseApCommon):
    def _order(self, total=12.34):
        return self.env["pos.order"].create(
            {
                "session_id": self.session.id,
                "amount_tax": 0.0,
                "amount_total": total,
                "amount_paid": total,
                "amount_return": 0.0,
            }
        )

    def _paid_order(self, amount=12.34):
        """An order paid on the terminal (the journal knows it by its uuid)."""
        order = self._order(amount)
        _started, transaction, status = self.pay(amount, order_uuid=order.uuid)
        self.assertEqual(status["state"], "success")
        self.assertEqual(transaction.order_uuid, order.uuid)
        return order

    def assertRefused(self, message, amount, **kwargs):
        """The refund is refused with ``message``; nothing recorded nor sent."""
        payment_uuid = str(uuid.uuid4())
        sent = len(self.simulator.exchanges)
        with self.assertRaisesRegex(UserError, message):
            self.start(amount, payment_uuid=payment_uuid, **kwargs)
        self.assertFalse(self.transactions(payment_uuid))
        self.assertEqual(len(self.simulator.exchanges), sent, "nothing sent")

    def test_refund_bounded_by_the_terminal_payments(self):
        order = self._paid_order(12.34)
        _started, credit, status = self.pay(-5.5, refunded_orders=order)
        self.assertEqual(status["state"], "success")
        self.assertEqual(self.simulator.exchanges[-1]["request_fields"]["CD"], "1")
        self.assertEqual(credit.direction, "credit")
        self.assertEqual(credit.refunded_order_ids, order)
        self.assertRefused(
            "more than the terminal can still give back", -6.85, refunded_orders=order
        )
        _started, _credit, status = self.pay(-6.84, refunded_orders=order)
        self.assertEqual(status["state"], "success", "the rest, to the cent")
        self.assertRefused("already refunded", -0.01, refunded_orders=order)

    def test_partial_approval_bounds_the_refund(self):
        order = self._order(12.34)
        self.simulator.set_scenario(
            Scenario(kind="partial", delay=0, partial_amount=1000)
        )
        self.pay(12.34, order_uuid=order.uuid)
        self.simulator.set_scenario(Scenario(kind="approve", delay=0))
        self.assertRefused("10.00 paid on the terminal", -12.34, refunded_orders=order)
        _started, _credit, status = self.pay(-10.0, refunded_orders=order)
        self.assertEqual(status["state"], "success")

    def test_declined_credit_does_not_count(self):
        order = self._paid_order(12.34)
        self.simulator.set_scenario(Scenario(kind="decline", delay=0))
        _started, _credit, status = self.pay(-12.34, refunded_orders=order)
        self.assertEqual(status["state"], "failure")
        self.simulator.set_scenario(Scenario(kind="approve", delay=0))
        _started, _credit, status = self.pay(-12.34, refunded_orders=order)
        self.assertEqual(status["state"], "success")

    def test_refund_without_order_refused_unless_allowed(self):
        self.assertRefused("must come from the order being refunded", -5.5)
        self.assertRefused(
            "must come from the order being refunded",
            -5.5,
            refunded_orders=self._order().browse(),
        )
        # Payments are not concerned.
        _started, _transaction, status = self.pay(5.5)
        self.assertEqual(status["state"], "success")

        # Only a manager sees and sets the option.
        with self.assertRaises(AccessError):
            self.method.with_user(self.pos_user).read(
                ["fr_caisse_ap_ip_allow_unreferenced_refund"]
            )
        self.method.with_user(self.pos_manager).write(
            {"fr_caisse_ap_ip_allow_unreferenced_refund": True}
        )
        _started, credit, status = self.pay(-5.5)
        self.assertEqual(status["state"], "success")
        self.assertFalse(credit.refunded_order_ids)

    def test_refund_of_an_order_not_paid_on_the_terminal(self):
        self.assertRefused(
            "was not paid on a Caisse-AP payment terminal",
            -1.0,
            refunded_orders=self._order(),
        )

    def test_refund_of_another_company_order(self):
        order = self._paid_order(12.34)
        other = self.env["res.company"].create({"name": "Autre Boutique"})
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE pos_order SET company_id = %s WHERE id = %s", (other.id, order.id)
        )
        self.env.invalidate_all()
        self.assertRefused("not found in the company", -1.0, refunded_orders=order)

    def test_refund_of_a_missing_order(self):
        order = self._paid_order(12.34)
        missing = order.browse(order.id + 100000)
        self.assertRefused(
            "not found in the company", -1.0, refunded_orders=order | missing
        )

    def test_invalid_references(self):
        for refs in ("1", [True], ["1"], list(range(101))):
            with (
                self.subTest(refs=refs),
                self.assertRaisesRegex(
                    UserError, "Invalid reference to the refunded orders"
                ),
            ):
                self.rpc(
                    "caisse_ap_start",
                    {
                        "payment_uuid": str(uuid.uuid4()),
                        "order_uuid": str(uuid.uuid4()),
                        "amount": -1.0,
                        "pos_session_id": self.session.id,
                        "retry": False,
                        "refunded_order_ids": refs,
                    },
                )
        self.assertFalse(self.transactions())

    # ------------------------------------------------------------------
    # Retry after "unknown": the attempt may have credited already
    # ------------------------------------------------------------------
    def test_retry_after_unknown_credit_cannot_refund_twice(self):
        """Unplug the terminal once it credited 100, Retry, get 100 again:
        the unknown attempt counts against what is left to refund."""
        order = self._paid_order(100.0)
        self.simulator.set_scenario(Scenario(kind="close", delay=0))
        payment_uuid = str(uuid.uuid4())
        _started, first, status = self.pay(
            -100.0, payment_uuid=payment_uuid, refunded_orders=order
        )
        self.assertEqual(status["state"], "unknown")
        self.simulator.set_scenario(Scenario(kind="approve", delay=0))
        sent = len(self.simulator.exchanges)
        for payment in (payment_uuid, str(uuid.uuid4())):
            with self.assertRaisesRegex(
                UserError, "more than the terminal can still give back"
            ):
                self.start(
                    -100.0, payment_uuid=payment, retry=True, refunded_orders=order
                )
        self.assertEqual(self.transactions(payment_uuid), first)
        self.assertEqual(len(self.simulator.exchanges), sent, "nothing sent")

    def test_approved_amount_above_the_request_does_not_raise_the_ceiling(self):
        """A journal entry that says more was approved than asked (a forged or
        corrupted outcome) gives back no more than the terminal was asked."""
        order = self._paid_order(10.0)
        paid = self.env["pos.caisse.ap.transaction"].search(
            [("order_uuid", "=", order.uuid), ("state", "=", "success")]
        )
        paid.sudo().write({"amount_authorised": 1000.0})
        self.env.flush_all()
        self.assertRefused("more than the terminal", -10.01, refunded_orders=order)
        _started, _credit, status = self.pay(-10.0, refunded_orders=order)
        self.assertEqual(status["state"], "success")
