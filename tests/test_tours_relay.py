"""The POS in Chromium pays through a real shop relay process and the simulator."""

from odoo.tests import tagged

from ..caisse_ap.simulator import Scenario
from .relay_support import RelayProcessMixin, new_relay
from .test_tours_caisse_ap import CaisseApTourCase


@tagged("post_install", "-at_install")
class TestCaisseApRelayTour(RelayProcessMixin, CaisseApTourCase):
    def test_tour_relay(self):
        relay, token = new_relay(
            self.env, "Tour relay", company_id=self.main_pos_config.company_id.id
        )
        self.card.write(
            {"fr_caisse_ap_ip_connection": "relay", "fr_caisse_ap_relay_id": relay.id}
        )
        self.terminal.queue(
            Scenario(kind="decline", af_code="04"),
            Scenario(kind="approve"),
            Scenario(kind="approve"),
        )
        self.start_relay(token, relay)
        self._run_tour("CaisseApRelayTour")
        # The relay shares this test's connection: stop it before reading.
        self.stop_relay()
        self.env.invalidate_all()

        requests = self._requests(self.terminal, 3)
        self.assertEqual(len(requests), 3, "one request per attempt, none sent twice")
        orders = self._orders()
        self.assertEqual(len(orders), 2)
        self.assertEqual(set(orders.mapped("state")), {"paid"})
        for order, amount in zip(orders, (1.98, 3.96), strict=True):
            self.assertPaidByTerminal(order.payment_ids, amount)
        journal = self._journal(session=self.main_pos_config.current_session_id)
        self.assertEqual(journal.mapped("relay_id"), relay)
        self.assertEqual(
            sorted(journal.mapped("state")), ["failure", "success", "success"]
        )
        self.assertTrue(all(journal.mapped("relay_result_at")))
