"""The journal's "needs attention" items, their review, and the terminal/POS totals
per session, on journal entries written as the worker would have left them."""

import uuid

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from ..caisse_ap.simulator import Scenario
from .common import CaisseApCommon, journal_entry


@tagged("post_install", "-at_install")
class CaisseApJournalCase(CaisseApCommon):
    """Helpers writing journal entries, orders and payments directly."""

    @classmethod
    def _create_extra_methods(cls):
        cls.cash = cls.env["pos.payment.method"].create(
            {"name": "Bank (no terminal)", "journal_id": cls.bank_journal.id}
        )
        cls.other_method = cls._create_method("TPE autre")
        return cls.cash | cls.other_method

    def transaction(self, state="success", amount=10.0, ago=10, **values):
        """A finished journal entry of ``self.session``, ended ``ago`` minutes ago."""
        return journal_entry(
            self.env, self.method, self.session, state, amount, ago, **values
        )

    def order(self, amount, state="paid", order_uuid=None, session=None):
        return self.env["pos.order"].create(
            {
                "session_id": (session or self.session).id,
                "uuid": order_uuid or str(uuid.uuid4()),
                "amount_total": amount,
                "amount_tax": 0,
                "amount_paid": amount,
                "amount_return": 0,
                "state": state,
            }
        )

    def payment(self, transaction=None, amount=None, method=None, order=None, **vals):
        """A POS payment line for ``transaction`` (same uuid, order and amount)."""
        if amount is None:
            amount = transaction.amount_authorised or transaction.amount
            if transaction.direction == "credit":
                amount = -amount
        if order is None:
            order = self.order(
                amount, order_uuid=transaction.order_uuid if transaction else None
            )
        return self.env["pos.payment"].create(
            {
                "pos_order_id": order.id,
                "payment_method_id": (method or self.method).id,
                "amount": amount,
                "uuid": transaction.payment_uuid if transaction else str(uuid.uuid4()),
                **vals,
            }
        )

    def reasons(self, transaction):
        transaction.invalidate_recordset()
        kinds = self.env["pos.caisse.ap.transaction"]._caisse_ap_attention_kinds()
        return kinds.get(transaction.id, [])

    def flagged(self, user=None):
        transactions = self.env["pos.caisse.ap.transaction"]
        if user:
            transactions = transactions.with_user(user)
        return transactions.search([("needs_attention", "=", True)])


@tagged("post_install", "-at_install")
class TestAttentionKinds(CaisseApJournalCase):
    def test_approval_without_sale(self):
        lost = self.transaction("success")
        sold = self.transaction("success")
        self.payment(sold)
        just_now = self.transaction("success", ago=0)

        self.assertEqual(self.reasons(lost), ["approved_unlinked"])
        self.assertEqual(self.reasons(sold), [], "a linked approval is fine")
        self.assertEqual(
            self.reasons(just_now), [], "the order of a fresh approval may still come"
        )
        self.assertEqual(self.flagged(), lost)
        self.assertTrue(lost.needs_attention)
        self.assertEqual(lost.attention_reasons, "Approved, but no sale recorded")

        # Once the session is no longer open, no order is still on its way.
        self.session.state = "closing_control"
        self.assertEqual(self.reasons(just_now), ["approved_unlinked"])

    def test_refund_without_sale(self):
        credit = self.transaction("success", direction="credit")
        self.assertEqual(self.reasons(credit), ["approved_unlinked"])

    def test_forced_done_without_approval(self):
        forced = self.transaction("unknown")
        self.payment(forced, amount=10.0)
        self.assertEqual(self.reasons(forced), ["forced_without_approval"])
        # A line of another method with the same uuid is not this forced payment.
        other = self.transaction("unknown")
        self.payment(other, amount=10.0, method=self.cash)
        self.assertEqual(self.reasons(other), ["unknown_unresolved"])

    def test_unknown_never_resolved(self):
        unknown = self.transaction("unknown")
        self.assertEqual(self.reasons(unknown), ["unknown_unresolved"])
        # The cashier chose Retry: the later attempt decides.
        retried = self.transaction("unknown")
        declined = self.transaction(
            "failure", payment_uuid=retried.payment_uuid, attempt=2
        )
        self.assertEqual(self.reasons(retried), [])
        self.assertEqual(self.reasons(declined), [])
        # Nobody has looked yet at an outcome that became unknown a moment ago.
        fresh = self.transaction("unknown", ago=0)
        self.assertEqual(self.reasons(fresh), [])
        self.assertEqual(self.flagged(), unknown)

    def test_late_answer_after_cancel(self):
        late = self.transaction("success", cancel_requested=True)
        self.payment(late)
        self.assertEqual(self.reasons(late), ["late_answer_after_cancel"])
        cancelled = self.transaction("failure", cancel_requested=True)
        self.assertEqual(self.reasons(cancelled), [])

    def test_link_mismatch(self):
        mismatch = self.transaction("success", link_mismatch=True)
        self.payment(mismatch)
        self.assertEqual(self.reasons(mismatch), ["link_mismatch"])

    def test_several_kinds_and_plain_entries(self):
        both = self.transaction("success", cancel_requested=True)
        self.assertEqual(
            self.reasons(both), ["approved_unlinked", "late_answer_after_cancel"]
        )
        declined = self.transaction("failure")
        not_sent = self.transaction("error")
        self.assertEqual(self.reasons(declined), [])
        self.assertEqual(self.reasons(not_sent), [])
        self.assertEqual(self.flagged(), both)
        self.assertEqual(
            self.env["pos.caisse.ap.transaction"].search(
                [("needs_attention", "=", False), ("id", "in", (both | declined).ids)]
            ),
            declined,
        )

    def test_pos_users_read_the_items(self):
        lost = self.transaction("success")
        self.assertEqual(self.flagged(user=self.pos_user), lost)
        self.assertTrue(lost.with_user(self.pos_user).needs_attention)
        action = self.env.ref(
            "l10n_fr_pos_caisse_ap_ip.action_pos_caisse_ap_transaction_attention"
        )
        menu = self.env.ref(
            "l10n_fr_pos_caisse_ap_ip.menu_pos_caisse_ap_transaction_attention"
        )
        self.assertEqual(menu.action, action)
        self.assertIn(
            menu.id,
            self.env["ir.ui.menu"].with_user(self.pos_user)._visible_menu_ids(),
        )
        self.assertIn("search_default_needs_attention", action.context)


