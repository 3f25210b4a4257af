"""The address policy, applied to a payment method's terminal address.

The policy itself is the engine's (caisse_ap/address.py); here are its
settings (two system parameters), the refusal of a method's address, the
warning its form shows, and the key of its terminal. The words of a refusal
are the payment method's (_caisse_ap_refusal_text).
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import caisse_ap
from ..caisse_ap import canonical_host, ip_address_of, terminal_key
from ..runtime import worker

_logger = logging.getLogger(__name__)

# The payment terminal key of a Caisse-AP payment method (use_payment_terminal).
TERMINAL_KEY = "fr-caisse_ap_ip"
# Set to 1 to allow loopback, link-local, unspecified and multicast terminal
# addresses (the demo, the tests and the benchmarks run the simulator locally).
ALLOW_LOCAL_PARAM = "l10n_fr_pos_caisse_ap_ip.allow_local_terminals"
# The terminal networks, CIDR separated by commas (default: the private ones).
NETWORKS_PARAM = "l10n_fr_pos_caisse_ap_ip.terminal_networks"


class PosCaisseApAddressMixin(models.AbstractModel):
    _name = "pos.caisse.ap.address.mixin"
    _description = "Caisse-AP terminal address policy"

    fr_caisse_ap_address_warning = fields.Char(
        string="Terminal Address Warning",
        compute="_compute_fr_caisse_ap_address_warning",
        help="Why the address policy refuses this terminal address, and how to "
        "allow it: an address the OCA module accepted may be refused here.",
    )

    @api.depends("use_payment_terminal", "fr_caisse_ap_ip_address")
    def _compute_fr_caisse_ap_address_warning(self):
        for method in self:
            method.fr_caisse_ap_address_warning = method._caisse_ap_address_warning()

    def _caisse_ap_address_warning(self):
        """The address policy's refusal of this method's terminal address, or
        False. The save-time check stops new ones; these came with the database
        (from the OCA module, or before a system parameter changed)."""
        self.ensure_one()
        if (
            self.use_payment_terminal != TERMINAL_KEY
            or not self.fr_caisse_ap_ip_address
        ):
            return False
        try:
            return self._caisse_ap_address_refusal() or False
        except UserError as error:  # the allowed networks cannot be read
            return str(error)

    @api.model
    def _caisse_ap_log_refused_addresses(self):
        """Log a WARNING naming each Caisse-AP method whose address the policy
        refuses: after an update from the OCA module, a port forwarded from a
        public address or a VPN address stops payments at the first customer."""
        methods = self.with_context(active_test=False).search(
            [("use_payment_terminal", "=", TERMINAL_KEY)]
        )
        for method in methods:
            warning = method._caisse_ap_address_warning()
            if warning:
                _logger.warning(
                    "Caisse-AP payment method %s (id %s): its payments will be "
                    "refused. %s",
                    method.display_name,
                    method.id,
                    warning,
                )

    @staticmethod
    def _strip_caisse_ap_address(vals):
        """An address is saved as the address it is: ``0x0a000007`` or
        ``10.7`` (which the resolver reads as 10.0.0.7) as ``10.0.0.7``, an
        IPv6 zone ``%25eth0`` as ``%eth0``; the address policy judges that."""
        address = vals.get("fr_caisse_ap_ip_address")
        if isinstance(address, str):
            vals["fr_caisse_ap_ip_address"] = canonical_host(address.strip()) or False

    def _caisse_ap_address_refusal(self):
        """Why the terminal address, as written, is refused by the address
        policy, or None (a DNS name is judged on what it resolves to, when the
        engine connects).

        The address is only ever used to reach a terminal: without this check, a
        POS manager could point it at the server's own network (the Test
        connection button, or a payment, then tells which ports answer).
        """
        self.ensure_one()
        address = self.fr_caisse_ap_ip_address
        allow_local, networks = self._caisse_ap_address_policy()
        # Through a relay, the terminal is reached from the shop: the relay
        # judges its own machine's addresses, this server cannot.
        kind = caisse_ap.AddressPolicy.of(allow_local, networks).kind(
            address, own_check=not self.sudo()._caisse_ap_relay()
        )
        if not kind:
            return None
        return self._caisse_ap_refusal_text(address, address, kind)

    @api.model
    def _caisse_ap_address_policy(self):
        """``(allow_local, networks)``: the address policy handed to the engine
        and to the shop relays, which apply it to the addresses a DNS name
        resolves to. Raises a UserError when the system parameter of the
        allowed networks is not a list of networks: nothing is sent then."""
        params = self.env["ir.config_parameter"].sudo()
        allowed = params.get_param(ALLOW_LOCAL_PARAM)
        allow_local = str(allowed or "").strip().lower() in ("1", "true", "yes")
        try:
            networks = caisse_ap.parse_networks(
                params.get_param(NETWORKS_PARAM) or None
            )
        except ValueError as error:
            raise UserError(
                self.env._(
                    "The system parameter %(parameter)s is not a list of networks "
                    "(%(error)s): nothing is sent to any terminal until a system "
                    "administrator corrects it, e.g. 192.168.0.0/16, 10.0.0.0/8.",
                    parameter=NETWORKS_PARAM,
                    error=error,
                )
            ) from None
        return allow_local, networks

    def _caisse_ap_resolved_refusal(self, refusal):
        """The cashier's and the manager's text for an engine AddressRefusal
        (``{"host", "address", "kind"}``): the name passed the check as written,
        but what it resolves to did not; nothing was sent."""
        return self._caisse_ap_refusal_text(
            refusal.get("host"), refusal.get("address"), refusal.get("kind")
        )

    def _caisse_ap_terminal_key(self, resolve=True):
        """The key of this method's terminal, which one payment at a time may
        hold (the busy index): the same for every spelling of its address.

        A DNS name is keyed by the address it resolves to (the lowest allowed
        one), so that a name and the address of one terminal are one key. It
        is resolved within the connect timeout, as the payment's connection
        will resolve it; a name that does not resolve in time keeps its own
        key (the payment's connection will most likely not reach it either).
        ``resolve=False``: the name as written (to show it).
        """
        self.ensure_one()
        host, port = self.fr_caisse_ap_ip_address, self.fr_caisse_ap_ip_port
        relay = self.sudo()._caisse_ap_relay()
        if relay:
            # The relay resolves a name on the shop's network, which this
            # server cannot ask: the name is the key, written one way. Shops
            # behind different relays may use the same private address.
            return f"relay{relay.id}/{terminal_key(host, port)}"
        if resolve and host and ip_address_of(host) is None:
            resolved = worker.resolved_address(
                host, port, *self._caisse_ap_address_policy()
            )
            host = resolved or host
        return terminal_key(host, port)
