import dataclasses
import logging
import math
import re

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .. import caisse_ap
from ..caisse_ap import is_valid_host
from ..runtime import cashier_labels as labels
from ..runtime import worker
from .pos_caisse_ap_address_mixin import ALLOW_LOCAL_PARAM, NETWORKS_PARAM, TERMINAL_KEY

_logger = logging.getLogger(__name__)

DEFAULT_PORT = 8888
TIMEOUT_MIN = 30
TIMEOUT_MAX = 600
PROBE_TIMEOUT = 3.0
# The relay's long poll brings the probe within a second; it then takes up to
# PROBE_TIMEOUT to connect, and a second to post the result.
PROBE_WAIT = PROBE_TIMEOUT + 7
MAX_UUID_LENGTH = 64
MAX_REFUNDED_ORDERS = 100
# The bus channel a POS tab names for its results: 128 random bits in hex.
RESULT_CHANNEL = re.compile(r"l10n_fr_pos_caisse_ap_ip\.result\.[0-9a-f]{32}")
# The key a POS draws for each start it sends (the same on its repeats).
START_KEY = re.compile(r"[0-9A-Za-z_-]{1,64}")
# What a status or a cancel reads of its method, in the query that checks the
# caller may use it; a start reads the terminal settings too (reading one more
# field later would load every column of the method).
CHECK_FIELDS = ("company_id", "active", "use_payment_terminal")
START_FIELDS = (
    *CHECK_FIELDS,
    "fr_caisse_ap_ip_address",
    "fr_caisse_ap_ip_port",
    "fr_caisse_ap_ip_mode",
    "fr_caisse_ap_ip_pos_number",
    "fr_caisse_ap_ip_protocol_version",
    "fr_caisse_ap_ip_timeout",
    "fr_caisse_ap_ip_receipt",
    "fr_caisse_ap_ip_allow_unreferenced_refund",
    "fr_caisse_ap_ip_connection",
    "fr_caisse_ap_relay_id",
)
# Server-side settings, read again at every payment: safe to change while a
# session is open (a terminal that got a new address must not force closing
# the shop's sessions). The fields loaded into the POS are not in this set.
LIVE_EDITABLE_FIELDS = {
    "fr_caisse_ap_ip_address",
    "fr_caisse_ap_ip_port",
    "fr_caisse_ap_ip_pos_number",
    "fr_caisse_ap_ip_protocol_version",
    "fr_caisse_ap_ip_receipt",
    "fr_caisse_ap_ip_allow_unreferenced_refund",
    "fr_caisse_ap_ip_connection",
    "fr_caisse_ap_relay_id",
}


