"""Kiosk payments: the server pays the order once, whichever way the answer comes."""

import json
import tempfile
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import config, mute_logger

from odoo.addons.l10n_fr_pos_caisse_ap_ip.caisse_ap.simulator import (
    Scenario,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.runtime import worker as caisse_ap_worker
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.common import open_session
from odoo.addons.point_of_sale.models.pos_order import PosOrder

from .common import KioskCommon

SETTLE_LOGGER = "odoo.addons.l10n_fr_pos_caisse_ap_ip_self_order.models"
RECEIPT = "TICKET CLIENT\nCB 1234\nMERCI"


@tagged("post_install", "-at_install")
class TestKioskPayment(KioskCommon):
    # ------------------------------------------------------------------
    # What the kiosk offers
    # ------------------------------------------------------------------
    def test_kiosk_offers_the_card_methods_of_its_own_pos(self):
        elsewhere = self._create_method("TPE Autre Borne")
        self._kiosk_config("Autre borne", elsewhere)
        methods = self.env["pos.payment.method"]

        def offered(mode):
            data = {
                "pos.config": {
                    "data": [{"id": self.kiosk.id, "self_ordering_mode": mode}]
                }
            }
            return methods.search(methods._load_pos_self_data_domain(data))

        self.assertEqual(offered("kiosk"), self.method, "no check, no other POS")
        self.assertFalse(offered("mobile") & (self.method | elsewhere))

    # ------------------------------------------------------------------
    # Approved, refused, unknown
    # ------------------------------------------------------------------
    def test_approval_pays_the_order_once_with_its_ticket(self):
        self.method.fr_caisse_ap_ip_receipt = True
        self.simulator.set_scenario(Scenario(kind="approve", receipt=RECEIPT))
        order = self.kiosk_order(12.34)

        self.assertEqual(self.kiosk_pay(order), {"caisse_ap_state": "pending"})
        transaction = self.wait_kiosk(order)

        self.assertEqual(transaction.state, "success")
        self.assertEqual(transaction.kiosk_order_id, order)
        self.assertEqual(transaction.user_id, self.pos_user)
        self.assertEqual(self.simulator.exchanges[-1]["request_fields"]["CB"], "1234")
        payment = self.assert_paid_once(order, transaction)
        self.assertEqual(payment.ticket, RECEIPT)
        self.assertEqual(payment.card_type, "CB (contact)")

        [note] = self.kiosk_messages(order)
        self.assertEqual(note["payment_result"], "Success")
        self.assertEqual(note["caisse_ap"]["outcome"], "paid")
        self.assertEqual(note["data"]["pos.order"][0]["state"], "paid")
        # The same as Odoo's bridges send: the order, never the card.
        text = json.dumps(note)
        for secret in ("123456", "MERCI", '"card_no"', '"ticket"'):
            self.assertNotIn(secret, text)
        # The POS's public channel hears no card data either.
        self.assertEqual(
            self.bus_messages(self.kiosk)[-1],
            {
                "payment_uuid": transaction.payment_uuid,
                "attempt": 1,
                "state": "success",
            },
        )

        # Paid: the kiosk may not start it again, the terminal hears nothing.
        with self.assertRaisesRegex(UserError, "can no longer be paid"):
            self.kiosk_pay(order)
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_refused_then_approved(self):
        self.simulator.queue(
            Scenario(kind="decline", af_code="05"), Scenario(kind="approve")
        )
        order = self.kiosk_order()
        self.kiosk_pay(order)
        refused = self.wait_kiosk(order)
        self.assertEqual(refused.state, "failure")
        self.assertEqual(order.state, "draft")
        [note] = self.kiosk_messages(order)
        self.assertEqual(note["payment_result"], "Failure")
        self.assertEqual(note["caisse_ap"]["outcome"], "refused")
        self.assertIn("Forbidden", note["caisse_ap"]["message"])

        self.kiosk_pay(order)
        approved = self.wait_kiosk(order)
        self.assertEqual(approved.attempt, 2)
        self.assert_paid_once(order, approved)
        self.assertEqual(len(self.simulator.exchanges), 2)

    def test_cancel_on_the_terminal_says_cancelled(self):
        self.simulator.set_scenario(Scenario(kind="red_button", af_code="11"))
        order = self.kiosk_order()
        self.kiosk_pay(order)
        self.wait_kiosk(order)
        self.assertEqual(
            self.kiosk_messages(order)[-1]["caisse_ap"]["outcome"], "cancelled"
        )
        self.assertEqual(order.state, "draft")

    def test_terminal_unreachable_says_not_charged(self):
        self.simulator.stop()
        order = self.kiosk_order()
        self.kiosk_pay(order)
        self.assertEqual(self.wait_kiosk(order).state, "error")
        status = self.kiosk_messages(order)[-1]["caisse_ap"]
        self.assertEqual(status["outcome"], "not_sent")
        self.assertIn("not been charged", status["message"])

    def test_a_repeated_request_never_charges_twice(self):
        self.simulator.set_scenario(Scenario(kind="hang", delay=0))
        order = self.kiosk_order()
        self.kiosk_pay(order)
        self.wait_until(lambda: self.simulator.busy)
        # The kiosk asks again (a double tap, a reload) while the customer pays.
        self.kiosk_pay(order)
        self.assertEqual(len(self.kiosk_transactions(order)), 1)

        self.simulator.release_hang()  # closed without an answer: unknown
        with mute_logger(caisse_ap_worker.__name__):
            unknown = self.wait_kiosk(order)
        self.assertEqual(unknown.state, "unknown")
        status = self.kiosk_messages(order)[-1]["caisse_ap"]
        self.assertEqual(status["outcome"], "staff")
        self.assertIn("do not pay again", status["message"])

        # Unknown waits for the staff: a new request sends nothing, says it again.
        self.kiosk_pay(order)
        self.assertEqual(self.kiosk_transactions(order), unknown)
        self.assertEqual(len(self.simulator.exchanges), 1)
        self.assertEqual(
            self.kiosk_messages(order)[-1]["caisse_ap"]["outcome"], "staff"
        )
        self.assertEqual(order.state, "draft")

        # Past the grace delay, a manager sees it in needs attention.
        unknown.ended_at = fields.Datetime.now() - timedelta(minutes=5)
        self.assertEqual(unknown.attention_reasons, "Unknown outcome never resolved")

    # ------------------------------------------------------------------
    # Exactly once, whichever way the answer comes
    # ------------------------------------------------------------------
    def test_late_answer_after_the_sweep_pays_once(self):
        order = self.kiosk_order()
        transaction = self.swept_unknown(order)
        self.assertEqual(order.state, "draft")
        self.assertEqual(
            self.kiosk_messages(order)[-1]["caisse_ap"]["outcome"], "staff"
        )

        record = self.approval_record(transaction)
        transaction._record_outcome(record)
        self.assertEqual(transaction.state, "success")
        self.assert_paid_once(order, transaction)
        self.assertEqual(self.kiosk_messages(order)[-1]["payment_result"], "Success")

        # The same answer again (a relay posting twice, a replayed file).
        transaction._record_outcome(record)
        transaction._caisse_ap_relay_record(record)
        transaction._caisse_ap_relay_record(record)
        self.assert_paid_once(order, transaction)

    def test_answer_replayed_after_a_restart_pays_once(self):
        spool_dir = self.enterContext(tempfile.TemporaryDirectory())
        self.enterContext(patch.dict(config.options, {"data_dir": spool_dir}))
        order = self.kiosk_order()
        transaction = self.swept_unknown(order)
        spool = caisse_ap_worker.outcome_spool(self.cr.dbname)
        spool.keep(
            transaction.id,
            {
                "transaction_id": transaction.id,
                "payment_uuid": transaction.payment_uuid,
                "attempt": transaction.attempt,
                "outcome": self.approval_record(transaction),
            },
        )
        # The next run's sweep records it.
        self.env["pos.caisse.ap.transaction"]._cron_sweep()
        self.assert_paid_once(order, transaction)
        self.env["pos.caisse.ap.transaction"]._cron_sweep()
        self.env.cr.postcommit.run()
        self.env["pos.caisse.ap.transaction"]._cron_sweep()
        self.assert_paid_once(order, transaction)

    def test_an_approval_odoo_cannot_book_is_kept_for_a_manager(self):
        order = self.kiosk_order()
        with (
            patch.object(
                PosOrder,
                "action_pos_order_paid",
                side_effect=UserError("refused by a customisation"),
            ),
            mute_logger(SETTLE_LOGGER),
        ):
            self.kiosk_pay(order)
            transaction = self.wait_kiosk(order)
        self.assertEqual(transaction.state, "success", "the approval is recorded")
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.payment_ids, "nothing half-booked")
        self.assertEqual(
            self.kiosk_messages(order)[-1]["caisse_ap"]["outcome"], "staff"
        )
        transaction.ended_at = fields.Datetime.now() - timedelta(minutes=5)
        self.assertEqual(
            transaction.attention_reasons, "Approved, but no sale recorded"
        )

    def test_partial_authorisation_is_booked_and_sends_to_the_staff(self):
        self.simulator.set_scenario(Scenario(kind="partial", partial_amount=1000))
        order = self.kiosk_order(12.34)
        with mute_logger(SETTLE_LOGGER):
            self.kiosk_pay(order)
            transaction = self.wait_kiosk(order)
        self.assertTrue(transaction.partial)
        self.assertEqual(order.state, "draft", "2.34 still due")
        self.assertEqual(order.payment_ids.amount, 10.0)
        status = self.kiosk_messages(order)[-1]["caisse_ap"]
        self.assertEqual(status["outcome"], "staff")
        self.assertIn("10.00", status["message"])
        # Another tap asks nothing more: the staff take the rest at the counter.
        with mute_logger(SETTLE_LOGGER):
            self.assertEqual(self.kiosk_pay(order), {"caisse_ap_state": "success"})
        self.assertEqual(len(self.simulator.exchanges), 1)

    # ------------------------------------------------------------------
    # What a kiosk may ask (the attacks a reviewer would try)
    # ------------------------------------------------------------------
    def test_a_kiosk_cannot_pay_with_another_pos_method(self):
        other_kiosk = self._kiosk_config("Autre borne", self._create_method("TPE B"))
        other_session = open_session(other_kiosk)
        theirs = self.kiosk_order(session=other_session)
        for order, method in (
            (theirs, self.method),  # a method their kiosk does not offer
            (self.kiosk_order(), self.check_method),  # a check at a kiosk
        ):
            with self.assertRaisesRegex(UserError, "cannot be used on this kiosk"):
                self.kiosk_pay(order, method=method)
        self.assertFalse(self.simulator.exchanges)

    def test_a_till_order_is_not_a_kiosk_order(self):
        till_order = self.kiosk_order(session=self.session)
        with self.assertRaisesRegex(UserError, "cannot be used on this kiosk"):
            self.kiosk_pay(till_order)
        self.assertFalse(self.simulator.exchanges)

    def test_a_payment_no_terminal_approved_pays_nothing(self):
        # A line booked by anything but an approval of this addon (posted by
        # hand, or through another route) neither lowers what the terminal
        # asks nor marks the order paid: the order goes to the counter.
        for amount in (2.34, 12.34):
            order = self.kiosk_order(12.34)
            order.add_payment(
                {
                    "amount": amount,
                    "payment_method_id": self.method.id,
                    "pos_order_id": order.id,
                }
            )
            with self.assertRaisesRegex(UserError, "did not approve"):
                self.kiosk_pay(order)
        self.assertFalse(self.simulator.exchanges)

    def test_the_customer_reads_the_kiosks_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(
            ["l10n_fr_pos_caisse_ap_ip", "l10n_fr_pos_caisse_ap_ip_self_order"],
            ["fr_FR"],
            overwrite=True,
        )
        self.pos_user.lang = "fr_FR"
        self.simulator.set_scenario(Scenario(kind="decline", af_code="05"))
        order = self.kiosk_order()
        self.kiosk_pay(order)
        self.wait_kiosk(order)
        message = self.kiosk_messages(order)[-1]["caisse_ap"]["message"]
        self.assertIn("Le terminal a refusé le paiement (Interdite)", message)
