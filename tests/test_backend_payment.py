import uuid
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from ..caisse_ap.simulator import Scenario
from ..models import pos_payment as link_module
from .common import TRANSACTION_KEYS, CaisseApCommon, free_port, open_session


@tagged("post_install", "-at_install")
class TestBackendPayment(CaisseApCommon):
    def test_success(self):
        self.simulator.set_scenario(
            Scenario(kind="approve", delay=0, receipt="TICKET CLIENT\nMERCI")
        )
        self.method.fr_caisse_ap_ip_receipt = True
        started, transaction, status = self.pay(12.34)

        self.assertEqual(set(started), TRANSACTION_KEYS)
        self.assertEqual(
            started["state"], "pending", "start returns before the exchange"
        )
        self.assertFalse(started["final"])
        self.assertEqual(set(status), TRANSACTION_KEYS)
        self.assertEqual(status["state"], "success")
        self.assertTrue(status["final"])
        self.assertEqual(status["transaction_id"], transaction.id)
        self.assertEqual(status["attempt"], 1)
        self.assertEqual(status["amount"], 12.34)
        self.assertEqual(status["amount_authorised"], 12.34)
        self.assertFalse(status["partial"])
        self.assertEqual(status["auth_code"], "123456")
        self.assertEqual(status["card_last4"], "1234")
        self.assertEqual(status["application_label"], "CB (contact)")
        self.assertEqual(status["read_mode_label"], "Contactless")
        self.assertEqual(status["receipt_text"], "TICKET CLIENT\nMERCI")
        self.assertEqual(status["message"], "")
        self.assertFalse(status["cancel_requested"])

        [exchange] = self.simulator.exchanges
        request = exchange["request_fields"]
        self.assertEqual(request["CB"], "1234")
        self.assertEqual(request["CD"], "0")
        self.assertEqual(request["CE"], f"{self.config.currency_id.iso_numeric:03d}")
        self.assertEqual(request["CA"], "01")
        self.assertEqual(request["CZ"], "0300")
        self.assertEqual(request["CK"], "100")
        self.assertNotIn("CC", request, "a card payment lets the terminal choose")

        self.assertEqual(transaction.direction, "debit")
        self.assertEqual(transaction.session_id, self.session)
        self.assertEqual(transaction.config_id, self.config)
        self.assertEqual(transaction.user_id, self.pos_user)
        self.assertEqual(transaction.company_id, self.company)
        self.assertEqual(transaction.terminal_key, f"127.0.0.1:{self.simulator.port}")
        self.assertEqual(transaction.order_uuid and len(transaction.order_uuid), 36)
        self.assertTrue(transaction.sent_at and transaction.ended_at)
        self.assertIn("CB0041234", transaction.request_frame)
        self.assertIn("AA0041234", transaction.answer_frame)
        for secret in ("497010", "2812"):
            self.assertNotIn(
                secret, transaction.answer_frame, "no card number nor expiry is stored"
            )
        # The POS hears that it changed on its (public) bus channel, nothing more.
        notified = self.bus_messages()
        self.assertEqual(
            notified[-1],
            {
                "payment_uuid": transaction.payment_uuid,
                "attempt": 1,
                "state": "success",
            },
        )

    def test_modes_and_settings_reach_the_terminal(self):
        self.method.write(
            {
                "fr_caisse_ap_ip_pos_number": "07",
                "fr_caisse_ap_ip_protocol_version": "0320",
            }
        )
        for mode, forced in (("check", "00C"), ("ancv", "00V")):
            with self.subTest(mode=mode):
                # _write: past the open-session guard, not what this test is about.
                self.method._write({"fr_caisse_ap_ip_mode": mode})
                started, transaction, status = self.pay(5)
                self.assertEqual(status["state"], "success")
                request = self.simulator.exchanges[-1]["request_fields"]
                self.assertEqual(request["CC"], forced)
                self.assertEqual(request["CA"], "07")
                self.assertEqual(request["CZ"], "0320")
                self.assertEqual(transaction.mode, mode)

    def test_declined(self):
        self.simulator.set_scenario(Scenario(kind="decline", delay=0, af_code="05"))
        _started, transaction, status = self.pay()
        self.assertEqual(status["state"], "failure")
        self.assertTrue(status["final"])
        self.assertEqual(status["failure_code"], "05")
        self.assertIn("Forbidden", status["message"])
        self.assertIn("05", status["message"])
        self.assertFalse(status["amount_authorised"])
        self.assertEqual(transaction.failure_label, "Forbidden")

    def test_red_button(self):
        self.simulator.set_scenario(Scenario(kind="red_button", delay=0, af_code="11"))
        _started, _transaction, status = self.pay()
        self.assertEqual(status["state"], "failure")
        self.assertEqual(status["failure_code"], "11")

    def test_unknown_outcomes(self):
        """Whatever may hide a payment is "unknown", never a failure."""
        for kind in ("close", "garbage", "wrong_echo", "accepted", "reset", "hang"):
            with self.subTest(kind=kind):
                self.simulator.set_scenario(Scenario(kind=kind, delay=0))
                started = self.start()
                if kind == "hang":
                    # The terminal keeps the payment until the test lets it go.
                    self.wait_until(lambda: self.simulator.busy)
                    self.simulator.release_hang()
                transaction = self.wait(started["payment_uuid"])
                status = self.rpc("caisse_ap_status", started["payment_uuid"])
                self.assertEqual(status["state"], "unknown")
                self.assertTrue(status["final"])
                self.assertIn("check on the terminal", status["message"])
                self.assertTrue(transaction.error_message)
                self.assertTrue(transaction.sent_at)

    def test_connection_refused(self):
        self.method.fr_caisse_ap_ip_port = free_port()
        _started, transaction, status = self.pay()
        self.assertEqual(status["state"], "error")
        self.assertTrue(status["final"])
        self.assertIn("not sent", status["message"])
        self.assertIn("refused", transaction.error_message)
        self.assertEqual(self.bus_messages()[-1]["state"], "error")

    def test_partial_authorisation(self):
        self.simulator.set_scenario(
            Scenario(kind="partial", delay=0, partial_amount=1000)
        )
        _started, _transaction, status = self.pay(12.34)
        self.assertEqual(status["state"], "success")
        self.assertTrue(status["partial"])
        self.assertEqual(status["amount_authorised"], 10.0)
        self.assertIn("Partial payment", status["message"])

    def test_refund(self):
        # The refund rule has its own tests (test_backend_refund).
        self.method.fr_caisse_ap_ip_allow_unreferenced_refund = True
        started, transaction, status = self.pay(-5.5)
        self.assertEqual(self.simulator.exchanges[-1]["request_fields"]["CD"], "1")
        self.assertEqual(self.simulator.exchanges[-1]["request_fields"]["CB"], "550")
        self.assertEqual(transaction.direction, "credit")
        self.assertEqual(transaction.amount, 5.5)
        self.assertEqual(status["state"], "success")
        self.assertEqual(started["amount"], -5.5)
        self.assertEqual(status["amount_authorised"], -5.5)

    def test_xpf_has_no_decimals(self):
        xpf = self.env.ref("base.XPF")
        xpf.active = True
        journals = {
            kind: self.env["account.journal"].create(
                {
                    "name": f"XPF {kind}",
                    "type": kind,
                    "code": f"XP{kind[0].upper()}",
                    "currency_id": xpf.id,
                    "company_id": self.company.id,
                }
            )
            for kind in ("sale", "bank")
        }
        method = self._create_method(
            "TPE XPF",
            journal_id=journals["bank"].id,
            fr_caisse_ap_ip_port=self.simulator.port,
        )
        pricelist = self.env["product.pricelist"].create(
            {"name": "XPF", "currency_id": xpf.id}
        )
        config = self.env["pos.config"].create(
            {
                "name": "Boutique Papeete",
                "journal_id": journals["sale"].id,
                "invoice_journal_id": journals["sale"].id,
                "pricelist_id": pricelist.id,
                "available_pricelist_ids": [Command.set(pricelist.ids)],
                "payment_method_ids": [Command.set(method.ids)],
            }
        )
        self.assertEqual(config.currency_id, xpf)
        session = open_session(config)
        started = self.start(1500, session=session, method=method)
        transaction = self.wait(started["payment_uuid"])
        request = self.simulator.exchanges[-1]["request_fields"]
        self.assertEqual(request["CB"], "1500")
        self.assertEqual(request["CE"], "953")
        self.assertEqual(transaction.state, "success")
        self.assertEqual(transaction.amount, 1500)
        self.assertEqual(transaction.currency_id, xpf)

    # ------------------------------------------------------------------
    # pos.payment -> transaction link
    # ------------------------------------------------------------------
    def order(self, order_uuid, amount=12.34):
        return self.env["pos.order"].create(
            {
                "session_id": self.session.id,
                "uuid": order_uuid,
                "amount_total": amount,
                "amount_tax": 0,
                "amount_paid": 0,
                "amount_return": 0,
            }
        )

    def payment_line(self, order, transaction, amount=12.34):
        return self.env["pos.payment"].create(
            {
                "pos_order_id": order.id,
                "payment_method_id": self.method.id,
                "amount": amount,
                "uuid": transaction.payment_uuid,
            }
        )

    def test_pos_payment_is_linked(self):
        _started, transaction, _status = self.pay(12.34)
        order = self.order(transaction.order_uuid)
        payment = self.payment_line(order, transaction)
        self.assertEqual(payment.caisse_ap_transaction_id, transaction)
        self.assertEqual(payment.card_no, "1234")
        self.assertEqual(payment.payment_method_authcode, "123456")
        self.assertEqual(transaction.pos_order_id, order)
        self.assertFalse(transaction.link_mismatch)

    def test_a_refund_is_linked(self):
        # The refund rule has its own tests (test_backend_refund).
        self.method.fr_caisse_ap_ip_allow_unreferenced_refund = True
        _started, transaction, _status = self.pay(-5)
        order = self.order(transaction.order_uuid, -5)
        payment = self.payment_line(order, transaction, -5)
        self.assertEqual(payment.caisse_ap_transaction_id, transaction)

    def test_a_mismatch_links_nothing(self):
        for case in ("another order", "another amount", "already linked"):
            with self.subTest(case=case), patch.object(link_module, "_logger") as log:
                _started, transaction, _status = self.pay(12.34)
                order = self.order(transaction.order_uuid)
                if case == "another order":
                    order = self.order(str(uuid.uuid4()))
                    payment = self.payment_line(order, transaction)
                elif case == "another amount":
                    payment = self.payment_line(order, transaction, 12.43)
                else:
                    first = self.payment_line(order, transaction)
                    self.assertEqual(first.caisse_ap_transaction_id, transaction)
                    payment = self.payment_line(order, transaction)
                self.assertFalse(payment.caisse_ap_transaction_id)
                self.assertFalse(payment.card_no, "nothing copied from the approval")
                self.assertFalse(payment.payment_method_authcode)
                self.assertTrue(transaction.link_mismatch, "needs attention")
                [warning] = log.warning.call_args_list
                self.assertIn(case, warning.args[0] % warning.args[1:])

    def test_no_approval_no_link(self):
        self.simulator.queue(Scenario(kind="decline", delay=0))
        _started, transaction, status = self.pay(12.34)
        self.assertEqual(status["state"], "failure")
        payment = self.payment_line(self.order(transaction.order_uuid), transaction)
        self.assertFalse(payment.caisse_ap_transaction_id)
        self.assertFalse(transaction.link_mismatch, "a declined card is no mismatch")

    def test_a_draft_order_synced_again_is_linked(self):
        transaction = self.make_transaction(
            "sent", order_uuid=str(uuid.uuid4()), amount=12.34
        )
        order = self.order(transaction.order_uuid)
        payment = self.payment_line(order, transaction)
        self.assertFalse(payment.caisse_ap_transaction_id, "not approved yet")
        transaction._transition("success", auth_code="654321", card_last4="4321")
        # What the POS sends for a draft order's existing payment line.
        order.write(
            {
                "payment_ids": [
                    Command.update(payment.id, {"amount": 12.34, "uuid": payment.uuid})
                ]
            }
        )
        self.assertEqual(payment.caisse_ap_transaction_id, transaction)
        self.assertEqual(payment.payment_method_authcode, "654321")
        self.assertEqual(payment.card_no, "4321")
        # Rewritten with another amount: the link no longer holds.
        payment.write({"amount": 10})
        self.assertFalse(payment.caisse_ap_transaction_id)
        self.assertTrue(transaction.link_mismatch)