class PosPaymentMethod(models.Model):
    _name = "pos.payment.method"
    _inherit = ["pos.payment.method", "pos.caisse.ap.address.mixin"]

    # The first four names come from the OCA module: its databases migrate as they are.
    fr_caisse_ap_ip_address = fields.Char(
        string="Terminal Address",
        help="IP address or DNS name of the payment terminal (Caisse-AP over IP).",
        copy=False,
    )
    fr_caisse_ap_ip_port = fields.Integer(
        string="Terminal Port",
        default=DEFAULT_PORT,
        help="TCP port on which the terminal listens for Caisse-AP requests.",
    )
    fr_caisse_ap_ip_mode = fields.Selection(
        [("card", "Card"), ("check", "Check"), ("ancv", "ANCV (holiday vouchers)")],
        string="Payment Mode",
        default="card",
        help="Card: the terminal picks the card application. Check and ANCV force "
        "the terminal's check or ANCV application.",
    )
    fr_caisse_ap_ip_fast_payment = fields.Boolean(
        string="Fast Payment",
        default=True,
        help="Send the amount to the terminal as soon as the payment method is "
        "selected.",
    )
    fr_caisse_ap_ip_pos_number = fields.Char(
        string="POS Number",
        default="01",
        help="Number of this point of sale for the terminal (Caisse-AP tag CA, "
        "2 digits).",
    )
    fr_caisse_ap_ip_protocol_version = fields.Selection(
        [(version, version) for version in caisse_ap.PROTOCOL_VERSIONS],
        string="Protocol Version",
        default="0300",
        help="Caisse-AP protocol version announced to the terminal (tag CZ).",
    )
    fr_caisse_ap_ip_timeout = fields.Integer(
        string="Payment Timeout (s)",
        default=180,
        help="How long to wait for the terminal's answer, in seconds (30 to 600). "
        "Past it, the outcome is unknown and the cashier is asked to check the "
        "terminal.",
    )
    fr_caisse_ap_ip_receipt = fields.Boolean(
        string="Ask for the Customer Receipt",
        help="Ask the terminal to send the customer receipt text; it is kept in the "
        "transaction journal.",
    )
    fr_caisse_ap_ip_allow_unreferenced_refund = fields.Boolean(
        string="Allow refunds without an original order",
        groups="point_of_sale.group_pos_manager",
        help="By default a refund on the terminal must come from the order being "
        "refunded, paid on a Caisse-AP terminal, and cannot give back more than "
        "that order's terminal payments. When checked, the POS may also credit a "
        "card for an amount typed without an original order.",
    )

    @api.constrains(
        "use_payment_terminal",
        "fr_caisse_ap_ip_address",
        "fr_caisse_ap_ip_port",
        "fr_caisse_ap_ip_pos_number",
        "fr_caisse_ap_ip_timeout",
    )
    def _check_caisse_ap_settings(self):
        _ = self.env._
        for method in self.filtered(lambda m: m.use_payment_terminal == TERMINAL_KEY):
            if not method.fr_caisse_ap_ip_address:
                raise ValidationError(
                    _(
                        "Set the terminal address on payment method %s.",
                        method.display_name,
                    )
                )
            if not is_valid_host(method.fr_caisse_ap_ip_address):
                raise ValidationError(
                    _(
                        "The terminal address %(address)r of payment method %(method)s "
                        "is not a valid IP address or DNS name.",
                        address=method.fr_caisse_ap_ip_address,
                        method=method.display_name,
                    )
                )
            refusal = method._caisse_ap_address_refusal()
            if refusal:
                raise ValidationError(refusal)
            if not 1 <= method.fr_caisse_ap_ip_port <= 65535:
                raise ValidationError(
                    _(
                        "The terminal port of payment method %(method)s must be "
                        "between 1 and 65535, not %(port)s.",
                        method=method.display_name,
                        port=method.fr_caisse_ap_ip_port,
                    )
                )
            number = method.fr_caisse_ap_ip_pos_number or ""
            if not (len(number) == 2 and number.isascii() and number.isdigit()):
                raise ValidationError(
                    _(
                        "The POS number of payment method %s must be 2 digits "
                        "(e.g. 01).",
                        method.display_name,
                    )
                )
            if not TIMEOUT_MIN <= method.fr_caisse_ap_ip_timeout <= TIMEOUT_MAX:
                raise ValidationError(
                    _(
                        "The payment timeout of payment method %(method)s must be "
                        "between %(min)s and %(max)s seconds.",
                        method=method.display_name,
                        min=TIMEOUT_MIN,
                        max=TIMEOUT_MAX,
                    )
                )

    def _get_payment_terminal_selection(self):
        return super()._get_payment_terminal_selection() + [
            (TERMINAL_KEY, self.env._("Caisse AP over IP (France only)"))
        ]

    @api.model
    def _load_pos_data_fields(self, config_id):
        # Never the address nor the port: the POS does not talk to the terminal.
        return super()._load_pos_data_fields(config_id) + [
            "fr_caisse_ap_ip_mode",
            "fr_caisse_ap_ip_fast_payment",
            "fr_caisse_ap_ip_timeout",
        ]

    def _is_write_forbidden(self, fields):
        return super()._is_write_forbidden(fields - LIVE_EDITABLE_FIELDS)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._strip_caisse_ap_address(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._strip_caisse_ap_address(vals)
        return super().write(vals)

    def _caisse_ap_refusal_text(self, host, address, kind):
        """Why the address policy refused ``host`` (that resolves to ``address``,
        or is that address): the cashier's and the manager's words."""
        self.ensure_one()
        return labels.address_refusal(
            self.env,
            kind,
            host=host,
            address=address,
            method=self.sudo().display_name,
            parameters={"allow_local": ALLOW_LOCAL_PARAM, "networks": NETWORKS_PARAM},
        )

    # ------------------------------------------------------------------
    # The terminal request, built from this method's settings
    # ------------------------------------------------------------------
    def _caisse_ap_request(self, currency, amount):
        """The engine's request for this attempt, or a UserError saying why not.

        No CF is sent (like the reference clients): terminals answer it with
        their own private data, so it cannot tell whose answer it is. One
        request per connection does.
        """
        self.ensure_one()
        direction, minor = self._caisse_ap_minor_amount(amount, currency)
        try:
            return caisse_ap.PaymentRequest(
                amount=minor,
                currency_numeric=currency.iso_numeric,
                direction=direction,
                pos_number=self.fr_caisse_ap_ip_pos_number,
                protocol_version=self.fr_caisse_ap_ip_protocol_version,
                mode=caisse_ap.PaymentMode(self.fr_caisse_ap_ip_mode or "card"),
                request_receipt=bool(self.fr_caisse_ap_ip_receipt),
            )
        except caisse_ap.ProtocolError as error:
            raise UserError(
                self.env._("The payment request is not valid: %s", error)
            ) from None

    @api.model
    def _caisse_ap_minor_amount(self, amount, currency):
        """``(direction, minor units)`` for a signed amount in ``currency``."""
        _ = self.env._
        if not currency.iso_numeric:
            raise UserError(
                _(
                    "The currency %s has no ISO 4217 numeric code: set it on the "
                    "currency to use the payment terminal.",
                    currency.name,
                )
            )
        minor = round(abs(amount) * 10**currency.decimal_places)
        if not minor:
            raise UserError(
                _("The amount sent to the payment terminal cannot be zero.")
            )
        if minor > caisse_ap.MAX_AMOUNT:
            raise UserError(
                _(
                    "The amount %s is too large for the payment terminal (12 digits "
                    "at most).",
                    amount,
                )
            )
        direction = (
            caisse_ap.Direction.CREDIT if amount < 0 else caisse_ap.Direction.DEBIT
        )
        return direction, minor

    # ------------------------------------------------------------------
    # Test connection button
    # ------------------------------------------------------------------
    def action_caisse_ap_test_connection(self):
        """Open and close a TCP connection to the terminal; nothing is sent."""
        self.ensure_one()
        _ = self.env._
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_manager"
        ):
            raise AccessError(
                _("Only Point of Sale administrators can test the terminal connection.")
            )
        if not self.fr_caisse_ap_ip_address:
            raise UserError(_("Set the terminal address first."))
        refusal = self._caisse_ap_address_refusal()
        if refusal:
            raise UserError(refusal)
        key = self._caisse_ap_terminal_key(resolve=False)
        reachable, reason = self._caisse_ap_probe()
        _logger.info(
            "Caisse-AP %s: connection test %s %s",
            key,
            "ok" if reachable else "failed",
            reason,
        )
        if reachable:
            title = _("Terminal reachable")
            message = _(
                "The terminal %s accepted a connection (nothing was sent to it).", key
            )
        else:
            title = _("Terminal unreachable")
            message = _(
                "Cannot connect to the terminal %(terminal)s: %(reason)s",
                terminal=key,
                reason=labels.not_sent_reason(self.env, reason),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": "success" if reachable else "danger",
                "sticky": not reachable,
            },
        }

    def action_caisse_ap_find_terminals(self):
        """The terminal finder, for this method's terminal (see its wizard)."""
        self.ensure_one()
        finder = self.env["pos.caisse.ap.terminal.finder"]
        finder._check_finder_access()
        return {
            "type": "ir.actions.act_window",
            "res_model": finder._name,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Find Terminals"),
            "context": {"default_payment_method_id": self.id},
        }

    def _caisse_ap_probe(self):
        """``(reachable, reason)``: a TCP connection opened and closed (by the
        shop relay when the method goes through one)."""
        relay = self.sudo()._caisse_ap_relay()
        if relay:
            if not relay.online:
                return False, self.env._(
                    "the shop relay %s is offline (is the relay program running?)",
                    relay.name,
                )
            return self._caisse_ap_probe_through(relay)
        allow_local, networks = self._caisse_ap_address_policy()
        found = caisse_ap.probe(
            self.fr_caisse_ap_ip_address,
            self.fr_caisse_ap_ip_port,
            timeout=PROBE_TIMEOUT,
            allow_local=allow_local,
            networks=networks,
        )
        if found.refusal:
            return False, self._caisse_ap_resolved_refusal(
                dataclasses.asdict(found.refusal)
            )
        return found.ok, found.reason

    # ------------------------------------------------------------------
    # RPCs called by the POS (see README): start, status, cancel
    # ------------------------------------------------------------------
    def caisse_ap_start(self, data):
        """Start (or find again) the terminal transaction of a payment line.

        Returns at once; the exchange with the terminal runs in a background
        thread once this transaction is committed.
        """
        values = self._caisse_ap_parse_start(data)
        self._caisse_ap_check_method()
        session = self.env["pos.session"]._caisse_ap_check_for_payment(
            values["pos_session_id"], self
        )
        transactions = self.env["pos.caisse.ap.transaction"]
        transaction, job = transactions._start(self, session, values)
        result = transaction.with_env(self.env)._pos_dict()
        if job:
            worker.launch(self.env, job)
        return result

    def caisse_ap_status(self, payment_uuid):
        """The latest attempt of a payment, swept to unknown when lost."""
        transaction = self._caisse_ap_checked_transaction(payment_uuid)
        if transaction._is_overdue():
            transaction._sweep_lost()
        return transaction.with_env(self.env)._pos_dict()

    def caisse_ap_cancel(self, payment_uuid):
        """Record the cashier's cancel request (the terminal has no abort message)."""
        transaction = self._caisse_ap_checked_transaction(payment_uuid)
        transaction._sweep_lost()
        transaction._request_cancel()
        return transaction.with_env(self.env)._pos_dict()

    # ------------------------------------------------------------------
    # Checks shared by the RPCs
    # ------------------------------------------------------------------
    def _caisse_ap_parse_start(self, data):
        _ = self.env._
        if not isinstance(data, dict):
            raise UserError(_("Invalid payment terminal request."))
        payment_uuid = self._caisse_ap_check_uuid(data.get("payment_uuid"))
        amount = data.get("amount")
        if (
            isinstance(amount, bool)
            or not isinstance(amount, (int, float))
            or not math.isfinite(amount)
        ):
            raise UserError(_("Invalid amount for the payment terminal: %s", amount))
        session_id = data.get("pos_session_id")
        if isinstance(session_id, bool) or not isinstance(session_id, int):
            raise UserError(_("Invalid Point of Sale session."))
        order_uuid = data.get("order_uuid") or ""
        if not isinstance(order_uuid, str) or len(order_uuid) > MAX_UUID_LENGTH:
            raise UserError(_("Invalid order reference."))
        refunded = data.get("refunded_order_ids") or []
        if (
            not isinstance(refunded, list)
            or len(refunded) > MAX_REFUNDED_ORDERS
            or not all(
                isinstance(order_id, int) and not isinstance(order_id, bool)
                for order_id in refunded
            )
        ):
            raise UserError(_("Invalid reference to the refunded orders."))
        result_channel = data.get("result_channel") or ""
        if not isinstance(result_channel, str) or (
            result_channel and not RESULT_CHANNEL.fullmatch(result_channel)
        ):
            raise UserError(_("Invalid result channel for the payment terminal."))
        return {
            "start_key": self._caisse_ap_check_start_key(data.get("start_key")),
            "result_channel": result_channel,
            "refunded_order_ids": sorted(set(refunded)),
            "payment_uuid": payment_uuid,
            "order_uuid": order_uuid,
            "amount": float(amount),
            "pos_session_id": session_id,
            "retry": data.get("retry") is True,
        }

    @api.model
    def _caisse_ap_check_start_key(self, start_key):
        """The key of a start request, or False when it has none."""
        if start_key is None or start_key == "":
            return False
        if not isinstance(start_key, str) or not START_KEY.fullmatch(start_key):
            raise UserError(self.env._("Invalid payment request key."))
        return start_key

    def _caisse_ap_check_uuid(self, payment_uuid):
        if (
            not isinstance(payment_uuid, str)
            or not 0 < len(payment_uuid) <= MAX_UUID_LENGTH
            or not all(" " < char <= "~" for char in payment_uuid)
        ):
            raise UserError(self.env._("Invalid payment reference."))
        return payment_uuid

    def _caisse_ap_check_method(self, settings=START_FIELDS):
        """The caller may use this method: a POS user, an active Caisse-AP method
        of one of the caller's companies. ``settings`` are read on the way."""
        _ = self.env._
        if len(self) != 1:
            raise UserError(_("Exactly one payment method is expected."))
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            raise AccessError(
                _("Only Point of Sale users can use the payment terminal.")
            )
        # One query: the caller's record rules in a subquery, the settings a
        # payment uses read (as superuser: some are managers' fields).
        visible = self.with_context(active_test=False)._search([("id", "=", self.id)])
        method = (
            self.sudo()
            .with_context(active_test=False)
            .search_fetch([("id", "in", visible)], list(settings))
        )
        if not method:
            self._caisse_ap_method_refusal()
        if not method.active or method.use_payment_terminal != TERMINAL_KEY:
            raise UserError(
                _(
                    "The payment method %s is not an active Caisse-AP payment "
                    "terminal.",
                    method.display_name,
                )
            )

    def _caisse_ap_method_refusal(self):
        """Raise why the caller cannot see this method (missing, another
        company, a record rule)."""
        method = self.sudo()
        if not method.exists():
            raise UserError(self.env._("This payment method no longer exists."))
        if method.company_id and method.company_id not in self.env.companies:
            raise AccessError(
                self.env._(
                    "The payment method %s belongs to another company.",
                    method.display_name,
                )
            )
        self.check_access("read")
        raise AccessError(self.env._("You cannot use this payment method."))

    def _caisse_ap_checked_transaction(self, payment_uuid):
        payment_uuid = self._caisse_ap_check_uuid(payment_uuid)
        self._caisse_ap_check_method(CHECK_FIELDS)
        transaction = self.env["pos.caisse.ap.transaction"]._latest_for_status(
            payment_uuid
        )
        if not transaction or transaction.payment_method_id != self:
            raise UserError(
                self.env._("No terminal transaction was found for this payment.")
            )
        self.env["pos.session"]._caisse_ap_check_for_payment(
            transaction.session_id.id, self, currencies=False
        )
        return transaction

    # ------------------------------------------------------------------
    # Payment methods whose terminal is reached through a shop relay.
    # ------------------------------------------------------------------
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

    def _caisse_ap_probe_through(self, relay):
        """Queue a connection test for the relay and wait for its answer."""
        answer = self.env["pos.caisse.ap.relay.probe"]._caisse_ap_ask(
            {
                "relay_id": relay.id,
                "host": self.fr_caisse_ap_ip_address,
                "port": self.fr_caisse_ap_ip_port,
            },
            PROBE_WAIT,
        )
        if answer is None:
            return False, self.env._(
                "the shop relay %s did not answer the test in time", relay.name
            )
        return answer["ok"], answer["reason"]
