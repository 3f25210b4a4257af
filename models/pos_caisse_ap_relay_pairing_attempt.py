"""Wrong pairing codes, counted for the whole database.

One row per wrong code (rows are only ever added: two wrong codes at the same
moment never conflict), kept two hours. See pos_caisse_ap_relay_pairing.py for
what the counts bound.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

WRONG_PER_HOUR = 30
WINDOW = timedelta(hours=1)


class PosCaisseApRelayPairingAttempt(models.Model):
    _name = "pos.caisse.ap.relay.pairing.attempt"
    _description = "Caisse-AP shop relay: wrong pairing code"
    _log_access = False

    at = fields.Datetime(required=True, readonly=True, index=True)
    address = fields.Char(readonly=True, help="Seen by Odoo.")

    @api.model
    def _caisse_ap_last(self):
        """The id of the last wrong code counted (0: none)."""
        return self.sudo().search([], order="id desc", limit=1).id or 0

    @api.model
    def _caisse_ap_since(self, last):
        """How many wrong codes were counted after the one whose id is ``last``."""
        return self.sudo().search_count([("id", ">", last)])

    @api.model
    def _caisse_ap_recent(self):
        return self.sudo().search_count(
            [("at", ">", fields.Datetime.now() - WINDOW)], limit=WRONG_PER_HOUR
        )

    @api.model
    def _caisse_ap_paused(self):
        """Whether too many wrong codes came this hour to try another one."""
        return self._caisse_ap_recent() >= WRONG_PER_HOUR

    @api.model
    def _caisse_ap_count_wrong(self, address):
        now = fields.Datetime.now()
        attempts = self.sudo()
        attempts.search([("at", "<", now - 2 * WINDOW)]).unlink()
        attempts.create({"at": now, "address": address})
        recent = self._caisse_ap_recent()
        _logger.warning(
            "Caisse-AP relay pairing: wrong, expired or used code from %s "
            "(%s wrong within an hour; codes are refused from %s)",
            address,
            recent,
            WRONG_PER_HOUR,
        )
        if recent == WRONG_PER_HOUR:
            _logger.error(
                "Caisse-AP relay pairing: %s wrong codes within an hour, the last "
                "from %s: somebody may be guessing pairing codes; every code is "
                "refused until the hour has passed",
                recent,
                address,
            )
