"""Payment methods whose terminal is reached through a shop relay."""

import logging
import time

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .pos_payment_method import PROBE_TIMEOUT, TERMINAL_KEY

_logger = logging.getLogger(__name__)

# The relay's long poll brings the probe within a second; it then takes up to
# PROBE_TIMEOUT to connect, and a second to post the result.
PROBE_WAIT = PROBE_TIMEOUT + 7


class PosPaymentMethod(models.Model):
    _inherit = "pos.payment.method"

    fr_caisse_ap_ip_connection = fields.Selection(
        [("direct", "Direct"), ("relay", "Through a shop relay")],
        string="Connection",
        default="direct",
        help="Direct: this Odoo server connects to the terminal. Through a shop "
        "relay: a relay program in the shop connects to the terminal and to Odoo "
        "(for a cloud-hosted Odoo that cannot reach the shop's network).",
    )
    fr_caisse_ap_relay_id = fields.Many2one(
        "pos.caisse.ap.relay",
        string="Shop Relay",
        check_company=True,
        ondelete="restrict",
    )

    @api.constrains(
        "use_payment_terminal",
        "fr_caisse_ap_ip_connection",
        "fr_caisse_ap_relay_id",
        "company_id",
    )
    def _check_caisse_ap_relay(self):
        for method in self:
            relay = method.sudo().fr_caisse_ap_relay_id
            # A relay serves its own company's exchanges only (its token is
            # scoped so): never a method of another company.
            if relay and method.company_id and relay.company_id != method.company_id:
                raise ValidationError(
                    self.env._(
                        "The shop relay %(relay)s belongs to another company than "
                        "payment method %(method)s.",
                        relay=relay.name,
                        method=method.display_name,
                    )
                )
            if method.use_payment_terminal != TERMINAL_KEY:
                continue
            if (
                method.fr_caisse_ap_ip_connection == "relay"
                and not method.fr_caisse_ap_relay_id
            ):
                raise ValidationError(
                    self.env._(
                        "Choose the shop relay of payment method %s.",
                        method.display_name,
                    )
                )

    def _caisse_ap_relay(self):
        """The relay to go through, or an empty recordset for a direct connection."""
        self.ensure_one()
        if self.fr_caisse_ap_ip_connection == "relay":
            return self.fr_caisse_ap_relay_id
        return self.env["pos.caisse.ap.relay"]

    def _caisse_ap_terminal_key(self):
        # Shops behind different relays may use the same private address.
        key = super()._caisse_ap_terminal_key()
        relay = self.sudo()._caisse_ap_relay()
        return f"relay{relay.id}/{key}" if relay else key

    def _caisse_ap_probe(self):
        relay = self.sudo()._caisse_ap_relay()
        if not relay:
            return super()._caisse_ap_probe()
        if not relay.online:
            return False, self.env._(
                "the shop relay %s is offline (is the relay program running?)",
                relay.name,
            )
        return self._caisse_ap_probe_through(relay)

    def _caisse_ap_probe_through(self, relay):
        """Queue a probe for the relay (committed at once so that it sees it),
        then wait for its answer with short read-only looks."""
        registry = self.env.registry
        with registry.cursor() as cr:
            probe = self.env(cr=cr, su=True)["pos.caisse.ap.relay.probe"].create(
                {
                    "relay_id": relay.id,
                    "host": self.fr_caisse_ap_ip_address,
                    "port": self.fr_caisse_ap_ip_port,
                }
            )
            probe_id = probe.id
        deadline = time.monotonic() + PROBE_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.2)
            with registry.cursor() as cr:
                probe = self.env(cr=cr, su=True)["pos.caisse.ap.relay.probe"].browse(
                    probe_id
                )
                if probe.state == "done":
                    return probe.ok, probe.reason or ""
        return False, self.env._(
            "the shop relay %s did not answer the test in time", relay.name
        )
