"""Journal entries that need a person to look at them ("needs attention").

Computed from the journal itself, so that nothing can forget to flag an entry:
each kind is one SQL condition below. A manager marks an entry as reviewed with
a note; the review (who, when, note) is kept on the entry and cannot be changed.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..runtime.cashier_labels import ATTENTION_KINDS

# An approved payment's order reaches the server when the cashier validates it,
# seconds later when online. Past this delay (or once the session is no longer
# open), a missing sale is no longer "still on the till".
SYNC_GRACE = timedelta(minutes=2)

# One boolean column per kind, all computed in one pass over the journal.
# "latest": no later attempt of the same payment line.
# "settled": the order should have reached the server by now.
_KINDS_QUERY = """
WITH flagged AS (
    SELECT t.id,
        t.state = 'success'
        AND settled.yes
        AND NOT EXISTS (
            SELECT 1 FROM pos_payment p WHERE p.caisse_ap_transaction_id = t.id
        ) AS approved_unlinked,
        t.state IN ('unknown', 'failure', 'error')
        AND latest.yes
        AND paid_line.yes
        AND NOT EXISTS (
            SELECT 1 FROM pos_caisse_ap_transaction o
            WHERE o.payment_uuid = t.payment_uuid AND o.state = 'success'
        ) AS forced_without_approval,
        t.state = 'unknown'
        AND latest.yes
        AND settled.yes
        AND NOT paid_line.yes AS unknown_unresolved,
        t.state = 'success' AND t.cancel_requested AS late_answer_after_cancel,
        COALESCE(t.link_mismatch, FALSE) AS link_mismatch,
        t.state = 'success'
        AND EXISTS (
            SELECT 1 FROM pos_caisse_ap_transaction e
            WHERE e.payment_uuid = t.payment_uuid AND e.attempt < t.attempt
            AND e.state = 'unknown'
        ) AS possibly_twice
    FROM pos_caisse_ap_transaction t
    JOIN pos_session s ON s.id = t.session_id
    CROSS JOIN LATERAL (
        SELECT (t.ended_at < %(settled_before)s OR s.state != 'opened') AS yes
    ) settled
    CROSS JOIN LATERAL (
        SELECT NOT EXISTS (
            SELECT 1 FROM pos_caisse_ap_transaction n
            WHERE n.payment_uuid = t.payment_uuid AND n.attempt > t.attempt
        ) AS yes
    ) latest
    CROSS JOIN LATERAL (
        SELECT EXISTS (
            SELECT 1 FROM pos_payment p
            WHERE p.uuid = t.payment_uuid
            AND p.payment_method_id = t.payment_method_id
        ) AS yes
    ) paid_line
    WHERE %(where)s
)
SELECT * FROM flagged
WHERE approved_unlinked OR forced_without_approval OR unknown_unresolved
    OR late_answer_after_cancel OR link_mismatch OR possibly_twice
"""


class PosCaisseApAttentionMixin(models.AbstractModel):
    _name = "pos.caisse.ap.attention.mixin"
    _description = "Caisse-AP journal entry needing attention, and its review"

    needs_attention = fields.Boolean(
        compute="_compute_attention",
        search="_search_needs_attention",
        help="The terminal and the Point of Sale may disagree: someone should look "
        "at this transaction.",
    )
    attention_reasons = fields.Char(
        string="Needs Attention Because", compute="_compute_attention"
    )
    reviewed_at = fields.Datetime(string="Reviewed On", readonly=True, copy=False)
    reviewed_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    review_note = fields.Text(readonly=True, copy=False)

    # ------------------------------------------------------------------
    # The kinds
    # ------------------------------------------------------------------
    @api.model
    def _caisse_ap_attention_kinds(self, where=None):
        """``{transaction id: [kind, ...]}`` for the transactions matching
        ``where`` (an SQL condition on ``t``) that need attention, reviewed or not."""
        self.env.flush_all()
        query = SQL(
            _KINDS_QUERY,
            settled_before=fields.Datetime.now() - SYNC_GRACE,
            where=where or SQL("TRUE"),
        )
        self.env.cr.execute(query)
        words = ATTENTION_KINDS
        kinds = {}
        for row in self.env.cr.dictfetchall():
            kinds[row["id"]] = [kind for kind in words if row[kind]]
        return kinds

    @api.depends("state", "reviewed_at", "pos_payment_ids", "link_mismatch")
    def _compute_attention(self):
        words = ATTENTION_KINDS
        ids = tuple(self.ids) or (0,)
        kinds = self._caisse_ap_attention_kinds(SQL("t.id IN %s", ids))
        for transaction in self:
            found = kinds.get(transaction.id, [])
            transaction.attention_reasons = "; ".join(
                self.env._(words[kind]) for kind in found
            )
            transaction.needs_attention = bool(found) and not transaction.reviewed_at

    def _search_needs_attention(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on “Needs Attention”."))
        ids = list(self._caisse_ap_attention_kinds(SQL("t.reviewed_at IS NULL")))
        wanted = (operator == "=") == value
        return [("id", "in" if wanted else "not in", ids)]

    def _caisse_ap_attention_items(self):
        """What the closing screen lists for these (unreviewed) transactions."""
        kinds = self._caisse_ap_attention_kinds(
            SQL("t.id IN %s AND t.reviewed_at IS NULL", tuple(self.ids) or (0,))
        )
        words = ATTENTION_KINDS
        items = []
        for transaction in self.filtered(lambda t: t.id in kinds):
            sign = -1 if transaction.direction == "credit" else 1
            items.append(
                {
                    "id": transaction.id,
                    "reference": transaction.display_name,
                    "payment_method": transaction.payment_method_id.name,
                    "amount": sign * transaction.amount,
                    "state": dict(
                        transaction._fields["state"]._description_selection(self.env)
                    )[transaction.state],
                    "date": fields.Datetime.to_string(transaction.started_at),
                    "kinds": kinds[transaction.id],
                    "reasons": [
                        self.env._(words[kind]) for kind in kinds[transaction.id]
                    ],
                }
            )
        return items

    # ------------------------------------------------------------------
    # Review
    # ------------------------------------------------------------------
    def _caisse_ap_mark_reviewed(self, note):
        """Record a manager's review; a review is never overwritten."""
        _ = self.env._
        if not self.env.user.has_group("point_of_sale.group_pos_manager"):
            raise AccessError(
                _("Only Point of Sale administrators can review terminal transactions.")
            )
        note = (note or "").strip()
        if not note:
            raise UserError(_("Write a note saying what was checked or done."))
        for transaction in self:
            if transaction.reviewed_at:
                raise UserError(
                    _(
                        "Transaction %(reference)s was already reviewed by %(user)s "
                        "on %(date)s.",
                        reference=transaction.display_name,
                        user=transaction.reviewed_by_id.name,
                        date=transaction.reviewed_at,
                    )
                )
            if not transaction.attention_reasons:
                raise UserError(
                    _(
                        "Transaction %s does not need attention.",
                        transaction.display_name,
                    )
                )
        # The journal is read-only for everyone: only this method writes a review.
        self.sudo().write(
            {
                "reviewed_at": fields.Datetime.now(),
                "reviewed_by_id": self.env.uid,
                "review_note": note,
            }
        )

    def action_caisse_ap_review(self):
        """Open the review dialog (managers)."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Mark as Reviewed"),
            "res_model": "pos.caisse.ap.review",
            "view_mode": "form",
            "target": "new",
            "context": {"default_transaction_ids": self.ids},
        }
