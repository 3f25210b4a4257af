from odoo import api, fields, models

from .pos_payment_method import TERMINAL_KEY


class PosPayment(models.Model):
    _inherit = "pos.payment"

    caisse_ap_transaction_id = fields.Many2one(
        "pos.caisse.ap.transaction",
        string="Terminal Transaction",
        readonly=True,
        index="btree_not_null",
        help="Caisse-AP exchange that paid this line, found from the payment "
        "reference.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        payments = super().create(vals_list)
        payments._caisse_ap_link_transactions()
        return payments

    def _caisse_ap_link_transactions(self):
        """Link each terminal payment to its transaction, trusting the server's
        record rather than what the POS sent (a forced payment after an unknown
        outcome is linked to that unknown attempt)."""
        payments = self.filtered(
            lambda p: (
                p.uuid and p.payment_method_id.use_payment_terminal == TERMINAL_KEY
            )
        )
        if not payments:
            return
        transactions = (
            self.env["pos.caisse.ap.transaction"]
            .sudo()
            .search(
                [
                    ("payment_uuid", "in", payments.mapped("uuid")),
                    ("state", "in", ("success", "unknown")),
                ],
                order="attempt desc",
            )
        )
        by_uuid = {}
        for transaction in transactions:
            best = by_uuid.get(transaction.payment_uuid)
            if not best or (transaction.state == "success" and best.state != "success"):
                by_uuid[transaction.payment_uuid] = transaction
        for payment in payments:
            transaction = by_uuid.get(payment.uuid)
            if (
                not transaction
                or transaction.payment_method_id != payment.payment_method_id
            ):
                continue
            vals = {"caisse_ap_transaction_id": transaction.id}
            if transaction.state == "success":
                if not payment.card_no and transaction.card_last4:
                    vals["card_no"] = transaction.card_last4
                if not payment.payment_method_authcode and transaction.auth_code:
                    vals["payment_method_authcode"] = transaction.auth_code
            # Derived from server records: no need for the cashier to have write access.
            payment.sudo().write(vals)
            transaction.pos_order_id = payment.pos_order_id
