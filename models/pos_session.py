from typing import NamedTuple

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_amount

from .pos_payment_method import TERMINAL_KEY

JOURNAL_ACTION = "l10n_fr_pos_caisse_ap_ip.action_pos_caisse_ap_transaction"
# What the POS's currency is computed from: its journal, their companies.
CURRENCY_COLUMNS = SQL(
    """pos_config.journal_id,
       company.currency_id AS company_currency_id,
       journal.currency_id AS journal_currency_id,
       journal.company_id AS journal_company_id,
       journal_company.currency_id AS journal_company_currency_id,"""
)
CURRENCY_JOINS = SQL(
    """JOIN res_company company ON company.id = pos_config.company_id
  LEFT JOIN account_journal journal ON journal.id = pos_config.journal_id
  LEFT JOIN res_company journal_company ON journal_company.id = journal.company_id"""
)


class PaymentCheck(NamedTuple):
    """What a terminal payment needs to know of a session besides its fields."""

    readable: bool  # by the caller, record rules applied
    offered: bool  # the method is one of the session's POS


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

    @api.model
    def _caisse_ap_check_for_payment(self, session_id, method, currencies=True):
        """The session is open, readable by the caller; its POS offers
        ``method``. ``currencies``: what the POS's currency needs is read too."""
        _ = self.env._
        session = self.browse(session_id)
        missing = UserError(_("This Point of Sale session does not exist."))
        if not session:
            raise missing
        found = session._caisse_ap_read_for_payment(method, currencies)
        if found is None:
            raise missing
        config = session.sudo().config_id
        if config.company_id not in self.env.companies:
            raise AccessError(
                _("This Point of Sale session belongs to another company.")
            )
        if not found.readable:
            session.check_access("read")
            raise AccessError(_("You cannot use this Point of Sale session."))
        if session.sudo().state != "opened":
            raise UserError(
                _(
                    "The Point of Sale session %s is not open: the payment terminal "
                    "cannot be used.",
                    session.sudo().name,
                )
            )
        if not found.offered:
            raise UserError(
                _(
                    "The payment method %(method)s is not available in %(pos)s.",
                    method=method.sudo().display_name,
                    pos=config.display_name,
                )
            )
        return session

    def _caisse_ap_read_for_payment(self, method, currencies=True):
        """Read in one query what a terminal payment checks about this session;
        ``None`` when it does not exist.

        The session's state and POS, the POS's company go to the record cache;
        with ``currencies`` (a start records the amount), the POS's journal and
        the currencies of both too: the ORM then computes the POS's currency
        (and any override of that) without another query. A status or a
        cancel only checks: the smaller query is planned faster.
        """
        self.ensure_one()
        offered = self.env["pos.config"]._fields["payment_method_ids"]
        # Pending writes first: the cache gets what the query reads.
        self.flush_model(["state", "name", "config_id"])
        self.env["pos.config"].flush_model(
            ["company_id", "journal_id", "payment_method_ids"]
        )
        if currencies:
            self.env["account.journal"].flush_model(["currency_id", "company_id"])
            self.env["res.company"].flush_model(["currency_id"])
        visible = self._search([("id", "=", self.id)])
        self.env.cr.execute(
            SQL(
                """
                SELECT pos_session.state, pos_session.name, pos_session.config_id,
                       pos_config.company_id, %(currency_columns)s
                       pos_session.id IN %(visible)s AS readable,
                       EXISTS (
                           SELECT 1 FROM %(offered)s
                            WHERE %(offered_config)s = pos_config.id
                              AND %(offered_method)s = %(method)s
                       ) AS offered
                  FROM pos_session
                  JOIN pos_config ON pos_config.id = pos_session.config_id
                  %(currency_joins)s
                 WHERE pos_session.id = %(session)s
                """,
                currency_columns=CURRENCY_COLUMNS if currencies else SQL(),
                currency_joins=CURRENCY_JOINS if currencies else SQL(),
                visible=visible.subselect(),
                offered=SQL.identifier(offered.relation),
                offered_config=SQL.identifier(offered.column1),
                offered_method=SQL.identifier(offered.column2),
                method=method.id,
                session=self.id,
            )
        )
        row = self.env.cr.dictfetchone()
        if row is None:
            return None
        session = self.sudo()
        session._update_cache(
            {"state": row["state"], "name": row["name"], "config_id": row["config_id"]}
        )
        config = session.config_id
        config._update_cache({"company_id": row["company_id"]})
        if currencies:
            self._caisse_ap_cache_currencies(config, row)
        return PaymentCheck(readable=row["readable"], offered=row["offered"])

    @staticmethod
    def _caisse_ap_cache_currencies(config, row):
        config._update_cache({"journal_id": row["journal_id"]})
        config.company_id._update_cache({"currency_id": row["company_currency_id"]})
        if config.journal_id:
            config.journal_id._update_cache(
                {
                    "currency_id": row["journal_currency_id"],
                    "company_id": row["journal_company_id"],
                }
            )
            config.journal_id.company_id._update_cache(
                {"currency_id": row["journal_company_currency_id"]}
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
