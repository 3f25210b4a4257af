"""Approvals from every simulated terminal profile end "success" in Odoo.

The default profile models a real Ingenico Desk/5000: it answers approvals
with its own CF, echoes every request tag and keeps the connection open. An
engine that compared CF with the request recorded these approvals as
"unknown".
"""

from odoo.tests import tagged

from ..caisse_ap.simulator import PROFILES, Scenario
from .common import CaisseApCommon, started_simulator

# (payment mode, signed amount, a card payment?)
PAYMENTS = [
    ("card", 12.50, True),  # card debit
    ("card", -3.20, True),  # card refund
    ("check", 42.00, False),
    ("ancv", 20.00, False),
]


@tagged("post_install", "-at_install")
class TestBackendProfiles(CaisseApCommon):
    def use_profile(self, name):
        simulator = started_simulator(self.addCleanup, profile=name)
        self.simulator = simulator
        self.method.fr_caisse_ap_ip_port = simulator.port
        # The refunds here test how terminals answer a credit, not the rule that
        # a refund references its order (tests/test_backend_refund.py does).
        self.method._write({"fr_caisse_ap_ip_allow_unreferenced_refund": True})
        return PROFILES[name]

    def test_approvals_on_every_profile(self):
        for name in sorted(PROFILES):
            profile = self.use_profile(name)
            for mode, amount, card in PAYMENTS:
                with self.subTest(profile=name, mode=mode, amount=amount):
                    # _write: past the open-session guard, not what this test is about.
                    self.method._write({"fr_caisse_ap_ip_mode": mode})
                    _started, transaction, status = self.pay(amount)
                    self.assertEqual(
                        status["state"], "success", transaction.error_message
                    )
                    self.assertEqual(status["amount_authorised"], amount)
                    tags = (
                        profile.card_tags if card else profile.forced_application_tags
                    )
                    self.assertEqual(
                        status["auth_code"], "123456" if "AC" in tags else ""
                    )
                    self.assertEqual(
                        status["card_last4"], "1234" if "AA" in tags else ""
                    )
                    request = self.simulator.exchanges[-1]["request_fields"]
                    self.assertNotIn("CF", request, "CF is not sent")
                    if profile.private_data:
                        # The terminal's CF stays in the journal, as it sent it.
                        self.assertIn(
                            f"CF010{profile.private_data}", transaction.answer_frame
                        )

    def test_default_profile_card_debit(self):
        """The simulator every other test uses is the Ingenico one."""
        self.assertEqual(self.simulator.profile.name, "ingenico")
        _started, transaction, status = self.pay(12.50)
        self.assertEqual(status["state"], "success")
        self.assertEqual(
            (status["auth_code"], status["card_last4"]), ("123456", "1234")
        )
        self.assertIn("CF0101010000000", transaction.answer_frame)
        self.assertNotIn("497010", transaction.answer_frame)

    def test_control_characters_from_the_terminal_do_not_lose_the_approval(self):
        """PostgreSQL refuses NUL in text: escaped, the approval is recorded."""
        self.simulator.set_scenario(
            Scenario(kind="approve", delay=0, auth_code="12\x0034", trailing="nul")
        )
        _started, transaction, status = self.pay(12.50)
        self.assertEqual(status["state"], "success", transaction.error_message)
        self.assertEqual(status["auth_code"], "12\\x0034")
        self.assertNotIn("\x00", transaction.answer_frame)
        self.assertIn("AC00512\\x0034", transaction.answer_frame)
