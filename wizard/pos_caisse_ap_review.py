from odoo import fields, models


class PosCaisseApReview(models.TransientModel):
    """The dialog in which a manager writes what was checked on an entry."""

    _name = "pos.caisse.ap.review"
    _description = "Review of Caisse-AP transactions needing attention"

    transaction_ids = fields.Many2many(
        "pos.caisse.ap.transaction", string="Transactions", required=True
    )
    note = fields.Text(
        required=True,
        help="What was checked or done, e.g. refunded the customer on the terminal.",
    )

    def action_confirm(self):
        self.ensure_one()
        self.transaction_ids._caisse_ap_mark_reviewed(self.note)
        return {"type": "ir.actions.act_window_close"}
