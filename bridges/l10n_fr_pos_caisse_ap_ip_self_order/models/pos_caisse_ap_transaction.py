"""A kiosk payment's order is paid by the server, when the terminal approves.

No cashier validates a kiosk order: the transaction that ends "success" adds
the payment line and marks the order paid itself, once, whichever path brings
the answer (the worker at once, the sweep's late answer, the spool after a
restart, a shop relay). Every final state is then told to the kiosk.

An outcome nobody knows (the terminal's answer never came) waits for the
staff: a POS user settles it from the till that opens the order (paid on the
terminal: the server books it; not paid: the till may take another payment),
and until then no till can start another terminal payment for that order.
"""

import logging
import time
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount, format_datetime

from odoo.addons.l10n_fr_pos_caisse_ap_ip.models.pos_caisse_ap_transaction import (
    ACTIVE_STATES,
    FINAL_STATES,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.runtime import cashier_labels as labels

from .pos_payment_method import KIOSK_PAYMENT_PREFIX

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
# A kiosk's token is in its page: whoever copies it could keep the kiosk's
# terminal asking for cards. A customer retrying a refused card starts a few
# payments a minute; more than this from one kiosk is refused.
KIOSK_STARTS_PER_MINUTE = 10
# When each kiosk's refusal was last logged, in this process: one line a
# minute, not one per refused request.
_limit_logged_at = {}


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
    kiosk_settlement = fields.Selection(
        [("paid", "Paid on the terminal"), ("not_paid", "Not paid")],
        string="Settled at the Till",
        readonly=True,
        copy=False,
        help="What a POS user found on the terminal for a kiosk payment whose "
        "outcome Odoo never received.",
    )
    kiosk_settled_by_id = fields.Many2one(
        "res.users", string="Settled by", readonly=True, copy=False
    )
    kiosk_settled_at = fields.Datetime(string="Settled on", readonly=True, copy=False)

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
        self._caisse_ap_kiosk_lock_order(order)
        if self.pos_payment_ids:
            return
        booked = order.payment_ids.filtered(lambda p: p.uuid == self.payment_uuid)
        if booked:
            # Settled at the till as paid before this answer came: it confirms
            # the line booked then (or flags the difference for a manager).
            booked._caisse_ap_link_transactions()
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

    def _caisse_ap_kiosk_lock_order(self, order):
        """Lock the kiosk order's row, then read it afresh.

        Whoever pays it (an answer, a second answer, a cashier settling it)
        waits for the other, and so does a kiosk resending the order.
        """
        self.env.cr.execute(
            SQL("SELECT id FROM pos_order WHERE id = %s FOR UPDATE", order.id)
        )
        order.invalidate_recordset()

    def _caisse_ap_kiosk_pay(self, order):
        order = self._caisse_ap_kiosk_as_its_user(order)
        self._caisse_ap_kiosk_book(order, self.amount_authorised or self.amount)
        if not self.pos_payment_ids:
            raise ValueError("the payment line was not linked to the approval")
        self._caisse_ap_kiosk_close(order)

    def _caisse_ap_kiosk_as_its_user(self, order):
        """The order as the kiosk's own user handles it (no cashier pays it)."""
        user = order.config_id.self_ordering_default_user_id or self.env.user
        return order.with_user(user).with_company(order.company_id).sudo()

    def _caisse_ap_kiosk_book(self, order, amount):
        """Add this payment's line to the kiosk order."""
        # The uuid links the line to this approval: the journal's link check
        # fills the card data, the authorisation and the ticket from it.
        order.add_payment(
            {
                "uuid": self.payment_uuid,
                "amount": amount,
                "payment_date": fields.Datetime.now(),
                "payment_method_id": self.payment_method_id.id,
                "pos_order_id": order.id,
                "payment_status": "done",
            }
        )

    def _caisse_ap_kiosk_close(self, order):
        """Mark the order paid and send it on when the booked approvals cover
        its server price, and its total is still that price."""
        currency = order.currency_id
        try:
            due = order._caisse_ap_kiosk_server_total()
        except UserError:
            due = None
        paid = sum(order._caisse_ap_kiosk_booked_payments().mapped("amount"))
        if (
            due is None
            or currency.compare_amounts(order.amount_total, due)
            or currency.compare_amounts(paid, due) < 0
        ):
            _logger.warning(
                "Caisse-AP %s: kiosk order %s paid %s of %s (server price %s; partial "
                "authorisation or order changed meanwhile): left for the staff",
                self.terminal_key,
                order.pos_reference,
                paid,
                order.amount_total,
                due,
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
        paid = self._caisse_ap_kiosk_paid_by_terminal() and order.state in (
            "paid",
            "done",
            "invoiced",
        )
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
        if self._caisse_ap_kiosk_paid_by_terminal():
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

    def _caisse_ap_kiosk_paid_by_terminal(self):
        """Approved, or found paid on the terminal by the staff."""
        return self.state == "success" or self.kiosk_settlement == "paid"

    # ------------------------------------------------------------------
    # Settled from the till: an unknown outcome waits for a POS user
    # ------------------------------------------------------------------
    def _caisse_ap_kiosk_unsettled_domain(self):
        return [
            ("kiosk_order_id", "!=", False),
            ("state", "=", "unknown"),
            ("kiosk_settlement", "=", False),
            ("reviewed_at", "=", False),
        ]

    @api.model
    def _check_start(self, method, session, values, attempt):
        if values["payment_uuid"].startswith(KIOSK_PAYMENT_PREFIX):
            self._caisse_ap_kiosk_check_limits(session.config_id, values)
        # Another payment for an order the customer may have paid at the kiosk
        # could charge twice: the staff settles the kiosk's payment first.
        if values["order_uuid"] and self.sudo().search_count(
            [
                *self._caisse_ap_kiosk_unsettled_domain(),
                ("order_uuid", "=", values["order_uuid"]),
                ("payment_uuid", "!=", values["payment_uuid"]),
            ],
            limit=1,
        ):
            raise UserError(
                self.env._(
                    "The customer may already have paid this order at the kiosk: "
                    "the terminal's answer never reached Odoo. Open the order's "
                    "payment screen and settle the kiosk payment first."
                )
            )
        return super()._check_start(method, session, values, attempt)

    @api.model
    def _caisse_ap_kiosk_check_limits(self, config, values):
        """One payment waiting per kiosk, and a few starts a minute."""
        _ = self.env._
        kiosk_attempts = [
            ("config_id", "=", config.id),
            ("kiosk_order_id", "!=", False),
        ]
        transactions = self.sudo()
        waiting = transactions.search_count(
            [
                *kiosk_attempts,
                ("state", "in", ACTIVE_STATES),
                ("payment_uuid", "!=", values["payment_uuid"]),
            ],
            limit=1,
        )
        if waiting:
            self._caisse_ap_kiosk_log_limit(config, "another payment is waiting")
            raise UserError(
                _(
                    "This kiosk is already waiting for another payment on the "
                    "terminal: finish or cancel it there first."
                )
            )
        since = fields.Datetime.now() - timedelta(minutes=1)
        recent = transactions.search_count(
            [*kiosk_attempts, ("started_at", ">=", since)],
            limit=KIOSK_STARTS_PER_MINUTE,
        )
        if recent >= KIOSK_STARTS_PER_MINUTE:
            self._caisse_ap_kiosk_log_limit(
                config, f"{recent} payments started within a minute"
            )
            raise UserError(
                _(
                    "Too many payment requests from this kiosk: please wait a "
                    "minute or pay at the counter."
                )
            )

    @api.model
    def _caisse_ap_kiosk_log_limit(self, config, why):
        now = time.monotonic()
        key = (self.env.cr.dbname, config.id)
        if now - _limit_logged_at.get(key, -60.0) < 60:
            return
        _limit_logged_at[key] = now
        _logger.warning(
            "Caisse-AP kiosk %s (POS %s): payment requests refused for a minute "
            "at most (%s); nothing sent to the terminal",
            config.name,
            config.id,
            why,
        )

    def _caisse_ap_kiosk_till_dict(self):
        """What the till shows a POS user about an unsettled kiosk payment."""
        return [
            {
                "id": transaction.id,
                "reference": transaction.display_name,
                "payment_method": transaction.payment_method_id.name,
                "amount": transaction.amount,
                "amount_text": format_amount(
                    self.env, transaction.amount, transaction.currency_id
                ),
                "started_at": format_datetime(self.env, transaction.started_at),
            }
            for transaction in self
        ]

    def _caisse_ap_kiosk_settle_at_till(self, paid):
        """Record what a POS user found on the terminal; book it when paid.

        Paid: the kiosk order gets the payment line (no approval behind it, so
        a manager still reviews it at closing, as a till's Force done) and is
        marked paid when that covers it. Not paid: the till may take another
        payment. A late answer from the terminal still wins over both.
        """
        self.ensure_one()
        self._lock_row()
        transaction = self.sudo()
        if not transaction.filtered_domain(self._caisse_ap_kiosk_unsettled_domain()):
            raise UserError(
                self.env._(
                    "Kiosk payment %s no longer waits to be settled: reload the "
                    "order to see its payments.",
                    transaction.display_name,
                )
            )
        order = transaction.kiosk_order_id
        self._caisse_ap_kiosk_lock_order(order)
        if paid and order.state != "draft":
            raise UserError(
                self.env._(
                    "Order %s is no longer waiting for a payment.",
                    order.pos_reference,
                )
            )
        # Recorded first: the line booked below counts as paid when the order
        # is closed.
        transaction.write(
            {
                "kiosk_settlement": "paid" if paid else "not_paid",
                "kiosk_settled_by_id": self.env.uid,
                "kiosk_settled_at": fields.Datetime.now(),
            }
        )
        if paid:
            order = transaction._caisse_ap_kiosk_as_its_user(order)
            transaction._caisse_ap_kiosk_book(order, transaction.amount)
            transaction._caisse_ap_kiosk_close(order)
        _logger.info(
            "Caisse-AP %s: kiosk payment %s attempt %s (order %s) settled at the "
            "till by user %s: %s",
            transaction.terminal_key,
            transaction.payment_uuid,
            transaction.attempt,
            order.pos_reference,
            self.env.uid,
            "paid on the terminal" if paid else "not paid",
        )
        transaction._caisse_ap_kiosk_notify()

    def _caisse_ap_attention_items(self):
        items = super()._caisse_ap_attention_items()
        settled = {t.id: t for t in self.sudo() if t.kiosk_settlement}
        for item in items:
            transaction = settled.get(item["id"])
            if transaction:
                item["reasons"].append(
                    self.env._(
                        "Settled at the till by %(user)s: %(settlement)s",
                        user=transaction.kiosk_settled_by_id.name,
                        settlement=dict(
                            transaction._fields[
                                "kiosk_settlement"
                            ]._description_selection(self.env)
                        )[transaction.kiosk_settlement],
                    )
                )
        return items
