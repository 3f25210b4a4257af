"""Caisse-AP card methods on the self-order kiosk's payment page.

A kiosk payment goes through the same journal as a till's: one attempt at a
time per terminal, idempotent per order, swept, relayed. What differs is who
decides: the kiosk names an order and a method, the server computes the
amount, and pays the order itself when the terminal approves.
"""

import logging

from odoo import api, models
from odoo.exceptions import UserError
from odoo.osv import expression

from odoo.addons.l10n_fr_pos_caisse_ap_ip.models.pos_caisse_ap_transaction import (
    FINAL_STATES,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.models.pos_payment_method import (
    TERMINAL_KEY,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.runtime import worker

_logger = logging.getLogger(__name__)

# A kiosk pays one order once: its payments are named after the order, so a
# repeated request finds the attempt already running instead of charging twice.
KIOSK_PAYMENT_PREFIX = "kiosk-"


class PosPaymentMethod(models.Model):
    _inherit = "pos.payment.method"

    @api.model
    def _load_pos_self_data_domain(self, data):
        domain = super()._load_pos_self_data_domain(data)
        config = data["pos.config"]["data"][0]
        if config["self_ordering_mode"] != "kiosk":
            return domain
        # Card payments only (a kiosk takes no checks), of this kiosk's own POS.
        offered = self.env["pos.config"].sudo().browse(config["id"]).payment_method_ids
        caisse_ap = [
            ("use_payment_terminal", "=", TERMINAL_KEY),
            ("fr_caisse_ap_ip_mode", "=", "card"),
            ("id", "in", offered.ids),
        ]
        return expression.OR([caisse_ap, domain or [("id", "=", False)]])

    def _payment_request_from_kiosk(self, order):
        if self.use_payment_terminal != TERMINAL_KEY:
            return super()._payment_request_from_kiosk(order)
        transaction = self._caisse_ap_kiosk_start(order)
        return {"caisse_ap_state": transaction.state}

    def _caisse_ap_kiosk_start(self, order):
        """Start (or find again) the terminal payment of a kiosk order.

        The terminal is asked what the order costs at the server's prices,
        minus what approvals already paid of it; never what the kiosk says.
        """
        method = self.sudo()
        order = order.sudo()
        method._caisse_ap_kiosk_check(order)
        amount = method._caisse_ap_kiosk_amount_due(order)
        payment_uuid = KIOSK_PAYMENT_PREFIX + order.uuid
        transactions = self.env["pos.caisse.ap.transaction"].sudo()
        latest = transactions._latest(payment_uuid)
        if latest and latest.kiosk_order_id != order:
            raise UserError(self.env._("This payment belongs to another order."))
        values = {
            # Set by the kiosk's payment route: the key of the kiosk's request.
            "start_key": self._caisse_ap_check_start_key(
                self.env.context.get("caisse_ap_start_key")
            ),
            "payment_uuid": payment_uuid,
            "order_uuid": order.uuid,
            "amount": amount,
            "pos_session_id": order.session_id.id,
            # An unknown outcome waits for the staff: never sent again from here.
            "retry": False,
            "refunded_order_ids": [],
            "result_channel": "",
        }
        transaction, job = transactions._start(method, order.session_id, values)
        if not transaction.kiosk_order_id:
            transaction.kiosk_order_id = order
        if job:
            worker.launch(self.env, job)
        elif transaction.state in FINAL_STATES:
            # Asked again after the end (a reloaded kiosk): tell it again.
            transaction._caisse_ap_kiosk_notify()
        return transaction

    @api.model
    def _caisse_ap_kiosk_paid(self, config, order_values, payment_method_id):
        """The order that kiosk ``config`` posts (``order_values``) if the
        kiosk payment of method ``payment_method_id`` already paid it; no
        order if Odoo's endpoint may take it (a new order, or one still to
        pay). The kiosk's arguments are raw: checked here.

        A kiosk asks again when the reply to its payment request was lost; by
        then the order may be paid, and Odoo's endpoint, which takes draft
        orders only, would fail. Only the kiosk that holds the order (its
        POS's token, the order's uuid) and the method that paid it hear that
        it is paid; any other request for that order is refused.
        """
        orders = self.env["pos.order"].sudo()
        order_uuid = (
            order_values.get("uuid") if isinstance(order_values, dict) else None
        )
        if (
            isinstance(payment_method_id, bool)
            or not isinstance(payment_method_id, int)
            or not isinstance(order_uuid, str)
            or not order_uuid
        ):
            return orders
        method = self.sudo().browse(payment_method_id).exists()
        if method.use_payment_terminal != TERMINAL_KEY:
            return orders
        latest = (
            self.env["pos.caisse.ap.transaction"]
            .sudo()
            ._latest(
                KIOSK_PAYMENT_PREFIX + order_uuid,
                ["payment_method_id", "kiosk_order_id", "state", "kiosk_settlement"],
            )
        )
        order = latest.kiosk_order_id
        if not order or order.uuid != order_uuid or order.state == "draft":
            return orders
        if (
            latest.payment_method_id == method
            and order.config_id == config
            and latest._caisse_ap_kiosk_paid_by_terminal()
        ):
            return order
        raise UserError(self.env._("This order can no longer be paid on the kiosk."))

    def _caisse_ap_kiosk_amount_due(self, order):
        """What the terminal is asked: the order's server price minus the
        approvals booked on it.

        An order whose posted total differs from its server price (a line made
        cheaper, a combo priced below zero), or that carries a payment no
        approval of this addon booked (a line the kiosk made up), is refused
        before anything is sent.
        """
        currency = order.currency_id
        due = order._caisse_ap_kiosk_check_total()
        booked = order._caisse_ap_kiosk_booked_payments()
        if order.payment_ids - booked:
            _logger.warning(
                "Caisse-AP kiosk order %s carries payments no terminal approved: "
                "refused, nothing sent to the terminal",
                order.uuid,
            )
            raise UserError(
                self.env._(
                    "This order carries payments the terminal did not approve: "
                    "please pay at the counter."
                )
            )
        amount = currency.round(due - sum(booked.mapped("amount")))
        if currency.compare_amounts(amount, 0) <= 0:
            raise UserError(self.env._("This order has nothing left to pay."))
        return amount

    @api.model
    def _caisse_ap_kiosk_is_caisse_ap(self, payment_method_id):
        """Whether the kiosk names a Caisse-AP method (checked further by the
        kiosk's arguments); another method's id is Odoo's to answer, and
        anything but an id is refused (Odoo would browse a list of ids)."""
        if type(payment_method_id) is not int:
            raise UserError(self.env._("Invalid payment method."))
        method = self.sudo().browse(payment_method_id).exists()
        return method.use_payment_terminal == TERMINAL_KEY

    @api.model
    def _caisse_ap_kiosk_refuse_rewrite(self, attempt):
        _logger.warning(
            "Caisse-AP kiosk order %s: rewrite refused, its payment (attempt %s) is %s",
            attempt.order_uuid,
            attempt.attempt,
            attempt.state,
        )
        raise UserError(
            self.env._(
                "This order is being paid on the terminal, or is paid: it can no "
                "longer be changed."
            )
        )

    @api.model
    def _caisse_ap_kiosk_blocking_attempt(self, order_uuid):
        """The kiosk payment of that order that forbids changing it: running,
        approved, or with an outcome nobody knows yet."""
        transactions = self.env["pos.caisse.ap.transaction"].sudo()
        if not isinstance(order_uuid, str) or not order_uuid:
            return transactions
        latest = transactions._latest(KIOSK_PAYMENT_PREFIX + order_uuid)
        if latest and latest._blocks_new_attempt(retry=False):
            return latest
        return transactions

    def _caisse_ap_kiosk_check(self, order):
        """The order is an unpaid order of an open kiosk that offers this
        method, the kiosk whose token the request carried."""
        _ = self.env._
        config = order.config_id
        # Set by the kiosk's payment route once it checked the request.
        if self.env.context.get("caisse_ap_kiosk_config_id") != config.id:
            raise UserError(_("This order does not belong to this kiosk."))
        if (
            not self.active
            or self.fr_caisse_ap_ip_mode != "card"
            or config.self_ordering_mode != "kiosk"
            or self not in config.payment_method_ids
        ):
            raise UserError(
                _(
                    "The payment method %s cannot be used on this kiosk.",
                    self.display_name,
                )
            )
        if order.state != "draft" or order.session_id.state != "opened":
            raise UserError(_("This order can no longer be paid on the kiosk."))
