"""A credit on the terminal gives back money that came through it.

The refunded orders must have been paid through approved Caisse-AP
transactions, and the credits against them may not exceed what those
approved. Checked when a refund starts, before anything is recorded or sent.
"""

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount

# Credits that may have given money back: they count against what is left to refund.
CREDITED_STATES = ("pending", "sent", "cancel_requested", "success", "unknown")


class PosCaisseApRefundMixin(models.AbstractModel):
    _name = "pos.caisse.ap.refund.mixin"
    _description = "Caisse-AP refund rule"

    @api.model
    def _caisse_ap_refunded_orders(self, session, order_ids):
        """The refunded orders, all of them of the session's company."""
        orders = self.env["pos.order"].sudo().browse(order_ids).exists()
        company = session.config_id.company_id
        if len(orders) != len(order_ids) or orders.company_id - company:
            raise UserError(
                self.env._(
                    "The refunded order was not found in the company %s.",
                    company.name,
                )
            )
        return orders

    @api.model
    def _caisse_ap_check_refund(self, method, session, values):
        """A credit on the terminal gives back money that came through it.

        The refunded orders (from the POS's refund lines) must belong to the
        session's company and have been paid through approved Caisse-AP
        transactions; the credit may not exceed what those approved minus what
        was already credited (or is being credited) against them. Without
        refunded orders, a refund passes only when the method allows it.
        Raises a UserError; nothing is recorded nor sent then.
        """
        method.ensure_one()
        _ = self.env._
        if values["amount"] >= 0:
            return
        method = method.sudo()
        order_ids = values["refunded_order_ids"]
        if not order_ids:
            if method.fr_caisse_ap_ip_allow_unreferenced_refund:
                return
            raise UserError(
                _(
                    "A refund on the payment terminal must come from the order being "
                    "refunded: use Refund on that order in the POS. A manager can "
                    'check "Allow refunds without an original order" on payment '
                    "method %s.",
                    method.display_name,
                )
            )
        orders = self._caisse_ap_refunded_orders(session, order_ids)
        company = session.config_id.company_id
        transactions = self.env["pos.caisse.ap.transaction"].sudo()
        paid = transactions.search(
            [
                ("company_id", "=", company.id),
                ("direction", "=", "debit"),
                ("state", "=", "success"),
                "|",
                ("pos_order_id", "in", orders.ids),
                ("order_uuid", "in", orders.mapped("uuid")),
            ]
        )
        names = ", ".join(orders.mapped("name"))
        if not paid:
            raise UserError(
                _(
                    "%s was not paid on a Caisse-AP payment terminal: refund it with "
                    "another payment method.",
                    names,
                )
            )
        paid._caisse_ap_refund_claim()
        # Every attempt counts, this payment's earlier ones too: an attempt
        # whose outcome is unknown may have given the money back already.
        credited = transactions.search(
            [
                ("direction", "=", "credit"),
                ("state", "in", CREDITED_STATES),
                ("refunded_order_ids", "in", orders.ids),
            ]
        )
        currency = session.config_id.currency_id
        # Never more than the terminal was asked, whatever an answer said.
        approved = sum(min(t.amount_authorised or t.amount, t.amount) for t in paid)
        already = sum(credited.mapped("amount"))
        available = approved - already
        if currency.compare_amounts(-values["amount"], available) > 0:
            raise UserError(
                _(
                    "The refund of %(amount)s is more than the terminal can still give "
                    "back for %(orders)s: %(available)s (%(approved)s paid on the "
                    "terminal, %(credited)s already refunded).",
                    amount=format_amount(self.env, -values["amount"], currency),
                    orders=names,
                    available=format_amount(self.env, max(available, 0), currency),
                    approved=format_amount(self.env, approved, currency),
                    credited=format_amount(self.env, already, currency),
                )
            )

    def _caisse_ap_refund_claim(self):
        """Serialise the refunds of these approved payments across transactions.

        Locking the rows is not enough: Odoo's transactions are REPEATABLE READ,
        so a refund that waited for the lock would still read, from its older
        snapshot, the credits as they were before the other refund committed,
        and both would pass. Updating the rows makes PostgreSQL fail the later
        one with a serialization error instead; Odoo tries the request again
        with a fresh snapshot, in which the first credit counts.
        """
        if not self:
            return
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET write_date = (now() AT TIME ZONE 'UTC') WHERE id IN %s",
                SQL.identifier(self._table),
                tuple(sorted(self.ids)),
            ),
            # A concurrent refund of the same payments: an expected conflict.
            log_exceptions=False,
        )
        self.invalidate_recordset(["write_date"])
