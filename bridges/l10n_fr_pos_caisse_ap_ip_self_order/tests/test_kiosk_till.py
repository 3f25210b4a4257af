"""A kiosk payment whose outcome never came is settled from the till."""

from odoo import api
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.common import journal_entry

from .common import KioskCommon

BLOCKED = "may already have paid this order at the kiosk"


@tagged("post_install", "-at_install")
class TestKioskTill(KioskCommon):
    def kiosk_unknown(self, order):
        """The kiosk's payment of ``order`` lost on its way (swept to unknown)."""
        return journal_entry(
            self.env,
            self.method,
            self.kiosk_session,
            state="unknown",
            amount=order.amount_total,
            payment_uuid=self.kiosk_payment_uuids[order],
            order_uuid=order.uuid,
            kiosk_order_id=order.id,
        )

    def till(self, name, order, *args, user=None):
        """Call one of the till's RPCs on ``order``, as the till does."""
        self.env.flush_all()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, (user or self.pos_user).id, {})
            result = getattr(env["pos.order"].browse(order.id), name)(*args)
        self.env.invalidate_all()
        return result

    def test_the_till_cannot_charge_again_before_the_staff_settles(self):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        [listed] = self.till("caisse_ap_kiosk_unsettled", order)
        self.assertEqual(listed["id"], unknown.id)
        self.assertEqual(listed["amount"], 12.34)
        with self.assertRaisesRegex(UserError, BLOCKED):
            self.start(order_uuid=order.uuid)
        self.assertFalse(self.simulator.exchanges, "nothing sent")

        self.till("caisse_ap_kiosk_settle", order, unknown.id, False)
        self.assertEqual(unknown.kiosk_settlement, "not_paid")
        self.assertEqual(unknown.kiosk_settled_by_id, self.pos_user)
        self.assertFalse(self.till("caisse_ap_kiosk_unsettled", order))
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.payment_ids)
        # The cashier's word is kept for the manager, who still reviews it.
        self.assertEqual(unknown.attention_reasons, "Unknown outcome never resolved")
        [item] = unknown._caisse_ap_attention_items()
        self.assertIn("Settled at the till by", item["reasons"][-1])
        self.assertIn("Not paid", item["reasons"][-1])

        started = self.start(order_uuid=order.uuid)
        self.assertEqual(self.wait(started["payment_uuid"]).state, "success")

    def test_paid_on_the_terminal_books_the_kiosk_payment(self):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        result = self.till("caisse_ap_kiosk_settle", order, unknown.id, True)
        self.assertEqual(result, {"state": "paid"})
        order.invalidate_recordset()
        self.assertEqual(order.state, "paid")
        [payment] = order.payment_ids
        self.assertEqual(payment.uuid, unknown.payment_uuid)
        self.assertEqual(payment.amount, 12.34)
        self.assertEqual(payment.payment_method_id, self.method)
        self.assertFalse(payment.caisse_ap_transaction_id, "no approval behind it")
        self.assertFalse(payment.card_no)
        # As a till's Force done: a manager checks it against the terminal's ticket.
        self.assertEqual(
            unknown.attention_reasons, "Payment forced done without an approval"
        )
        status = self.kiosk_messages(order)[-1]
        self.assertEqual(status["payment_result"], "Success")
        self.assertEqual(status["caisse_ap"]["outcome"], "paid")

    def test_a_late_approval_confirms_the_booked_line_once(self):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        self.till("caisse_ap_kiosk_settle", order, unknown.id, True)
        unknown._record_outcome(self.approval_record(unknown))
        self.assertEqual(unknown.state, "success")
        payment = self.assert_paid_once(order, unknown)
        self.assertEqual(payment.uuid, unknown.payment_uuid)
        self.assertFalse(unknown.attention_reasons)

    def test_a_late_approval_after_not_paid_is_booked_if_still_due(self):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        self.till("caisse_ap_kiosk_settle", order, unknown.id, False)
        unknown._record_outcome(self.approval_record(unknown))
        self.assert_paid_once(order, unknown)

    # ------------------------------------------------------------------
    # What a till may ask (the attacks a reviewer would try)
    # ------------------------------------------------------------------
    def assert_cannot_see_nor_settle(self, user):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        for name, args in (
            ("caisse_ap_kiosk_unsettled", ()),
            ("caisse_ap_kiosk_settle", (unknown.id, True)),
        ):
            with self.assertRaises(AccessError):
                self.till(name, order, *args, user=user)
        self.assertFalse(unknown.kiosk_settlement)
        self.assertFalse(order.payment_ids)

    def test_only_pos_users_settle(self):
        self.assert_cannot_see_nor_settle(
            new_test_user(self.env, login="kiosk_outsider", groups="base.group_user")
        )

    def test_a_till_of_another_company_cannot_settle(self):
        elsewhere = self.env["res.company"].create({"name": "Autre boutique"})
        self.assert_cannot_see_nor_settle(
            new_test_user(
                self.env,
                login="other_shop_cashier",
                groups="base.group_user,point_of_sale.group_pos_user",
                company_id=elsewhere.id,
                company_ids=[elsewhere.id],
            )
        )

    def test_a_settlement_names_a_waiting_payment_of_this_order(self):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        other = self.kiosk_order()
        theirs = self.kiosk_unknown(other)
        approved = journal_entry(
            self.env, self.method, self.kiosk_session, kiosk_order_id=order.id
        )
        for transaction_id, paid in (
            (theirs.id, True),  # another order's payment
            (approved.id, True),  # an approval: nothing to settle
            (str(unknown.id), True),
            (True, True),
            (unknown.id, "yes"),
            (unknown.id, 1),
        ):
            with self.assertRaises(UserError):
                self.till("caisse_ap_kiosk_settle", order, transaction_id, paid)
        self.assertFalse(any((unknown | theirs).mapped("kiosk_settlement")))
        self.assertFalse((order | other).payment_ids)

    def test_settled_once(self):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        self.till("caisse_ap_kiosk_settle", order, unknown.id, False)
        with self.assertRaisesRegex(UserError, "does not wait to be settled"):
            self.till("caisse_ap_kiosk_settle", order, unknown.id, True)
        self.assertEqual(unknown.kiosk_settlement, "not_paid")
        self.assertFalse(order.payment_ids)

    def test_an_order_paid_meanwhile_is_not_paid_twice(self):
        order = self.kiosk_order()
        unknown = self.kiosk_unknown(order)
        order.add_payment(
            {
                "amount": 12.34,
                "payment_method_id": self.method.id,
                "pos_order_id": order.id,
            }
        )
        order.action_pos_order_paid()
        with self.assertRaisesRegex(UserError, "no longer waiting"):
            self.till("caisse_ap_kiosk_settle", order, unknown.id, True)
        self.assertEqual(len(order.payment_ids), 1)
        self.assertFalse(unknown.kiosk_settlement)
