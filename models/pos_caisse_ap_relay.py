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
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from ..caisse_ap import escape_controls, relay_wire

_logger = logging.getLogger(__name__)

# A relay polls at least every MAX_WAIT (25 s): quiet longer, it is offline.
ONLINE_SECONDS = 60
TOKEN_PREFIX_LENGTH = 6
# Computed from the relay's presence row.
PRESENCE_FIELDS = [
    "last_seen",
    "version",
    "last_address",
    "protocol",
    "needs_update",
    "outcomes_waiting",
    "last_error",
    "online",
]


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def bus_subchannel(token_hash):
    """The name of a relay's bus channel beside its record: from its token's
    hash (kept by the server only), so that a new token leaves the old
    token's connections deaf."""
    digest = hashlib.sha256(f"caisse_ap_relay_bus:{token_hash}".encode()).hexdigest()
    return f"caisse_ap_relay.{digest[:32]}"


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
    # What the relay said at its last poll (kept in its presence row).
    last_seen = fields.Datetime(compute="_compute_presence")
    version = fields.Char(compute="_compute_presence")
    last_address = fields.Char(compute="_compute_presence", help="Seen by Odoo.")
    protocol = fields.Integer(
        string="Relay Protocol",
        compute="_compute_presence",
        help="The protocol version the relay said it speaks at its last poll.",
    )
    needs_update = fields.Boolean(
        compute="_compute_presence",
        help="The relay speaks another protocol version than this Odoo: it keeps "
        "working where the meaning is unchanged; update the relay (or the addon).",
    )
    outcomes_waiting = fields.Integer(
        compute="_compute_presence",
        help="Terminal answers the relay keeps because Odoo has not acknowledged "
        "them yet (it posts them again until it has).",
    )
    last_error = fields.Char(string="Last Delivery Error", compute="_compute_presence")
    online = fields.Boolean(compute="_compute_presence")
    payment_method_ids = fields.One2many(
        "pos.payment.method", "fr_caisse_ap_relay_id", string="Payment Methods"
    )

    def _compute_presence(self):
        presences = (
            self.env["pos.caisse.ap.relay.presence"]
            .sudo()
            .search([("relay_id", "in", self.ids)])
        )
        by_relay = {presence.relay_id.id: presence for presence in presences}
        limit = fields.Datetime.now() - timedelta(seconds=ONLINE_SECONDS)
        for relay in self:
            presence = by_relay.get(relay.id, presences.browse())
            relay.last_seen = presence.last_seen
            relay.version = presence.version
            relay.last_address = presence.last_address
            relay.protocol = presence.protocol
            relay.outcomes_waiting = presence.outcomes_waiting
            relay.last_error = presence.last_error
            relay.online = bool(presence.last_seen and presence.last_seen >= limit)
            relay.needs_update = bool(presence.last_seen) and (
                presence.protocol != relay_wire.PROTOCOL
            )

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        """The presence fields sort as the presence columns they show (the
        relays' list sorts by last poll, online, version...)."""
        if field_name not in PRESENCE_FIELDS or field_name == "needs_update":
            return super()._order_field_to_sql(
                alias, field_name, direction, nulls, query
            )
        column = "last_seen" if field_name == "online" else field_name
        value = SQL(
            "(SELECT presence.%s FROM pos_caisse_ap_relay_presence presence "
            "WHERE presence.relay_id = %s)",
            SQL.identifier(column),
            SQL.identifier(alias, "id"),
        )
        if field_name == "online":
            value = SQL(
                "COALESCE(%s >= (now() AT TIME ZONE 'UTC') - make_interval(secs => %s),"
                " FALSE)",
                value,
                ONLINE_SECONDS,
            )
        return SQL("%s %s %s", value, direction, nulls)

    @api.constrains("company_id")
    def _check_company_of_methods(self):
        for relay in self:
            others = (
                relay.sudo()
                .with_context(active_test=False)
                .payment_method_ids.filtered(
                    lambda method, relay=relay: (
                        method.company_id and method.company_id != relay.company_id
                    )
                )
            )
            if others:
                raise ValidationError(
                    self.env._(
                        "The shop relay %(relay)s serves payment methods of another "
                        "company (%(methods)s): choose another relay on them first.",
                        relay=relay.name,
                        methods=", ".join(others.mapped("display_name")),
                    )
                )

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
        token = self._caisse_ap_replace_token(f"by user {self.env.uid}")
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
                "default_environment": f"CAISSE_AP_RELAY_TOKEN={token}",
                "default_command": self._caisse_ap_command(),
            },
        }

    def _caisse_ap_replace_token(self, how):
        """A new token, which replaces the current one at once; ``how`` it was
        asked for goes to the log."""
        self.ensure_one()
        token = secrets.token_urlsafe(32)
        self.sudo().write(
            {
                "token_hash": hash_token(token),
                "token_prefix": token[:TOKEN_PREFIX_LENGTH],
            }
        )
        _logger.info(
            "Caisse-AP relay %s (%s): new token %s… %s",
            self.id,
            self.sudo().name,
            token[:TOKEN_PREFIX_LENGTH],
            how,
        )
        return token

    def action_caisse_ap_pairing_code(self):
        """A one-time code that the relay's machine exchanges for a new token
        (models/pos_caisse_ap_relay_pairing.py), shown once with the command
        that asks for it."""
        self.ensure_one()
        self._check_manager()
        self.check_access("write")  # a relay of the user's companies only
        pairings = self.env["pos.caisse.ap.relay.pairing"]
        code, expires_at = pairings._caisse_ap_new_code(self)
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        return {
            "type": "ir.actions.act_window",
            "res_model": "pos.caisse.ap.relay.pairing.code",
            "views": [(False, "form")],
            "target": "new",
            "name": self.env._("Pair %s", self.name),
            "context": {
                "default_relay_id": self.id,
                "default_code": code,
                "default_expires_at": fields.Datetime.to_string(expires_at),
                # Without the code, which ps and the shell history would show:
                # the command asks for it.
                "default_command": f"cd /opt/caisse-ap-relay && python3 -m "
                f"caisse_ap.relay pair --server {base_url}",
            },
        }

    def _caisse_ap_command(self):
        """The command that starts the relay; the token goes in its environment
        (a command line is shown by ps and kept in the shell history)."""
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        return f"python3 -m caisse_ap.relay --server {base_url}"

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

    def _caisse_ap_bus_channel(self):
        """The relay's bus channel, None without a token. A record channel:
        no client can name it, only the server adds it to a subscription (a
        relay's, with its token: see models/ir_websocket.py)."""
        self.ensure_one()
        token_hash = self.sudo().token_hash
        return (self, bus_subchannel(token_hash)) if token_hash else None

    def _caisse_ap_wake(self):
        """Tell the relay that work waits: its bus connection, or a poll held
        for it (controllers/relay.py), hears it once this transaction commits."""
        for relay in self:
            channel = relay._caisse_ap_bus_channel()
            if channel:
                self.env["bus.bus"].sudo()._sendone(channel, relay_wire.BUS_WORK, {})

    def _caisse_ap_bus_ready(self):
        """Answer a relay's subscription on its channel: it listens now."""
        self.ensure_one()
        channel = self._caisse_ap_bus_channel()
        if channel:
            self.env["bus.bus"].sudo()._sendone(channel, relay_wire.BUS_READY, {})

    def _caisse_ap_seen(self, status, address):
        """Record the poll and what the relay says of itself (``status``:
        version, protocol, outcomes waiting, last error), as a plain upsert:
        no ORM write on a hot path. Best effort: when another poll of the
        same relay updates the row at the same moment, that one says it."""
        self.ensure_one()
        self._caisse_ap_update_presence(
            "INSERT INTO pos_caisse_ap_relay_presence AS presence (relay_id, "
            "last_seen, version, protocol, outcomes_waiting, last_error, "
            "last_address) VALUES (%s, now() at time zone 'UTC', %s, %s, %s, %s, "
            "%s) ON CONFLICT (relay_id) DO UPDATE SET last_seen = "
            "excluded.last_seen, version = excluded.version, protocol = "
            "excluded.protocol, outcomes_waiting = excluded.outcomes_waiting, "
            "last_error = excluded.last_error, last_address = excluded.last_address",
            (
                self.id,
                escape_controls(str(status.get("version", "?"))[:32]),
                status.get("protocol", 1),
                status.get("waiting", 0),
                escape_controls(status.get("last_error") or "")[:500] or None,
                address,
            ),
        )

    def _caisse_ap_take_poll_lease(self, seconds):
        """A key when no other poll of this relay is held now (or its lease
        ran out: a server that died while holding one), else None."""
        self.ensure_one()
        lease = secrets.token_hex(8)
        taken = self._caisse_ap_update_presence(
            "INSERT INTO pos_caisse_ap_relay_presence AS presence (relay_id, "
            "poll_lease, poll_lease_until) VALUES (%s, %s, (now() at time zone "
            "'UTC') + make_interval(secs => %s)) ON CONFLICT (relay_id) DO UPDATE "
            "SET poll_lease = excluded.poll_lease, poll_lease_until = "
            "excluded.poll_lease_until WHERE presence.poll_lease_until IS NULL "
            "OR presence.poll_lease_until < now() at time zone 'UTC' RETURNING id",
            (self.id, lease, float(seconds) + 5),
        )
        return lease if taken else None

    def _caisse_ap_end_poll_lease(self, lease):
        """Give the lease back: False while another poll of the relay holds
        the row (try again in a new transaction, or let it run out)."""
        self.ensure_one()
        return self._caisse_ap_update_presence(
            "UPDATE pos_caisse_ap_relay_presence SET poll_lease = NULL, "
            "poll_lease_until = NULL WHERE relay_id = %s AND poll_lease = %s "
            "RETURNING id",
            (self.id, lease),
        )

    def _caisse_ap_update_presence(self, query, params):
        taken = self.env["pos.caisse.ap.relay.presence"]._caisse_ap_update_unless_busy(
            self.id, query, params
        )
        self.invalidate_recordset(PRESENCE_FIELDS)
        return taken
