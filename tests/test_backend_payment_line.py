"""What a Caisse-AP payment line keeps of the terminal's answer (pos.payment fields)."""

from odoo.tests import tagged

from .test_backend_attention import CaisseApJournalCase

CARD_FIELDS = (
    "card_type",
    "card_brand",
    "card_no",
    "payment_method_authcode",
    "payment_method_payment_mode",
    "transaction_id",
    "payment_ref_no",
    "ticket",
)


@tagged("post_install", "-at_install")
class TestPaymentLineData(CaisseApJournalCase):
    def line_values(self, payment):
        return {name: payment[name] for name in CARD_FIELDS}

    def test_card_payment_from_the_journal(self):
        transaction = self.transaction(
            "success", receipt_text="TICKET CLIENT\nCB ****1234"
        )
        # Whatever the POS sent, the server's record decides.
        payment = self.payment(
            transaction,
            card_type="forged",
            payment_method_authcode="000000",
            transaction_id="4970101234561234 2812",
        )
        self.assertEqual(payment.caisse_ap_transaction_id, transaction)
        self.assertEqual(
            self.line_values(payment),
            {
                "card_type": "CB (contactless)",
                "card_brand": "CB",
                "card_no": "1234",
                "payment_method_authcode": "123456",
                "payment_method_payment_mode": "Contactless",
                "transaction_id": transaction.correlation_id,
                "payment_ref_no": False,
                "ticket": "TICKET CLIENT\nCB ****1234",
            },
        )

    def test_check_and_ancv_keep_their_mode(self):
        for mode, label in (("check", "Check"), ("ancv", "ANCV")):
            with self.subTest(mode=mode):
                transaction = self.transaction(
                    "success",
                    mode=mode,
                    card_last4=False,
                    application_code="00C" if mode == "check" else "00V",
                    application_label="Check" if mode == "check" else "ANCV",
                    read_mode_code=False,
                    read_mode_label=False,
                )
                payment = self.payment(transaction)
                self.assertEqual(payment.payment_method_payment_mode, label)
                self.assertFalse(payment.card_no)
                self.assertFalse(payment.card_brand)

    def test_never_more_than_the_last_4_digits(self):
        forced = self.transaction("unknown")
        payment = self.payment(forced, amount=10.0, card_no="4970 1012 3456 1234")
        self.assertEqual(payment.card_no, "1234")
        payment.card_no = "497010######9876"
        self.assertEqual(payment.card_no, "9876")
        # A forced payment has no approval: nothing is copied from the journal.
        self.assertFalse(payment.payment_method_authcode)
        # Other methods' lines are left as they are.
        other = self.payment(amount=5.0, method=self.cash, card_no="AB-12345678")
        self.assertEqual(other.card_no, "AB-12345678")
