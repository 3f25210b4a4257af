"""A manager creates and replaces a shop relay's token, in Chromium."""

from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tools import sql

from ..models import pos_caisse_ap_relay
from ..models.pos_caisse_ap_relay import hash_token
from .tour_support import BrowserTourMixin

TOKENS = ["first-tour-token", "second-tour-token"]


@tagged("post_install", "-at_install")
class TestRelayTokenTour(BrowserTourMixin, HttpCase):
    def test_tour_relay_token_dialog(self):
        relay = self.env["pos.caisse.ap.relay"].create({"name": "Shop relay"})
        url = (
            "/odoo/action-l10n_fr_pos_caisse_ap_ip.action_pos_caisse_ap_relay/"
            f"{relay.id}"
        )
        with patch.object(
            pos_caisse_ap_relay.secrets, "token_urlsafe", side_effect=list(TOKENS)
        ) as new_token:
            self.start_tour(url, "CaisseApRelayTokenTour", login="admin")
        self.assertEqual(new_token.call_count, 2, "created, then replaced")
        relay.invalidate_recordset()
        self.assertEqual(relay.token_hash, hash_token(TOKENS[1]))
        self.assertTrue(relay.token_prefix and TOKENS[1].startswith(relay.token_prefix))
        # The clear token was shown, never stored: the dialog has no table.
        self.assertFalse(
            sql.table_exists(self.env.cr, self.env["pos.caisse.ap.relay.token"]._table)
        )
