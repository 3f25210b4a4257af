import logging
import threading

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import caisse_ap
from ..models.pos_payment_method import (
    DEFAULT_PORT,
    NETWORKS_PARAM,
    REFUSED_KINDS,
    TERMINAL_KEY,
)

_logger = logging.getLogger(__name__)

# One scan at a time per server process: each knocks on up to 1,024 doors.
_SCANNING = threading.Lock()

# What the caller of this dialog controls, and what is checked (every row is
# an attack in tests/test_backend_terminal_finder.py):
#   network   text, any: parsed as one network (at most a /22) and judged whole
#             by the address policy before any connection (caisse_ap.scan);
#   port      integer 1-65535, else refused before any connection;
#   payment_method_id  a Caisse-AP method of the caller's companies (record
#             rules), direct only: a relayed terminal is on the shop's network;
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
    def _default_network(self):
        method = self._method_from_context()
        near = method.fr_caisse_ap_ip_address if method else None
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
        if method and method.sudo()._caisse_ap_relay():
            raise UserError(
                self.env._(
                    "Payment method %s reaches its terminal through a shop relay: "
                    "the terminals are on the shop's network, which this server "
                    "cannot see. Type the terminal's address.",
                    method.display_name,
                )
            )
        result = self._scan()
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
