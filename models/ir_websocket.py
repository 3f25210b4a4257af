"""Shop relays on Odoo's bus: a subscription with the relay's token joins its
channel (protocol: caisse_ap/relay_wire.py, "Wake-ups").

Odoo subscribes a websocket to the string channels its client names: a
relay's channel is a record channel instead, which only this override adds,
and only for a subscribe message that carries the relay's token. A wrong or
revoked token closes the connection (4001, as an expired session: Odoo's
own close for refused credentials) and changes nothing.
"""

import logging

from odoo import models
from odoo.http import SessionExpiredException

from odoo.addons.bus.websocket import wsrequest

from ..caisse_ap import relay_wire

_logger = logging.getLogger(__name__)


class RelayTokenRefused(SessionExpiredException):
    """Odoo closes the connection (4001) once the message is over: closing it
    here, inside the message's transaction, would nest another one."""


class IrWebsocket(models.AbstractModel):
    _inherit = "ir.websocket"

    def _subscribe(self, og_data):
        proof = og_data.get(relay_wire.BUS_KEY) if isinstance(og_data, dict) else None
        if proof is None:
            return super()._subscribe(og_data)
        relay = self._caisse_ap_bus_relay(proof)
        if not relay:
            raise RelayTokenRefused("invalid or revoked token")
        # As a poll does: the relay is online, and says what it is.
        relay._caisse_ap_seen(
            relay_wire.relay_status(proof), wsrequest.httprequest.remote_addr or "?"
        )
        relay._caisse_ap_bus_ready()
        return super(
            IrWebsocket, self.with_context(caisse_ap_relay_bus=relay.id)
        )._subscribe(og_data)

    def _build_bus_channel_list(self, channels):
        channels = super()._build_bus_channel_list(channels)
        relay_id = self.env.context.get("caisse_ap_relay_bus")
        if relay_id:
            relay = self.env["pos.caisse.ap.relay"].sudo().browse(relay_id)
            channel = relay._caisse_ap_bus_channel()
            if channel:
                channels.append(channel)
        return channels

    def _caisse_ap_bus_relay(self, proof):
        """The relay whose token ``proof`` carries, over HTTPS (or from this
        machine with no proxy between); empty otherwise, logged."""
        relays = self.env["pos.caisse.ap.relay"].sudo()
        httprequest = wsrequest.httprequest
        remote = httprequest.remote_addr or "?"
        if httprequest.scheme != "https" and not relay_wire.is_loopback_request(
            httprequest.remote_addr, httprequest.headers.get
        ):
            _logger.warning(
                "Caisse-AP relay: bus subscription over plain HTTP from %s refused",
                remote,
            )
            return relays.browse()
        token = proof.get("token") if isinstance(proof, dict) else None
        relay = relays._caisse_ap_authenticate(token if isinstance(token, str) else "")
        if not relay:
            _logger.warning(
                "Caisse-AP relay: bus subscription with a wrong or revoked token "
                "from %s refused",
                remote,
            )
        return relay
