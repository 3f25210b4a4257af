"""Payment lines paid on a Caisse-AP terminal.

A line is linked to the approval that paid it, and the fields Odoo's own
terminal addons fill (see README, "Payment line data") are written from that
journal entry, whatever the POS sent. A line never keeps more of the card
than its last 4 digits, and never its expiry date.
"""

import logging
import re

from odoo import api, fields, models

from .pos_payment_method import TERMINAL_KEY

_logger = logging.getLogger(__name__)

# A write of any of these may change which transaction paid the line.
LINK_FIELDS = {"uuid", "amount", "payment_method_id", "pos_order_id"}

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

    # The journal looks payment lines up by uuid (forced payments, needs attention).
    uuid = fields.Char(index="btree_not_null")
    caisse_ap_transaction_id = fields.Many2one(
        "pos.caisse.ap.transaction",
        string="Terminal Transaction",
        readonly=True,
        index="btree_not_null",
        help="Approved Caisse-AP exchange that paid this line: same payment and "
        "order references, same method, same amount.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        self._caisse_ap_keep_last4(vals_list)
        payments = super().create(vals_list)
        payments._caisse_ap_link_transactions()
        return payments

    def write(self, vals):
        if vals.get("card_no") and any(
            payment.payment_method_id.use_payment_terminal == TERMINAL_KEY
            for payment in self
        ):
            vals = dict(vals, card_no=last4(vals["card_no"]))
        result = super().write(vals)
        # A draft order synced again rewrites its payment lines.
        if LINK_FIELDS & set(vals):
            self._caisse_ap_link_transactions()
        if vals.get("caisse_ap_transaction_id"):
            self._caisse_ap_fill_terminal_data()
        return result

    @api.model
    def _caisse_ap_keep_last4(self, vals_list):
        """Reduce the card numbers the POS sends for terminal lines to 4 digits."""
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

    def _caisse_ap_fill_terminal_data(self):
        for payment in self:
            transaction = payment.caisse_ap_transaction_id.sudo()
            if transaction.state != "success":
                continue
            values = payment._caisse_ap_payment_line_values(transaction)
            if not payment.ticket and transaction.receipt_text:
                values["ticket"] = transaction.receipt_text
            # Derived from server records: the cashier needs no write access.
            payment.sudo().write(values)

    @api.model
    def _caisse_ap_payment_line_values(self, transaction):
        """The pos.payment fields of an approved transaction."""
        transaction.ensure_one()
        if transaction.mode == "card":
            payment_mode = transaction.read_mode_label or False
        else:
            payment_mode = dict(
                transaction._fields["mode"]._description_selection(transaction.env)
            )[transaction.mode]
        return {
            "card_type": transaction.application_label or False,
            "card_brand": CARD_BRANDS.get(transaction.application_code or "", False),
            "card_no": last4(transaction.card_last4) or False,
            "payment_method_authcode": transaction.auth_code or False,
            "payment_method_payment_mode": payment_mode,
            "transaction_id": transaction.correlation_id or False,
        }

    def _caisse_ap_link_transactions(self):
        """Link each terminal payment line to the approval that paid it.

        The POS only names the payment (its uuid): the server's record must
        agree on everything else, or nothing is linked and the approval is
        flagged for a manager (``link_mismatch``).
        """
        payments = self.filtered(
            lambda p: (
                p.uuid and p.payment_method_id.use_payment_terminal == TERMINAL_KEY
            )
        )
        if not payments:
            return
        approvals = (
            self.env["pos.caisse.ap.transaction"]
            .sudo()
            .search(
                [
                    ("payment_uuid", "in", payments.mapped("uuid")),
                    ("state", "=", "success"),
                ]
            )
        )
        by_uuid = {approval.payment_uuid: approval for approval in approvals}
        for payment in payments.sudo():
            approval = by_uuid.get(payment.uuid)
            if not approval:
                # Declined, unknown and forced done, or never sent: no approval.
                if payment.caisse_ap_transaction_id:
                    payment.caisse_ap_transaction_id = False
                continue
            problem = payment._caisse_ap_link_problem(approval)
            if problem:
                payment._caisse_ap_refuse_link(approval, problem)
                continue
            vals = {}
            if payment.caisse_ap_transaction_id != approval:
                vals["caisse_ap_transaction_id"] = approval.id
            if not payment.card_no and approval.card_last4:
                vals["card_no"] = approval.card_last4
            if not payment.payment_method_authcode and approval.auth_code:
                vals["payment_method_authcode"] = approval.auth_code
            if vals:
                # Derived from server records (sudo): no need for the cashier's
                # write access. None of these fields starts a new link check.
                payment.write(vals)
            if approval.pos_order_id != payment.pos_order_id:
                approval.pos_order_id = payment.pos_order_id

    def _caisse_ap_link_problem(self, approval):
        """Why this line may not be linked to ``approval`` (English, for the log)."""
        self.ensure_one()
        if approval.payment_method_id != self.payment_method_id:
            return "another payment method"
        if not approval.order_uuid or approval.order_uuid != self.pos_order_id.uuid:
            return f"another order ({approval.order_uuid or 'none'})"
        sign = -1 if approval.direction == "credit" else 1
        approved = sign * (approval.amount_authorised or approval.amount)
        if approval.currency_id.compare_amounts(approved, self.amount):
            return f"another amount ({approved} approved)"
        others = self.search_count(
            [("caisse_ap_transaction_id", "=", approval.id), ("id", "!=", self.id)],
            limit=1,
        )
        if others:
            return "already linked to another payment line"
        return ""

    def _caisse_ap_refuse_link(self, approval, problem):
        self.ensure_one()
        if self.caisse_ap_transaction_id:
            self.write({"caisse_ap_transaction_id": False})
        if not approval.link_mismatch:
            approval.link_mismatch = True
        _logger.warning(
            "Caisse-AP %s: payment %s attempt %s not linked to payment line %s of "
            "order %s (%s %s): %s; marked as needing attention",
            approval.terminal_key,
            approval.payment_uuid,
            approval.attempt,
            self.id,
            self.pos_order_id.uuid,
            self.amount,
            self.currency_id.name,
            problem,
        )
