from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_amount

from .pos_payment_method import TERMINAL_KEY

JOURNAL_ACTION = "l10n_fr_pos_caisse_ap_ip.action_pos_caisse_ap_transaction"


class PosSession(models.Model):
    _inherit = "pos.session"

    caisse_ap_total_ids = fields.One2many(
        "pos.caisse.ap.session.total",
        "session_id",
        string="Payment Terminal Totals",
        readonly=True,
    )
    caisse_ap_attention_count = fields.Integer(
        string="Terminal Transactions to Review",
        compute="_compute_caisse_ap_attention_count",
    )

    def _compute_caisse_ap_attention_count(self):
        for session in self:
            session.caisse_ap_attention_count = len(
                session._caisse_ap_attention_transactions()
            )

    def _caisse_ap_attention_transactions(self):
        self.ensure_one()
        return (
            self.env["pos.caisse.ap.transaction"]
            .sudo()
            .search([("session_id", "=", self.id), ("needs_attention", "=", True)])
        )

    def action_caisse_ap_attention(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(JOURNAL_ACTION)
        action["domain"] = [("session_id", "=", self.id)]
        action["context"] = {"search_default_needs_attention": 1}
        return action

    # ------------------------------------------------------------------
    # Closing screen of the POS
    # ------------------------------------------------------------------
    def get_closing_control_data(self):
        data = super().get_closing_control_data()
        data["caisse_ap"] = self._caisse_ap_closing_data()
        return data

    def _caisse_ap_closing_data(self):
        """Per Caisse-AP method of the session, terminal and POS totals, and the
        journal entries to look at before closing."""
        self.ensure_one()
        methods = self.payment_method_ids.filtered(
            lambda m: m.use_payment_terminal == TERMINAL_KEY
        )
        totals = {total.payment_method_id: total for total in self.caisse_ap_total_ids}
        rows = []
        for method in methods | self.caisse_ap_total_ids.payment_method_id:
            total = totals.get(method)
            rows.append(
                {
                    "id": method.id,
                    "name": method.name,
                    "terminal_amount": total.terminal_amount if total else 0.0,
                    "pos_amount": total.pos_amount if total else 0.0,
                    "difference": total.difference if total else 0.0,
                }
            )
        attention = self._caisse_ap_attention_transactions()
        return {
            "methods": rows,
            "items": attention._caisse_ap_attention_items(),
            "journal_action": JOURNAL_ACTION,
        }

    def caisse_ap_closing_items_shown(self, transaction_ids):
        """The closing screen showed these entries: say so in the session's chatter."""
        self.ensure_one()
        _ = self.env._
        if not self.env.user.has_group("point_of_sale.group_pos_user"):
            raise AccessError(_("Only Point of Sale users can close a session."))
        self.check_access("read")
        if not isinstance(transaction_ids, list) or not all(
            isinstance(tid, int) and not isinstance(tid, bool)
            for tid in transaction_ids
        ):
            raise UserError(_("Invalid list of terminal transactions."))
        transactions = (
            self.env["pos.caisse.ap.transaction"]
            .sudo()
            .search([("id", "in", transaction_ids), ("session_id", "=", self.id)])
        )
        items = transactions._caisse_ap_attention_items()
        if not items:
            return False
        lines = Markup("").join(
            Markup('<li><a href="/odoo/action-%s/%s">%s</a>: %s, %s</li>')
            % (
                JOURNAL_ACTION,
                item["id"],
                item["reference"],
                format_amount(self.env, item["amount"], self.currency_id),
                "; ".join(item["reasons"]),
            )
            for item in items
        )
        body = Markup("<p>%s</p><ul>%s</ul>") % (
            _(
                "The closing screen showed %s terminal transaction(s) needing "
                "attention:",
                len(items),
            ),
            lines,
        )
        self.sudo().message_post(body=body, author_id=self.env.user.partner_id.id)
        return True
