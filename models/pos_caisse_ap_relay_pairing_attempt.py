"""Wrong pairing codes, counted per source and for the whole database.

One row per wrong code (rows are only ever added: two wrong codes at the same
moment never conflict), kept two hours. See pos_caisse_ap_relay_pairing.py for
what the counts bound.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# One source (the address Odoo sees) may try this many wrong codes an hour:
# it then locks out only itself.
WRONG_PER_SOURCE = 10
# All sources together: past it, every code is refused for everyone.
WRONG_PER_HOUR = 100
WINDOW = timedelta(hours=1)


class PosCaisseApRelayPairingAttempt(models.Model):
    _name = "pos.caisse.ap.relay.pairing.attempt"
    _description = "Caisse-AP shop relay: wrong pairing code"
    _log_access = False

    at = fields.Datetime(required=True, readonly=True, index=True)
    address = fields.Char(readonly=True, help="Seen by Odoo.")

    @api.model
    def _caisse_ap_recent(self, address=None):
        """Wrong codes this hour (from ``address`` only, when given), counted up
        to the limit that applies."""
        domain = [("at", ">", fields.Datetime.now() - WINDOW)]
        limit = WRONG_PER_HOUR
        if address is not None:
            domain.append(("address", "=", address))
            limit = WRONG_PER_SOURCE
        return self.sudo().search_count(domain, limit=limit)

    @api.model
    def _caisse_ap_paused(self, address):
        """Whether too many wrong codes came this hour, from ``address`` or
        from all, to try another one."""
        return (
            self._caisse_ap_recent(address) >= WRONG_PER_SOURCE
            or self._caisse_ap_recent() >= WRONG_PER_HOUR
        )

    @api.model
    def _caisse_ap_count_wrong(self, address):
        now = fields.Datetime.now()
        attempts = self.sudo()
        attempts.search([("at", "<", now - 2 * WINDOW)]).unlink()
        attempts.create({"at": now, "address": address})
        from_there, recent = self._caisse_ap_recent(address), self._caisse_ap_recent()
        _logger.warning(
            "Caisse-AP relay pairing: wrong, expired or used code from %s "
            "(%s from there and %s in all within an hour; refused from %s and %s)",
            address,
            from_there,
            recent,
            WRONG_PER_SOURCE,
            WRONG_PER_HOUR,
        )
        # ">=": requests in flight together may each count past the limit; once
        # it is reached, the next ones are refused before they are counted.
        if recent >= WRONG_PER_HOUR:
            _logger.error(
                "Caisse-AP relay pairing: %s wrong codes within an hour, the last "
                "from %s: somebody may be guessing pairing codes; every code is "
                "refused until the hour has passed",
                recent,
                address,
            )
        elif from_there >= WRONG_PER_SOURCE:
            _logger.error(
                "Caisse-AP relay pairing: %s wrong codes within an hour from %s: its "
                "codes are refused until the hour has passed",
                from_there,
                address,
            )
