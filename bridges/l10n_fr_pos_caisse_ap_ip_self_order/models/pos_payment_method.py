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
        """Start (or find again) the terminal payment of a kiosk order."""
        method = self.sudo()
        order = order.sudo()
        method._caisse_ap_kiosk_check(order)
        method._caisse_ap_kiosk_check_prices(order)
        currency = order.currency_id
        amount = currency.round(order.amount_total - order.amount_paid)
        if currency.compare_amounts(amount, 0) <= 0:
            raise UserError(self.env._("This order has nothing left to pay."))
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

    def _caisse_ap_kiosk_check_prices(self, order):
        """The order costs what the POS's prices say, not what the kiosk claims.

        Odoo 18.0's kiosk endpoint prices combo lines again but keeps the unit
        price the kiosk sent for every other line: priced here, an order the
        kiosk made cheaper is refused before the terminal is asked.
        """
        config = order.config_id
        pricelist = config.pricelist_id
        expected = 0.0
        for line in order.lines:
            if line.combo_line_ids or line.combo_parent_id:
                expected += line.price_subtotal_incl  # priced again by Odoo
                continue
            product = line.product_id
            price = (
                pricelist._get_product_price(product, quantity=line.qty)
                if pricelist
                else product.lst_price
            )
            price += sum(line.attribute_value_ids.mapped("price_extra"))
            taxes = product.taxes_id._filter_taxes_by_company(order.company_id)
            if order.fiscal_position_id:
                taxes = order.fiscal_position_id.map_tax(taxes)
            expected += taxes.compute_all(price, order.currency_id, line.qty, product)[
                "total_included"
            ]
        if order.currency_id.compare_amounts(order.amount_total, expected) < 0:
            _logger.warning(
                "Caisse-AP kiosk order %s: total %s below the POS's prices (%s): "
                "refused, nothing sent to the terminal",
                order.uuid,
                order.amount_total,
                expected,
            )
            raise UserError(
                self.env._(
                    "The prices of this order do not match the shop's: please "
                    "order again or pay at the counter."
                )
            )

    def _caisse_ap_kiosk_check(self, order):
        """The order is an unpaid order of an open kiosk that offers this method."""
        _ = self.env._
        config = order.config_id
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