@tagged("post_install", "-at_install")
class TestAttentionReview(CaisseApJournalCase):
    def test_manager_reviews_with_a_note(self):
        lost = self.transaction("success")
        with self.assertRaises(AccessError):
            lost.with_user(self.pos_user)._caisse_ap_mark_reviewed("checked")
        with self.assertRaises(AccessError):
            self.env["pos.caisse.ap.review"].with_user(self.pos_user).create(
                {"transaction_ids": lost.ids, "note": "checked"}
            )
        action = lost.with_user(self.pos_manager).action_caisse_ap_review()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.pos_manager)
            .with_context(**action["context"])
        )
        wizard.note = "Customer refunded on the terminal, receipt 0042."
        wizard.save().action_confirm()

        lost.invalidate_recordset()
        self.assertFalse(lost.needs_attention)
        self.assertEqual(lost.attention_reasons, "Approved, but no sale recorded")
        self.assertEqual(lost.reviewed_by_id, self.pos_manager)
        self.assertTrue(lost.reviewed_at)
        self.assertEqual(
            lost.review_note, "Customer refunded on the terminal, receipt 0042."
        )
        self.assertNotIn(lost, self.flagged())

    def test_a_review_is_kept(self):
        lost = self.transaction("success")
        manager = lost.with_user(self.pos_manager)
        with self.assertRaisesRegex(UserError, "note"):
            manager._caisse_ap_mark_reviewed("   ")
        manager._caisse_ap_mark_reviewed("first look")
        with self.assertRaisesRegex(UserError, "already reviewed"):
            manager._caisse_ap_mark_reviewed("second look")
        self.assertEqual(lost.review_note, "first look")
        with self.assertRaises(AccessError):
            lost.with_user(self.pos_manager).write({"review_note": "rewritten"})
        fine = self.transaction("failure")
        with self.assertRaisesRegex(UserError, "does not need attention"):
            fine.with_user(self.pos_manager)._caisse_ap_mark_reviewed("nothing")


