"""The terminal's codes reach the cashier as Odoo translations, from one table
(runtime/cashier_labels.py).

The engine returns codes (AF, CC, CI); a Spanish cashier must not read
"Pago rechazado por el terminal: Refused (código 04)".
"""

import socket

from odoo.tests import tagged

from ..caisse_ap import client
from ..caisse_ap import labels as engine_labels
from ..caisse_ap.simulator import Scenario
from ..runtime import cashier_labels
from .common import CaisseApCommon, free_port, journal_entry

ADDON = "l10n_fr_pos_caisse_ap_ip"


@tagged("post_install", "-at_install")
class TestBackendLabels(CaisseApCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in ("es_ES", "fr_FR"):
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"]._load_module_terms(
            [ADDON], ["es_ES", "fr_FR"], overwrite=True
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

    def test_a_french_cashier_reads_the_table_in_french(self):
        """The words of the one table keep their translations: the message of
        the transaction dict (what the till shows) and a reason the journal
        gives a manager."""
        self.simulator.set_scenario(Scenario(kind="decline", delay=0, af_code="05"))
        _started, _transaction, status = self.pay(context={"lang": "fr_FR"})
        self.assertEqual(
            status["message"], "Paiement refusé par le terminal : Interdite (code 05)."
        )
        lost = journal_entry(self.env, self.method, self.session, "success")
        self.assertEqual(
            lost.with_context(lang="fr_FR").attention_reasons,
            "Acceptée, mais aucune vente enregistrée",
        )

    def test_the_engine_names_the_codes_in_the_tables_english(self):
        """The engine (standard library only) keeps its own English copy of the
        terminal's codes for its logs: the same codes and the same text as the
        cashier's table, fallbacks included, or a log and the till disagree."""
        english = self.env(context={"lang": "en_US"})
        for kind in ("failure", "application", "read_mode"):
            table = f"{kind.upper()}_LABELS"
            codes = getattr(cashier_labels, table)
            self.assertEqual(set(getattr(engine_labels, table)), set(codes), table)
            cashier_label = getattr(cashier_labels, f"{kind}_label")
            engine_label = getattr(engine_labels, f"{kind}_label")
            for code in [*codes, "", "9Z"]:
                with self.subTest(table=table, code=code):
                    self.assertEqual(cashier_label(english, code), engine_label(code))

    def test_why_nothing_was_sent_in_the_cashiers_language(self):
        self.method.fr_caisse_ap_ip_port = free_port()
        _started, transaction, status = self.pay(context={"lang": "es_ES"})
        self.assertEqual(status["state"], "error")
        self.assertIn("refused", transaction.error_message, "the engine's words kept")
        self.assertIn("ningún terminal responde en 127.0.0.1:", status["message"])
        self.assertNotIn("refused", status["message"])

    def test_every_reason_the_engine_gives_is_worded_for_the_cashier(self):
        """The engine words its reasons in English (caisse_ap/client.py): one it
        changes or adds must not reach the cashier untranslated."""
        reasons = [
            client._connect_failure("tpe.local", 8888, error, 2.0)
            for error in (
                socket.gaierror(-2, "Name or service not known"),
                TimeoutError(),
                ConnectionRefusedError(111, "Connection refused"),
                OSError(113, "No route to host"),
            )
        ]
        reasons += [client._bad_address(" ", 8888), client._bad_address("tpe", 0)]
        relay = self.env["pos.caisse.ap.relay"].create({"name": "Boutique"})
        unsent = self.make_transaction(state="pending", relay_id=relay.id)
        unsent._caisse_ap_relay_not_taken()
        reasons.append(unsent.error_message)
        left = self.make_transaction(state="pending")
        left._mark_lost()
        reasons.append(left.error_message)
        for reason in reasons:
            with self.subTest(reason):
                worded = cashier_labels.not_sent_reason(self.env, reason)
                self.assertTrue(worded)
                self.assertNotEqual(worded, reason)
        # What no rule knows is shown as the engine wrote it, not dropped.
        self.assertEqual(
            cashier_labels.not_sent_reason(self.env, "something new"), "something new"
        )
