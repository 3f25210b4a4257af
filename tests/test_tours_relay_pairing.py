"""A manager asks for a shop relay's pairing code, in Chromium; the relay's
machine pairs with the code the dialog showed."""

import json
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from ..caisse_ap import relay_pairing
from .tour_support import BrowserTourMixin

CODES = ["KQ7M-4DXP", "W8RT-2NHC"]


@tagged("post_install", "-at_install")
class TestRelayPairingTour(BrowserTourMixin, HttpCase):
    def pair(self, code):
        response = self.url_open(
            relay_pairing.PATH_PAIR,
            data=json.dumps({"code": code}),
            headers={"Content-Type": "application/json"},
        )
        return response.status_code, response.json()

    def test_tour_relay_pairing_dialog(self):
        relay = self.env["pos.caisse.ap.relay"].create({"name": "Shop relay"})
        url = (
            "/odoo/action-l10n_fr_pos_caisse_ap_ip.action_pos_caisse_ap_relay/"
            f"{relay.id}"
        )
        with patch.object(
            relay_pairing, "new_code", side_effect=list(CODES)
        ) as new_code:
            self.start_tour(url, "CaisseApRelayPairingTour", login="admin")
        self.assertEqual(new_code.call_count, 2)
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
            status, _answer = self.pair(CODES[0])
        self.assertEqual(status, 403, "the first code was replaced")
        status, answer = self.pair(CODES[1])
        self.assertEqual((status, answer["relay"]), (200, "Shop relay"))
        relay.invalidate_recordset()
        self.assertTrue(answer["token"].startswith(relay.token_prefix))
