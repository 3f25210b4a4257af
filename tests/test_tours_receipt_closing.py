"""The customer's ticket block and the closing screen, in Chromium."""

from odoo.tests import tagged

from ..caisse_ap.simulator import Scenario
from .common import journal_entry
from .test_tours_caisse_ap import RECEIPT, CaisseApTourCase


@tagged("post_install", "-at_install")
class TestCaisseApReceiptClosingTours(CaisseApTourCase):
    def test_tour_receipt_block(self):
        """Card, partial card, check, ANCV: the short block; receipt option: the
        terminal's own ticket instead."""
        (self.card | self.check | self.ancv).fr_caisse_ap_ip_receipt = False
        self.terminal.queue(
            Scenario(kind="approve", application="00B", read_mode="2"),
            Scenario(kind="partial", partial_amount=100),
            Scenario(kind="approve", application="00C", read_mode="0"),
            Scenario(kind="approve", application="00V", read_mode="0"),
        )
        self.terminal_b.queue(Scenario(kind="approve", receipt=RECEIPT))
        self._run_tour("CaisseApReceiptBlockTour")

        card, partial, check, ancv, with_receipt = self._orders()
        payment = card.payment_ids
        self.assertEqual(payment.card_type, "CB (contactless)")
        self.assertEqual(payment.card_brand, "CB")
        self.assertEqual(payment.card_no, "1234")
        self.assertEqual(payment.payment_method_payment_mode, "Contactless")
        self.assertFalse(payment.ticket)
        terminal_line = partial.payment_ids.filtered(
            lambda p: p.payment_method_id == self.card
        )
        self.assertAlmostEqual(terminal_line.amount, 1.0)
        self.assertEqual(check.payment_ids.payment_method_payment_mode, "Check")
        self.assertEqual(ancv.payment_ids.payment_method_payment_mode, "ANCV")
        self.assertIn(RECEIPT, with_receipt.payment_ids.ticket)

    def test_tour_closing_screen(self):
        """One item of each kind, the totals, the chatter, then the session closes."""
        self.main_pos_config.with_user(self.pos_user).open_ui()
        session = self.main_pos_config.current_session_id
        make = journal_entry
        lost = make(self.env, self.card, session, "success", 7.0)
        unknown = make(self.env, self.card, session, "unknown", 8.0)
        late = make(self.env, self.card, session, "success", 9.0, cancel_requested=True)
        mismatch = make(
            self.env, self.card, session, "success", 6.0, link_mismatch=True
        )
        # The tour makes the fifth: a payment forced done after an unknown outcome.
        self.terminal.queue(Scenario(kind="garbage"))
        self._run_tour("CaisseApClosingTour")

        self.assertEqual(session.state, "closed", "Odoo's closing rules are unchanged")
        forced = (
            self._journal(session=session).filtered(lambda t: t.state == "unknown")
            - unknown
        )
        self.assertEqual(len(forced), 1)
        shown = session.message_ids.filtered(
            lambda m: "needing attention" in (m.body or "")
        )
        self.assertEqual(len(shown), 1, "the chatter records the items once")
        for transaction in (lost, unknown, late, mismatch, forced):
            self.assertIn(f"/{transaction.id}", shown.body)
        self.assertEqual(shown.author_id, self.pos_user.partner_id)
