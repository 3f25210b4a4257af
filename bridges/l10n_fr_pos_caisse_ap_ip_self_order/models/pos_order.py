"""The till's side of a kiosk payment whose outcome never came.

Odoo's tills load the kiosks' unpaid orders (the counter takes over what a
kiosk could not finish). When such an order has a kiosk card payment whose
outcome is unknown, the till asks the cashier what the terminal says before
any other payment is taken: these are the two calls it makes.
"""

from odoo import models
from odoo.exceptions import AccessError, UserError


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
