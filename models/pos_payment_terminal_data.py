"""What a Caisse-AP payment line keeps of the terminal's answer, in the fields
Odoo's own terminal addons fill (see README, "Payment line data").

The server's journal is the source: when a line is linked to its transaction,
these fields are written from it, whatever the POS sent. A line never keeps more
of the card than its last 4 digits, and never its expiry date.
"""

import re

from odoo import api, fields, models

from .pos_payment_method import TERMINAL_KEY

# Card scheme of the Caisse-AP application codes that name exactly one scheme.
CARD_BRANDS = {
    "001": "CB",
    "003": "CB",
    "00B": "CB",
    "002": "American Express",
    "00D": "American Express",
    "006": "Diners Club",
    "009": "JCB",
    "00G": "UnionPay",
    "00U": "UnionPay",
}


def last4(card_no):
    """The last 4 digits of whatever card number was given ('' when none)."""
    digits = re.sub(r"\D", "", card_no or "")
    return digits[-4:]


class PosPayment(models.Model):
    _inherit = "pos.payment"

    # The journal looks payment lines up by uuid (forced payments, see
    # pos_caisse_ap_transaction_attention).
    uuid = fields.Char(index="btree_not_null")

    @api.model_create_multi
    def create(self, vals_list):
        methods = self.env["pos.payment.method"].browse(
            {
                vals["payment_method_id"]
                for vals in vals_list
                if "payment_method_id" in vals
            }
        )
        terminal_methods = set(
            methods.filtered(lambda m: m.use_payment_terminal == TERMINAL_KEY).ids
        )
        for vals in vals_list:
            if vals.get("payment_method_id") in terminal_methods and vals.get(
                "card_no"
            ):
                vals["card_no"] = last4(vals["card_no"])
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("card_no") and any(
            payment.payment_method_id.use_payment_terminal == TERMINAL_KEY
            for payment in self
        ):
            vals = dict(vals, card_no=last4(vals["card_no"]))
        result = super().write(vals)
        if vals.get("caisse_ap_transaction_id"):
            self._caisse_ap_fill_terminal_data()
        return result

    def _caisse_ap_fill_terminal_data(self):
        for payment in self:
            transaction = payment.caisse_ap_transaction_id.sudo()
            if transaction.state != "success":
                continue
            values = transaction._caisse_ap_payment_line_values()
            if not payment.ticket and transaction.receipt_text:
                values["ticket"] = transaction.receipt_text
            # Derived from server records: the cashier needs no write access.
            payment.sudo().write(values)


class PosCaisseApTransaction(models.Model):
    _inherit = "pos.caisse.ap.transaction"

    def _caisse_ap_payment_line_values(self):
        """The pos.payment fields of an approved transaction."""
        self.ensure_one()
        if self.mode == "card":
            payment_mode = self.read_mode_label or False
        else:
            payment_mode = dict(self._fields["mode"]._description_selection(self.env))[
                self.mode
            ]
        return {
            "card_type": self.application_label or False,
            "card_brand": CARD_BRANDS.get(self.application_code or "", False),
            "card_no": last4(self.card_last4) or False,
            "payment_method_authcode": self.auth_code or False,
            "payment_method_payment_mode": payment_mode,
            "transaction_id": self.correlation_id or False,
        }
