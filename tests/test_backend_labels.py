"""The terminal's codes reach the cashier as Odoo translations (issue 12 item 4).

The engine returns codes (AF, CC, CI); a Spanish cashier must not read
"Pago rechazado por el terminal: Refused (código 04)".
"""

from odoo.tests import tagged

from ..caisse_ap import labels as engine_labels
from ..caisse_ap.simulator import Scenario
from ..runtime import cashier_labels
from .common import CaisseApCommon

ADDON = "l10n_fr_pos_caisse_ap_ip"


@tagged("post_install", "-at_install")
class TestBackendLabels(CaisseApCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_ES")
        cls.env["ir.module.module"]._load_module_terms(
            [ADDON], ["es_ES"], overwrite=True
        )

    def test_refusal_reason_in_the_cashiers_language(self):
        self.simulator.set_scenario(Scenario(kind="decline", delay=0, af_code="05"))
        _started, _transaction, status = self.pay(context={"lang": "es_ES"})
        self.assertEqual(status["state"], "failure")
        self.assertIn("Prohibido", status["message"])
        self.assertNotIn("Forbidden", status["message"])

    def test_card_application_and_read_mode_in_the_cashiers_language(self):
        self.simulator.set_scenario(
            Scenario(kind="approve", delay=0, application="00B", read_mode="2")
        )
        _started, _transaction, status = self.pay(context={"lang": "es_ES"})
        self.assertEqual(status["state"], "success")
        self.assertEqual(status["application_label"], "CB (sin contacto)")
        self.assertEqual(status["read_mode_label"], "Sin contacto")

    def test_unknown_codes_are_named_in_the_cashiers_language(self):
        self.simulator.set_scenario(Scenario(kind="decline", delay=0, af_code="42"))
        _started, _transaction, status = self.pay(context={"lang": "es_ES"})
        self.assertIn("Motivo desconocido (42)", status["message"])

    def test_the_engine_and_the_cashier_name_the_same_codes(self):
        """Two tables (English for logs, translated for cashiers): a code
        added to one only would reach the cashier as "unknown"."""
        for table in ("FAILURE_LABELS", "APPLICATION_LABELS", "READ_MODE_LABELS"):
            with self.subTest(table):
                self.assertEqual(
                    set(getattr(engine_labels, table)),
                    set(getattr(cashier_labels, table)),
                )
