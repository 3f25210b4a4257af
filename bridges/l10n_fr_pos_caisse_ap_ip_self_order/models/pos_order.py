"""A kiosk order as the server prices it, and the till's side of a kiosk
payment whose outcome never came.

Odoo's tills load the kiosks' unpaid orders (the counter takes over what a
kiosk could not finish). When such an order has a kiosk card payment whose
outcome is unknown, the till asks the cashier what the terminal says before
any other payment is taken: these are the two calls it makes.
"""

import logging

from odoo import models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_round

from .pos_payment_method import KIOSK_PAYMENT_PREFIX

_logger = logging.getLogger(__name__)


class PosOrder(models.Model):
    _inherit = "pos.order"

    def caisse_ap_kiosk_unsettled(self):
        """The kiosk payments of this order that wait for the staff."""
        self._caisse_ap_kiosk_check_till_user()
        return self._caisse_ap_kiosk_unsettled()._caisse_ap_kiosk_till_dict()

    def caisse_ap_kiosk_settle(self, transaction_id, paid):
        """Record what the cashier found on the terminal; returns the order's state."""
        self._caisse_ap_kiosk_check_till_user()
        if (
            isinstance(transaction_id, bool)
            or not isinstance(transaction_id, int)
            or not isinstance(paid, bool)
        ):
            raise UserError(self.env._("Invalid kiosk payment settlement."))
        transaction = self._caisse_ap_kiosk_unsettled().filtered(
            lambda t: t.id == transaction_id
        )
        if not transaction:
            raise UserError(
                self.env._(
                    "This kiosk payment does not wait to be settled on order %s.",
                    self.pos_reference,
                )
            )
        transaction._caisse_ap_kiosk_settle_at_till(paid)
        return {"state": self.sudo().state}

    def _caisse_ap_kiosk_check_till_user(self):
        """A POS user who may read this order (its company's record rules)."""
        self.ensure_one()
        if not self.env.user.has_group("point_of_sale.group_pos_user"):
            raise AccessError(
                self.env._("Only Point of Sale users can settle kiosk payments.")
            )
        self.check_access("read")

    def _caisse_ap_kiosk_unsettled(self):
        transactions = self.env["pos.caisse.ap.transaction"].sudo()
        return transactions.search(
            [
                *transactions._caisse_ap_kiosk_unsettled_domain(),
                ("kiosk_order_id", "=", self.id),
            ],
            order="attempt",
        )

    def _caisse_ap_kiosk_booked_payments(self):
        """The payment lines of this order that its kiosk payments booked: an
        approval, or a payment the staff found paid on the terminal."""
        self.ensure_one()
        order = self.sudo()
        kiosk_uuid = KIOSK_PAYMENT_PREFIX + order.uuid
        settled_paid = order.env["pos.caisse.ap.transaction"].search_count(
            [
                ("kiosk_order_id", "=", order.id),
                ("kiosk_settlement", "=", "paid"),
            ],
            limit=1,
        )
        return order.payment_ids.filtered(
            lambda payment: (
                payment.uuid == kiosk_uuid
                and (
                    settled_paid
                    or (
                        payment.caisse_ap_transaction_id.state == "success"
                        and payment.caisse_ap_transaction_id.kiosk_order_id == order
                    )
                )
            )
        )

    # ------------------------------------------------------------------
    # What the order costs, by the server's prices
    # ------------------------------------------------------------------
    def _caisse_ap_kiosk_server_total(self):
        """The order's total at the POS's prices, whatever the kiosk posted.

        Odoo's kiosk endpoint keeps the unit price the kiosk sends for every
        line but the combo items, and a combo's own line at its posted price:
        each line is priced again here from the product, its attributes, the
        POS's pricelist, the company's taxes and the POS's fiscal positions.
        Raises a UserError when a line cannot be priced that way (a combo item
        that is not one of its combo's, a foreign attribute value).
        """
        self.ensure_one()
        order = self.sudo()
        config = order.config_id
        fiscal_position = order.fiscal_position_id
        if fiscal_position and fiscal_position not in (
            config.default_fiscal_position_id | config.takeaway_fp_id
        ):
            order._caisse_ap_kiosk_unpriceable(f"fiscal position {fiscal_position.id}")
        total = 0.0
        for line in order.lines:
            if line.combo_parent_id.order_id == order:
                continue  # priced with its combo
            if line.combo_parent_id:
                order._caisse_ap_kiosk_unpriceable("combo item of another order")
            if line.combo_line_ids:
                total += order._caisse_ap_kiosk_combo_total(line)
            else:
                unit = order._caisse_ap_kiosk_unit_price(line.product_id, line)
                total += order._caisse_ap_kiosk_taxed(line.product_id, unit, line.qty)
        return order.currency_id.round(total)

    def _caisse_ap_kiosk_check_total(self):
        """The server's price of this order; refused when its total differs."""
        due = self._caisse_ap_kiosk_server_total()
        if self.currency_id.compare_amounts(self.amount_total, due):
            self._caisse_ap_kiosk_unpriceable(
                f"total {self.amount_total} (the POS's prices make {due})"
            )
        return due

    def _caisse_ap_kiosk_unit_price(self, product, line):
        """The POS's price of ``product`` for ``line``, its attributes included."""
        pricelist = self.config_id.pricelist_id
        price = (
            pricelist._get_product_price(product, quantity=line.qty)
            if pricelist
            else product.lst_price
        )
        return price + self._caisse_ap_kiosk_attributes_extra(product, line)

    def _caisse_ap_kiosk_attributes_extra(self, product, line):
        attributes = line.attribute_value_ids
        if attributes.product_tmpl_id - product.product_tmpl_id:
            self._caisse_ap_kiosk_unpriceable("attribute of another product")
        return sum(attributes.mapped("price_extra"))

    def _caisse_ap_kiosk_taxed(self, product, unit_price, qty):
        company = self.config_id.company_id
        taxes = product.taxes_id._filter_taxes_by_company(company)
        if self.fiscal_position_id:
            taxes = self.fiscal_position_id.map_tax(taxes)
        return taxes.compute_all(unit_price, self.currency_id, qty, product)[
            "total_included"
        ]

    def _caisse_ap_kiosk_combo_total(self, parent):
        """A combo costs its product's price, spread over its items as the POS
        spreads it, plus each item's extra price; its own line costs nothing.

        Each item must be one item of each of the product's combos, in the
        combo's quantity.
        """
        items = parent.combo_line_ids
        combos = items.combo_item_id.combo_id
        if (
            len(items) != len(parent.product_id.combo_ids)
            or combos != parent.product_id.combo_ids
            or any(
                item.product_id != item.combo_item_id.product_id
                or item.qty != parent.qty
                for item in items
            )
        ):
            self._caisse_ap_kiosk_unpriceable(f"combo {parent.product_id.id}")
        parent_price = self._caisse_ap_kiosk_unit_price(parent.product_id, parent)
        base_total = sum(item.combo_item_id.combo_id.base_price for item in items)
        factor = parent_price / base_total if base_total > 0 else 1
        digits = self.env["decimal.precision"].precision_get("Product Price")
        remaining = parent_price
        total = 0.0
        for index, item in enumerate(items):
            share = float_round(
                item.combo_item_id.combo_id.base_price * factor,
                precision_digits=digits,
            )
            remaining -= share
            if index == len(items) - 1:
                share += remaining
            unit = (
                share
                + item.combo_item_id.extra_price
                + self._caisse_ap_kiosk_attributes_extra(item.product_id, item)
            )
            total += self._caisse_ap_kiosk_taxed(item.product_id, unit, item.qty)
        return total

    def _caisse_ap_kiosk_unpriceable(self, what):
        _logger.warning(
            "Caisse-AP self-order %s: %s: refused by the POS's prices, nothing "
            "stored nor sent to the terminal",
            self.uuid,
            what,
        )
        raise UserError(
            self.env._(
                "The prices of this order do not match the shop's: please "
                "order again or pay at the counter."
            )
        )
