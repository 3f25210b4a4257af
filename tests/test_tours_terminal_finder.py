"""A manager finds the simulated terminals from a payment method, in Chromium."""

from odoo.tests import HttpCase, tagged

from ..caisse_ap.simulator import Scenario, TerminalSimulator
from .common import allow_local_terminals, caisse_ap_method_values, free_port
from .tour_support import BrowserTourMixin


@tagged("post_install", "-at_install")
class TestTerminalFinderTour(BrowserTourMixin, HttpCase):
    def test_tour_find_terminals_fills_the_method(self):
        allow_local_terminals(self.env)
        port = free_port()
        terminals = [
            TerminalSimulator(host, port, Scenario(delay=0))
            for host in ("127.0.0.1", "127.0.0.3")
        ]
        for terminal in terminals:
            terminal.start()
            self.addCleanup(terminal.stop)
        journal = self.env["account.journal"].create(
            {"name": "Finder Bank", "type": "bank", "code": "CAPF"}
        )
        method = self.env["pos.payment.method"].create(
            caisse_ap_method_values(journal, "TPE Finder", fr_caisse_ap_ip_port=port)
        )
        url = f"/odoo/action-point_of_sale.action_pos_payment_method_form/{method.id}"
        self.start_tour(url, "CaisseApTerminalFinderTour", login="admin")
        method.invalidate_recordset()
        self.assertEqual(method.fr_caisse_ap_ip_address, "127.0.0.3")
        self.assertEqual(method.fr_caisse_ap_ip_port, port)
        # Looking for terminals sends them nothing.
        self.assertEqual(terminals[0].exchanges + terminals[1].exchanges, [])
