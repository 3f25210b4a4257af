"""Shop relays: programs in the shops that run the exchanges of a cloud server.

See caisse_ap/relay_wire.py for the protocol. A relay authenticates with a
random token of which only a SHA-256 hash is stored (the token has 256 bits
of entropy: no salt nor slow hash is needed); it is shown once, when made.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError

_logger = logging.getLogger(__name__)

# A relay polls at least every MAX_WAIT (25 s): quiet longer, it is offline.
ONLINE_SECONDS = 60
TOKEN_PREFIX_LENGTH = 6


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class PosCaisseApRelay(models.Model):
    _name = "pos.caisse.ap.relay"
    _description = "Caisse-AP shop relay"
    _order = "name"
    _check_company_auto = True

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    token_hash = fields.Char(readonly=True, copy=False, groups="base.group_system")
    token_prefix = fields.Char(
        string="Token Starts With",
        readonly=True,
        copy=False,
        help="The first characters of the current token, to tell tokens apart.",
    )
    last_seen = fields.Datetime(readonly=True, copy=False)
    version = fields.Char(readonly=True, copy=False)
    last_address = fields.Char(readonly=True, copy=False, help="Seen by Odoo.")
    online = fields.Boolean(compute="_compute_online")
    payment_method_ids = fields.One2many(
        "pos.payment.method", "fr_caisse_ap_relay_id", string="Payment Methods"
    )

    @api.depends("last_seen")
    def _compute_online(self):
        limit = fields.Datetime.now() - timedelta(seconds=ONLINE_SECONDS)
        for relay in self:
            relay.online = bool(relay.last_seen and relay.last_seen >= limit)

    def _check_manager(self):
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_manager"
        ):
            raise AccessError(
                self.env._("Only Point of Sale administrators can manage shop relays.")
            )

    def action_new_token(self):
        """A new token replaces the current one (which stops working at once)."""
        self.ensure_one()
        self._check_manager()
        token = secrets.token_urlsafe(32)
        self.sudo().write(
            {
                "token_hash": hash_token(token),
                "token_prefix": token[:TOKEN_PREFIX_LENGTH],
            }
        )
        _logger.info(
            "Caisse-AP relay %s (%s): new token %s… by user %s",
            self.id,
            self.name,
            token[:TOKEN_PREFIX_LENGTH],
            self.env.uid,
        )
        # Shown by a form on no record: the clear token travels only in this
        # answer to the browser, it is written to no table.
        return {
            "type": "ir.actions.act_window",
            "res_model": "pos.caisse.ap.relay.token",
            "views": [(False, "form")],
            "target": "new",
            "name": self.env._("Token of %s", self.name),
            "context": {
                "default_relay_id": self.id,
                "default_token": token,
                "default_command": self._caisse_ap_command(token),
            },
        }

    def _caisse_ap_command(self, token):
        """The command line that starts the relay with ``token``."""
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        return f"python3 -m caisse_ap.relay --server {base_url} --token {token}"

    @api.model
    def _caisse_ap_authenticate(self, token):
        """The active relay owning ``token`` (empty when none does)."""
        relays = self.sudo().with_context(active_test=False)
        if not token or len(token) > 200:
            return relays.browse()
        digest = hash_token(token)
        relay = relays.search([("token_hash", "=", digest)], limit=1)
        # The search compared hashes already; compare again in constant time.
        if not relay or not hmac.compare_digest(relay.token_hash, digest):
            return relays.browse()
        return relay if relay.active else relays.browse()

    def _caisse_ap_seen(self, version, address):
        """Record the poll (a plain UPDATE: no ORM write on a hot path)."""
        self.ensure_one()
        self.env.cr.execute(
            "UPDATE pos_caisse_ap_relay SET last_seen = now() at time zone 'UTC', "
            "version = %s, last_address = %s WHERE id = %s",
            (str(version)[:32], address, self.id),
        )
        self.invalidate_recordset(["last_seen", "version", "last_address"])


class PosCaisseApRelayToken(models.AbstractModel):
    """Shows a new token once. No table: the dialog shows the values of the
    action's context and closes; nothing keeps the clear token."""

    _name = "pos.caisse.ap.relay.token"
    _description = "Caisse-AP shop relay token"

    # The form's onchange (which fills the defaults in) needs an id field.
    id = fields.Id()
    relay_id = fields.Many2one("pos.caisse.ap.relay", readonly=True)
    token = fields.Char(readonly=True)
    command = fields.Char(readonly=True)
