"""What a shop relay last said of itself, and its poll lease.

Kept apart from the relay's own row because every poll writes it: a start
through the relay records the relay on its transaction, and PostgreSQL's
foreign-key check locks the relay's row. In Odoo's REPEATABLE READ
transactions, that lock fails ("could not serialize access") whenever the
row was written since the start began, and Odoo then replays the cashier's
whole request. Written here, the polls leave the relay's row alone.
"""

import psycopg2.errors

from odoo import api, fields, models


class PosCaisseApRelayPresence(models.Model):
    _name = "pos.caisse.ap.relay.presence"
    _description = "Caisse-AP shop relay: last poll and poll lease"
    _log_access = False

    relay_id = fields.Many2one(
        "pos.caisse.ap.relay", required=True, ondelete="cascade", readonly=True
    )
    last_seen = fields.Datetime(readonly=True)
    version = fields.Char(readonly=True)
    last_address = fields.Char(readonly=True)
    protocol = fields.Integer(string="Relay Protocol", readonly=True)
    outcomes_waiting = fields.Integer(readonly=True)
    last_error = fields.Char(string="Last Delivery Error", readonly=True)
    # One held poll per relay (any server, any worker): see controllers/relay.py.
    poll_lease = fields.Char(readonly=True)
    poll_lease_until = fields.Datetime(readonly=True)

    _sql_constraints = [
        ("relay_unique", "unique (relay_id)", "A shop relay has one presence row."),
    ]

    @api.model
    def _caisse_ap_update_unless_busy(self, relay_id, query, params):
        """Run ``query`` (an upsert or update of ``relay_id``'s row); False, and
        nothing done, when another request holds or just changed the row (the
        polls of one relay may come together: none waits for the others)."""
        cr = self.env.cr
        try:
            # An expected conflict: no "bad query" in the log.
            with cr.savepoint():
                cr.execute(
                    "SELECT id FROM pos_caisse_ap_relay_presence WHERE relay_id = %s "
                    "FOR UPDATE NOWAIT",
                    (relay_id,),
                    log_exceptions=False,
                )
                cr.execute(query, params, log_exceptions=False)
                taken = bool(cr.rowcount)
        except (
            psycopg2.errors.LockNotAvailable,
            psycopg2.errors.SerializationFailure,
        ):
            return False
        self.invalidate_model()
        return taken
