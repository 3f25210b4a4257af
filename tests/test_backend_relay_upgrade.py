"""The upgrade to 18.0.3.1.0 moves what each relay said at its last poll."""

import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools import sql

from ..caisse_ap.relay_wire import PROTOCOL

MIGRATION = (
    Path(__file__).parents[1] / "migrations" / "18.0.3.1.0" / "post-migration.py"
)


def load_migration():
    spec = importlib.util.spec_from_file_location("relay_presence_upgrade", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestRelayUpgrade(TransactionCase):
    def test_a_relay_that_just_polled_stays_online_through_the_upgrade(self):
        relays = self.env["pos.caisse.ap.relay"]
        polled, never = relays.create([{"name": "Polled"}, {"name": "Never polled"}])
        cr = self.env.cr
        # The relay's row as 18.0.3.0.0 left it.
        cr.execute(
            "ALTER TABLE pos_caisse_ap_relay ADD COLUMN last_seen timestamp, "
            "ADD COLUMN version varchar, ADD COLUMN protocol int4, "
            "ADD COLUMN outcomes_waiting int4, ADD COLUMN last_error varchar, "
            "ADD COLUMN last_address varchar"
        )
        cr.execute(
            "UPDATE pos_caisse_ap_relay SET last_seen = now() at time zone 'UTC', "
            "version = '2.0', protocol = %s, outcomes_waiting = 2, "
            "last_error = 'HTTP 503', last_address = '192.0.2.9' WHERE id = %s",
            (PROTOCOL, polled.id),
        )

        load_migration().migrate(cr, "18.0.3.0.0")

        relays.invalidate_model()
        self.assertTrue(polled.online)
        self.assertEqual(
            (polled.version, polled.outcomes_waiting, polled.last_error),
            ("2.0", 2, "HTTP 503"),
        )
        self.assertEqual(polled.last_address, "192.0.2.9")
        self.assertFalse(polled.needs_update)
        self.assertFalse(never.online)
        self.assertFalse(never.last_seen)
        for column in ("last_seen", "version", "last_address"):
            self.assertFalse(
                sql.column_exists(cr, "pos_caisse_ap_relay", column),
                f"{column} would be read stale",
            )

    def test_a_new_installation_has_nothing_to_move(self):
        self.env["pos.caisse.ap.relay"].create({"name": "New"})
        load_migration().migrate(self.env.cr, "18.0.3.0.0")
        load_migration().migrate(self.env.cr, None)
        self.assertFalse(self.env["pos.caisse.ap.relay.presence"].search_count([]))