@tagged("post_install", "-at_install")
class TestSessionTotals(CaisseApJournalCase):
    def test_terminal_against_pos(self):
        self.payment(self.transaction("success", amount=10.0))
        self.payment(self.transaction("success", amount=4.0, direction="credit"))
        self.payment(
            self.transaction(
                "success", amount=20.0, amount_authorised=15.0, partial=True
            )
        )
        self.transaction("success", amount=7.0)  # charged, no sale
        self.payment(self.transaction("unknown", amount=5.0), amount=5.0)  # forced
        self.transaction("failure", amount=99.0)
        self.transaction("unknown", amount=98.0)
        draft = self.order(3.0, state="draft")
        self.payment(self.transaction("success", amount=3.0), order=draft)
        self.payment(amount=50.0, method=self.cash)

        self.env.flush_all()
        self.session.invalidate_recordset()
        [total] = self.session.caisse_ap_total_ids
        self.assertEqual(total.payment_method_id, self.method)
        # 10 - 4 + 15 (partial) + 7 (no sale) + 3 (draft order)
        self.assertAlmostEqual(total.terminal_amount, 31.0)
        # 10 - 4 + 15 + 5 (forced); not the draft order, not the cash
        self.assertAlmostEqual(total.pos_amount, 26.0)
        self.assertAlmostEqual(total.difference, 5.0)
        self.assertEqual(total.transaction_count, 5)
        self.assertEqual(total.payment_count, 4)
        self.assertEqual(total.currency_id, self.config.currency_id)
        self.assertEqual(
            total.with_user(self.pos_user).read(["difference"])[0]["difference"], 5.0
        )

    def test_agreeing_session(self):
        self.payment(self.transaction("success", amount=12.5))
        self.env.flush_all()
        [total] = self.session.caisse_ap_total_ids
        self.assertEqual(
            (total.terminal_amount, total.pos_amount, total.difference),
            (12.5, 12.5, 0.0),
        )

    def test_closing_screen_data_and_chatter(self):
        lost = self.transaction("success", amount=7.0)
        self.payment(self.transaction("success", amount=10.0))
        session = self.session.with_user(self.pos_user)

        data = session.get_closing_control_data()["caisse_ap"]
        by_method = {row["id"]: row for row in data["methods"]}
        self.assertEqual(
            by_method[self.method.id],
            {
                "id": self.method.id,
                "name": self.method.name,
                "terminal_amount": 17.0,
                "pos_amount": 10.0,
                "difference": 7.0,
            },
        )
        self.assertEqual(by_method[self.other_method.id]["difference"], 0.0)
        [item] = data["items"]
        self.assertEqual(item["id"], lost.id)
        self.assertEqual(item["kinds"], ["approved_unlinked"])
        self.assertEqual(item["amount"], 7.0)
        self.assertEqual(session.caisse_ap_attention_count, 1)

        messages_before = self.session.message_ids
        self.assertTrue(session.caisse_ap_closing_items_shown([lost.id]))
        message = self.session.message_ids - messages_before
        self.assertEqual(len(message), 1)
        self.assertIn("needing attention", message.body)
        self.assertIn(f"/{lost.id}", message.body)
        self.assertEqual(message.author_id, self.pos_user.partner_id)
        # Entries of another session, or that need nothing, are not recorded.
        fine = self.transaction("failure")
        self.assertFalse(session.caisse_ap_closing_items_shown([fine.id]))
        with self.assertRaises(UserError):
            session.caisse_ap_closing_items_shown("1")


@tagged("post_install", "-at_install")
class TestPossiblyTwice(CaisseApCommon):
    """An attempt whose outcome is unknown, then an approved retry: the customer
    may have paid (or been credited) twice. The journal flags it."""

    def _unknown_then_approved(self, amount, **kwargs):
        payment_uuid = str(uuid.uuid4())
        self.simulator.set_scenario(Scenario(kind="close", delay=0))
        _started, first, status = self.pay(amount, payment_uuid=payment_uuid, **kwargs)
        self.assertEqual(status["state"], "unknown")
        self.simulator.set_scenario(Scenario(kind="approve", delay=0))
        _started, second, status = self.pay(
            amount, payment_uuid=payment_uuid, retry=True, **kwargs
        )
        self.assertEqual(status["state"], "success")
        return first, second

    def assertFlaggedTwice(self, first, second):
        transactions = self.env["pos.caisse.ap.transaction"]
        kinds = transactions._caisse_ap_attention_kinds()
        self.assertIn("possibly_twice", kinds.get(second.id, []))
        self.assertNotIn("possibly_twice", kinds.get(first.id, []))
        self.assertIn(second, transactions.search([("needs_attention", "=", True)]))
        self.assertIn("twice", second.attention_reasons)
        items = self.session._caisse_ap_closing_data()["items"]
        self.assertIn(second.id, [item["id"] for item in items])

    def test_debit_possibly_charged_twice(self):
        first, second = self._unknown_then_approved(20.0)
        self.assertFlaggedTwice(first, second)

    def test_credit_possibly_credited_twice(self):
        order = self.env["pos.order"].create(
            {
                "session_id": self.session.id,
                "amount_tax": 0.0,
                "amount_total": 100.0,
                "amount_paid": 100.0,
                "amount_return": 0.0,
            }
        )
        _started, paid, status = self.pay(100.0, order_uuid=order.uuid)
        self.assertEqual(status["state"], "success")
        first, second = self._unknown_then_approved(-30.0, refunded_orders=order)
        self.assertEqual(second.direction, "credit")
        self.assertFlaggedTwice(first, second)
