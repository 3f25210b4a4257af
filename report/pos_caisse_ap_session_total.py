"""Per session and Caisse-AP method: what the terminal approved against what the
POS recorded. A database view, so that the session form, the closing screen and
any report read the same numbers."""

from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.pos_payment_method import TERMINAL_KEY


class PosCaisseApSessionTotal(models.Model):
    _name = "pos.caisse.ap.session.total"
    _description = "Caisse-AP terminal and POS totals per session"
    _auto = False
    _order = "session_id desc, payment_method_id"
    # Flushed before the view is read.
    _depends = {
        "pos.caisse.ap.transaction": [
            "session_id",
            "payment_method_id",
            "state",
            "direction",
            "amount",
            "amount_authorised",
        ],
        "pos.payment": ["session_id", "payment_method_id", "amount", "pos_order_id"],
        "pos.order": ["state"],
        "pos.payment.method": ["use_payment_terminal"],
        "pos.session": ["config_id"],
        "pos.config": ["company_id", "journal_id"],
    }

    session_id = fields.Many2one("pos.session", readonly=True)
    payment_method_id = fields.Many2one("pos.payment.method", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    terminal_amount = fields.Monetary(
        string="Terminal Total",
        readonly=True,
        help="Approved by the terminal: payments minus refunds, from the transaction "
        "journal (the authorised amount for a partial authorisation).",
    )
    pos_amount = fields.Monetary(
        string="POS Total",
        readonly=True,
        help="Payments of this method in the session's orders.",
    )
    difference = fields.Monetary(
        readonly=True,
        help="Terminal total minus POS total: not zero when the customer was charged "
        "for no sale, or a sale was recorded with no approval.",
    )
    transaction_count = fields.Integer(string="Approvals", readonly=True)
    payment_count = fields.Integer(string="POS Payments", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
CREATE VIEW %(view)s AS (
    SELECT
        ROW_NUMBER() OVER (ORDER BY amounts.session_id, amounts.payment_method_id)
            AS id,
        amounts.session_id,
        amounts.payment_method_id,
        config.company_id,
        config_currency.currency_id,
        SUM(amounts.terminal_amount) AS terminal_amount,
        SUM(amounts.pos_amount) AS pos_amount,
        SUM(amounts.terminal_amount) - SUM(amounts.pos_amount) AS difference,
        SUM(amounts.transaction_count) AS transaction_count,
        SUM(amounts.payment_count) AS payment_count
    FROM (
        SELECT t.session_id, t.payment_method_id,
            CASE WHEN t.direction = 'credit' THEN -1 ELSE 1 END
                * COALESCE(NULLIF(t.amount_authorised, 0), t.amount)
                AS terminal_amount,
            0 AS pos_amount, 1 AS transaction_count, 0 AS payment_count
        FROM pos_caisse_ap_transaction t
        WHERE t.state = 'success'
        UNION ALL
        SELECT p.session_id, p.payment_method_id, 0, p.amount, 0, 1
        FROM pos_payment p
        JOIN pos_order o ON o.id = p.pos_order_id
        JOIN pos_payment_method m ON m.id = p.payment_method_id
        WHERE m.use_payment_terminal = %(terminal)s
        AND o.state NOT IN ('draft', 'cancel')
    ) amounts
    JOIN pos_session session ON session.id = amounts.session_id
    JOIN pos_config config ON config.id = session.config_id
    CROSS JOIN LATERAL (
        SELECT COALESCE(journal.currency_id, company.currency_id) AS currency_id
        FROM res_company company
        LEFT JOIN account_journal journal ON journal.id = config.journal_id
        WHERE company.id = config.company_id
    ) config_currency
    GROUP BY amounts.session_id, amounts.payment_method_id, config.company_id,
        config_currency.currency_id
)
                """,
                view=SQL.identifier(self._table),
                terminal=TERMINAL_KEY,
            )
        )
