import logging
import threading

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import caisse_ap
from ..models.pos_payment_method import DEFAULT_PORT, NETWORKS_PARAM, TERMINAL_KEY
from ..runtime.cashier_labels import REFUSED_KINDS

_logger = logging.getLogger(__name__)

# One scan at a time per server process: each knocks on up to 1,024 doors.
_SCANNING = threading.Lock()
# A relay polls every second or holds its poll; its scan takes 5 s at most.
RELAY_SCAN_WAIT = 12.0

# What the caller of this dialog controls, and what is checked (every row is
# an attack in tests/test_backend_terminal_finder.py):
#   network   text, any: parsed as one network (at most a /22) and judged whole
#             by the address policy before any connection (caisse_ap.scan);
#   port      integer 1-65535, else refused before any connection;
#   payment_method_id  a Caisse-AP method of the caller's companies (record
#             rules); a relayed one is searched through its own relay only;
#   relay_id  a relay of the caller's companies (record rules); the network is
#             judged here (without this server's own addresses), then by the
#             relay, and its answer by the relay route (addresses of that
#             network only);
#   who       Point of Sale administrators only (access rights and the check
#             in _check_finder_access).


class PosCaisseApTerminalFinder(models.TransientModel):
    _name = "pos.caisse.ap.terminal.finder"
    _description = "Find Caisse-AP terminals"

    payment_method_id = fields.Many2one(
        "pos.payment.method",
        domain=[("use_payment_terminal", "=", TERMINAL_KEY)],
        ondelete="cascade",
        help="The payment method whose terminal address the chosen terminal "
        "fills. Empty: a new payment method.",
    )
    relay_id = fields.Many2one(
        "pos.caisse.ap.relay",
        string="Shop Relay",
        default=lambda self: self._default_relay(),
        help="Through this shop relay: the relay looks on its own network, the "
        "shop's. Empty: this server looks on the networks it reaches.",
    )
    network = fields.Char(
        required=True,
        default=lambda self: self._default_network(),
        help="The shop's network, e.g. 192.168.1.0/24: at most 1,024 addresses "
        "(a /22). Each address is asked for a connection on the port; nothing is "
        "sent to it.",
    )
    port = fields.Integer(
        default=lambda self: self._default_port(),
        required=True,
        help="The port the terminals listen on (Caisse-AP: 8888 on most).",
    )
    line_ids = fields.One2many(
        "pos.caisse.ap.terminal.finder.line", "finder_id", string="Terminals Found"
    )
    summary = fields.Char(readonly=True)

    def _method_from_context(self):
        method_id = self.env.context.get("default_payment_method_id")
        if isinstance(method_id, int) and not isinstance(method_id, bool):
            return self.env["pos.payment.method"].browse(method_id).exists()
        return self.env["pos.payment.method"]

    @api.model
    def _default_relay(self):
        method = self._method_from_context()
        if method:
            return method.sudo()._caisse_ap_relay().id or False
        relay_id = self.env.context.get("default_relay_id")
        return relay_id if isinstance(relay_id, int) else False

    @api.model
    def _default_network(self):
        method = self._method_from_context()
        near = method.fr_caisse_ap_ip_address if method else None
        if self._default_relay():
            # This server's own addresses say nothing of the shop's network.
            return caisse_ap.suggested_network(self._policy(), near, own=False) or False
        return caisse_ap.suggested_network(self._policy(), near) or False

    @api.model
    def _default_port(self):
        method = self._method_from_context()
        return method.fr_caisse_ap_ip_port if method else DEFAULT_PORT

    @api.model
    def _policy(self):
        allow_local, networks = self.env[
            "pos.payment.method"
        ]._caisse_ap_address_policy()
        return caisse_ap.AddressPolicy.of(allow_local, networks)

    def _check_finder_access(self):
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_manager"
        ):
            raise AccessError(
                self.env._("Only Point of Sale administrators can look for terminals.")
            )

    def action_scan(self):
        self.ensure_one()
        self._check_finder_access()
        method = self.payment_method_id
        relay = method.sudo()._caisse_ap_relay() if method else self.relay_id
        if method and self.relay_id and self.relay_id != relay:
            raise UserError(
                self.env._(
                    "Payment method %(method)s reaches its terminal %(how)s: look for "
                    "terminals there.",
                    method=method.display_name,
                    how=self.env._("through the shop relay %s", relay.name)
                    if relay
                    else self.env._("directly from this server"),
                )
            )
        result = self._scan_through(relay) if relay else self._scan()
        self.line_ids = [fields.Command.clear()] + [
            fields.Command.create({"address": address, "used_by": used_by})
            for address, used_by in self._used_by(result.found, result.port).items()
        ]
        self.summary = self._summary(result)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Find Terminals"),
        }

    def _scan(self):
        if not _SCANNING.acquire(blocking=False):
            raise UserError(
                self.env._("Another search for terminals is running: try again.")
            )
        try:
            result = caisse_ap.scan(self.network, self.port, self._policy())
        except caisse_ap.ScanRefused as refused:
            raise UserError(self._refusal_text(refused)) from None
        finally:
            _SCANNING.release()
        _logger.info(
            "Caisse-AP terminal finder: user %s scanned %s port %s: %s found "
            "among %s addresses in %.1f s%s",
            self.env.uid,
            result.network,
            result.port,
            len(result.found),
            result.probed,
            result.seconds,
            "" if result.complete else " (time out before the end)",
        )
        return result

    def _scan_through(self, relay):
        """The relay's search of its own network, checked here first by the
        same policy (the relay checks it again, with its own addresses)."""
        try:
            caisse_ap.plan_scan(
                self.network, self.port, self._policy(), own_check=False
            )
        except caisse_ap.ScanRefused as refused:
            raise UserError(self._refusal_text(refused)) from None
        if not relay.sudo().online:
            raise UserError(
                self.env._(
                    "The shop relay %s is offline: start it, then look again.",
                    relay.name,
                )
            )
        answer = self.env["pos.caisse.ap.relay.probe"]._caisse_ap_ask(
            {"relay_id": relay.id, "network": self.network.strip(), "port": self.port},
            RELAY_SCAN_WAIT,
        )
        if answer is None:
            raise UserError(
                self.env._(
                    "The shop relay %s did not answer in time: is it up to date?",
                    relay.name,
                )
            )
        if not answer["ok"]:
            raise UserError(
                self.env._(
                    "The shop relay %(relay)s could not look for terminals: %(reason)s",
                    relay=relay.name,
                    reason=answer["reason"],
                )
            )
        _logger.info(
            "Caisse-AP terminal finder: user %s had relay %s search %s port %s: %s",
            self.env.uid,
            relay.id,
            self.network,
            self.port,
            ", ".join(answer["found"]) or "nothing found",
        )
        return caisse_ap.Scan(
            network=self.network.strip(),
            port=self.port,
            found=tuple(answer["found"]),
            probed=0,
            complete=answer["complete"],
            seconds=0.0,
        )

    def _refusal_text(self, refused):
        _ = self.env._
        values = {"network": refused.network, "address": refused.detail}
        if refused.code == "not_a_network":
            return _(
                "%(network)s is not a network: write it as 192.168.1.0/24.", **values
            )
        if refused.code == "too_wide":
            return _(
                "The network %(network)s is too wide: look for terminals in at "
                "most 1,024 addresses at a time (a /22, e.g. 192.168.0.0/22).",
                **values,
            )
        if refused.code == "bad_port":
            return _("The port must be between 1 and 65535, not %s.", refused.detail)
        if refused.code == "outside":
            return _(
                "The network %(network)s is not one where terminals are allowed "
                "(%(address)s): nothing was sent. Terminals are on the shop's "
                "private network (e.g. 192.168.1.0/24). A system administrator "
                "lists other networks in the system parameter %(parameter)s.",
                parameter=NETWORKS_PARAM,
                **values,
            )
        return _(
            "The network %(network)s holds %(kind)s (%(address)s), never a "
            "shop's terminals: nothing was sent.",
            kind=REFUSED_KINDS.get(refused.code, refused.code),
            **values,
        )

    def _used_by(self, addresses, port):
        """Each address found, with the payment methods already using it."""
        methods = self.env["pos.payment.method"].with_context(active_test=False)
        domain = [
            ("use_payment_terminal", "=", TERMINAL_KEY),
            ("fr_caisse_ap_ip_address", "in", list(addresses)),
            ("fr_caisse_ap_ip_port", "=", port),
        ]
        names = {address: [] for address in addresses}
        visible = methods.search(domain)
        for method in visible:
            names[method.fr_caisse_ap_ip_address].append(method.display_name)
        # Another company's method: say it is taken, not whose it is.
        hidden = methods.sudo().search(domain + [("id", "not in", visible.ids)])
        for method in hidden:
            names[method.fr_caisse_ap_ip_address].append(
                self.env._("a payment method of another company")
            )
        return {address: ", ".join(used) for address, used in names.items()}

    def _summary(self, result):
        _ = self.env._
        if not result.found:
            text = _(
                "No terminal answered on port %(port)s in %(network)s. Is the "
                "terminal on, on this network, and waiting for its till?",
                port=result.port,
                network=result.network,
            )
        else:
            text = _(
                "%(count)s address(es) of %(network)s accept connections on port "
                "%(port)s. Choose the terminal.",
                count=len(result.found),
                network=result.network,
                port=result.port,
            )
        if not result.complete:
            text += " " + _("The search stopped before the end: narrow the network.")
        return text
