"""The relays' list sorts by what each relay said at its last poll."""

from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestRelayList(TransactionCase):
    def test_the_relays_list_sorts_by_the_relays_last_poll(self):
        relays = self.env["pos.caisse.ap.relay"]
        now = fields.Datetime.now()
        recent, old, never = relays.create(
            [{"name": "A recent"}, {"name": "B old"}, {"name": "C never polled"}]
        )
        self.env["pos.caisse.ap.relay.presence"].create(
            [
                {
                    "relay_id": recent.id,
                    "last_seen": now,
                    "version": "2.1",
                    "outcomes_waiting": 0,
                },
                {
                    "relay_id": old.id,
                    "last_seen": now - timedelta(hours=2),
                    "version": "2.0",
                    "outcomes_waiting": 3,
                },
            ]
        )
        mine = [("id", "in", (recent | old | never).ids)]
        for order, expected in (
            ("last_seen desc nulls last", [recent, old, never]),
            ("last_seen asc nulls first", [never, old, recent]),
            ("online desc, name", [recent, old, never]),
            ("online, name desc", [never, old, recent]),
            ("version nulls last", [old, recent, never]),
            ("outcomes_waiting desc nulls last", [old, recent, never]),
        ):
            with self.subTest(order=order):
                self.assertEqual(
                    relays.search(mine, order=order).ids, [r.id for r in expected]
                )
        # The web client offers to sort the columns it is told are sortable.
        shown = ["online", "last_seen", "version", "outcomes_waiting"]
        sortable = relays.fields_get(shown, ["sortable"])
        self.assertEqual(
            {name: sortable[name]["sortable"] for name in shown},
            dict.fromkeys(shown, True),
        )
