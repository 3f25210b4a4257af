from odoo import Command
from odoo.tests import common as odoo_test_common
from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon

from ..models.pos_payment_method import TERMINAL_KEY
from .common import allow_local_terminals
from .tour_support import BrowserTourMixin


@tagged("post_install", "-at_install")
class TestFoundation(BrowserTourMixin, TestPointOfSaleHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        allow_local_terminals(cls.env)
        cls.caisse_ap_method = cls.env["pos.payment.method"].create(
            {
                "name": "Card (Caisse-AP)",
                "journal_id": cls.bank_journal.id,
                "use_payment_terminal": TERMINAL_KEY,
                "fr_caisse_ap_ip_address": "127.0.0.1",
            }
        )
        cls.main_pos_config.write(
            {"payment_method_ids": [Command.link(cls.caisse_ap_method.id)]}
        )

    def test_terminal_is_offered(self):
        selection = dict(
            self.env["pos.payment.method"]._get_payment_terminal_selection()
        )
        self.assertEqual(selection[TERMINAL_KEY], "Caisse AP over IP (France only)")

    def test_tours_wait_for_a_slow_chromium_start(self):
        # A tour that Odoo skips after 10 s of a cold Chromium start proves nothing.
        patience = (
            odoo_test_common.CHECK_BROWSER_ITERATIONS
            * odoo_test_common.CHECK_BROWSER_SLEEP
        )
        self.assertGreaterEqual(patience, 60)

    def test_tour_payment_method_in_pos(self):
        self.main_pos_config.with_user(self.pos_user).open_ui()
        self.start_pos_tour("CaisseApFoundationTour", login="pos_user")
