"""A kiosk payment's order is paid by the server, when the terminal approves.

No cashier validates a kiosk order: the transaction that ends "success" adds
the payment line and marks the order paid itself, once, whichever path brings
the answer (the worker at once, the sweep's late answer, the spool after a
restart, a shop relay). Every final state is then told to the kiosk.
"""

import logging

import psycopg2.errors

from odoo import fields, models
from odoo.tools import SQL, format_amount

from odoo.addons.l10n_fr_pos_caisse_ap_ip.models.pos_caisse_ap_transaction import (
    FINAL_STATES,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.runtime import cashier_labels as labels

_logger = logging.getLogger(__name__)

# Failures the worker (or the relay's post) tries again as a whole: settling
# must not swallow them, or the order would stay unpaid after an approval.
RETRIED_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
)
# AF codes that mean the customer (or the terminal's operator) gave up.
CANCEL_CODES = {"06", "11"}


class PosCaisseApTransaction(models.Model):
    _inherit = "pos.caisse.ap.transaction"

    kiosk_order_id = fields.Many2one(
        "pos.order",
        readonly=True,
        ondelete="restrict",
        index="btree_not_null",
        help="Set when a self-order kiosk started this payment: the server pays "
        "this order when the terminal approves.",
    )

    def _transition(self, state, detail="", **values):
        result = super()._transition(state, detail, **values)
        if self.kiosk_order_id and state in FINAL_STATES:
            self._caisse_ap_kiosk_settle()
            self._caisse_ap_kiosk_notify()
        return result

    def _caisse_ap_kiosk_settle(self):
        """Pay the kiosk order with this approval, once; never lose the approval.

        Runs in the transaction that records the outcome. What cannot be done
        (an order no longer waiting, a check of Odoo's refusing) is logged and
        left to a manager: the approval stays in the journal, flagged as
        "approved, but no sale recorded".
        """
        self.ensure_one()
        if self.state != "success":
            return
        order = self.kiosk_order_id.sudo()
        # The order row first: a kiosk resending the order waits, and two
        # answers for one order (never expected) are settled one after the other.
        self.env.cr.execute(
            SQL("SELECT id FROM pos_order WHERE id = %s FOR UPDATE", order.id)
        )
        order.invalidate_recordset()
        if self.pos_payment_ids:
            return
        where = (
            f"Caisse-AP {self.terminal_key}: payment {self.payment_uuid} "
            f"attempt {self.attempt}"
        )
        if order.state != "draft":
            _logger.warning(
                "%s: approved for kiosk order %s, which is %s: no payment added, "
                "marked as needing attention",
                where,
                order.pos_reference,
                order.state,
            )
            return
        try:
            with self.env.cr.savepoint():
                self._caisse_ap_kiosk_pay(order)
        except RETRIED_ERRORS:
            raise
        except Exception:
            _logger.exception(
                "%s: approved, but kiosk order %s could not be marked paid; the "
                "approval is kept and marked as needing attention",
                where,
                order.pos_reference,
            )

    def _caisse_ap_kiosk_pay(self, order):
        approved = self.amount_authorised or self.amount
        config = order.config_id
        user = config.self_ordering_default_user_id or self.env.user
        order = order.with_user(user).with_company(order.company_id).sudo()
        # The uuid links the line to this approval: the journal's link check
        # fills the card data, the authorisation and the ticket from it.
        order.add_payment(
            {
                "uuid": self.payment_uuid,
                "amount": approved,
                "payment_date": fields.Datetime.now(),
                "payment_method_id": self.payment_method_id.id,
                "pos_order_id": order.id,
                "payment_status": "done",
            }
        )
        if not self.pos_payment_ids:
            raise ValueError("the payment line was not linked to the approval")
        if order.currency_id.compare_amounts(order.amount_paid, order.amount_total):
            _logger.warning(
                "Caisse-AP %s: kiosk order %s paid %s of %s (partial authorisation "
                "or order changed meanwhile): left for the staff",
                self.terminal_key,
                order.pos_reference,
                order.amount_paid,
                order.amount_total,
            )
            return
        order.action_pos_order_paid()
        order._send_order()
        _logger.info(
            "Caisse-AP %s: kiosk order %s paid by payment %s attempt %s",
            self.terminal_key,
            order.pos_reference,
            self.payment_uuid,
            self.attempt,
        )

    # ------------------------------------------------------------------
    # What the kiosk gets
    # ------------------------------------------------------------------
    def _caisse_ap_kiosk_notify(self):
        """PAYMENT_STATUS, shaped as Odoo's kiosk bridges send it, to the kiosk
        that pays this order only.

        Odoo's bridges send it on the POS's channel, which every kiosk and
        self-order phone of that POS hears (each would react to another's
        payment); the order's channel is known to the kiosk that holds the
        order. It carries the order as Odoo's bridges send it and what the
        customer reads, never card data.
        """
        self.ensure_one()
        order = self.kiosk_order_id.sudo()
        order._notify("PAYMENT_STATUS", self._caisse_ap_kiosk_status())

    def _caisse_ap_kiosk_status(self):
        """The kiosk's view of this payment: the bus note and the status poll."""
        self.ensure_one()
        order = self.kiosk_order_id.sudo()
        config = order.config_id
        fields_ = order._load_pos_self_data_fields(config.id)
        paid = self.state == "success" and order.state in ("paid", "done", "invoiced")
        lang = config.self_ordering_default_user_id.lang or self.env.lang
        outcome = self._caisse_ap_kiosk_outcome(paid)
        return {
            "payment_result": "Success" if paid else "Failure",
            "data": {
                "pos.order": order.read(fields_, load=False),
                "pos.order.line": order.lines.read(
                    order.lines._load_pos_self_data_fields(config.id), load=False
                ),
            },
            "caisse_ap": {
                "order_access_token": order.access_token,
                "outcome": outcome,
                "final": self.state in FINAL_STATES,
                "message": self.with_context(lang=lang)._caisse_ap_kiosk_message(
                    outcome
                ),
            },
        }

    def _caisse_ap_kiosk_outcome(self, paid):
        """One word for the kiosk's page: which message, which buttons."""
        if self.state not in FINAL_STATES:
            return "waiting"
        if self.state == "success":
            return "paid" if paid else "staff"
        if self.state == "failure":
            return "cancelled" if self.failure_code in CANCEL_CODES else "refused"
        if self.state == "error":
            return "not_sent"
        return "staff"

    def _caisse_ap_kiosk_message(self, outcome):
        """What the customer reads at the kiosk, in the kiosk's language."""
        _ = self.env._
        if outcome == "waiting":
            return _("Follow the instructions on the payment terminal.")
        if outcome == "paid":
            return _("Payment approved, thank you.")
        if outcome == "cancelled":
            return _(
                "The payment was cancelled on the terminal. You can try again or "
                "pay at the counter."
            )
        if outcome == "refused":
            return _(
                "The terminal refused the payment (%(reason)s). You can try again "
                "with another card or pay at the counter.",
                reason=labels.failure_label(self.env, self.failure_code),
            )
        if outcome == "not_sent":
            return _(
                "The payment terminal could not be reached: you have not been "
                "charged. You can try again or pay at the counter."
            )
        if self.state == "success":
            return _(
                "The terminal approved %(amount)s, but your order is not fully "
                "paid. Please see a member of staff.",
                amount=format_amount(
                    self.env,
                    self.amount_authorised or self.amount,
                    self.currency_id,
                ),
            )
        return _(
            "We could not confirm your payment. Please do not pay again: a member "
            "of staff will check it with you."
        )
