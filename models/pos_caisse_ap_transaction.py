import logging
import re
from datetime import timedelta

import psycopg2.errorcodes
import psycopg2.errors

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, mute_logger

from .. import caisse_ap
from ..caisse_ap import ACTIVE_STATES, FINAL_STATES
from ..runtime.worker import Job, outcome_spool, payment_budget
from .pos_caisse_ap_sweep_mixin import GRACE_SECONDS

_logger = logging.getLogger(__name__)

# The lifecycle of one attempt of one payment.
#
# An attempt is created "pending" by the start RPC. The worker records it
# "sent" just before handing the request to the terminal: from then on, a
# crash can only lead to "unknown", never to a silent resend. The cashier may
# ask to cancel at any time before the end ("cancel_requested"): the terminal
# has no abort message, so a request not yet sent is never sent ("error"), and
# a sent one ends with whatever the terminal answers.
#
# The terminal's answer ends the attempt: "success" or "failure"; "unknown"
# when it took the request but gave no usable answer (the cashier checks the
# terminal); "error" when the request surely did not reach it (not charged).
# Past its deadline, an attempt still active is lost (its worker died): the
# sweep ends it "unknown" if it was sent. One never sent is ended "error"
# sooner, once its worker is surely late (UNSENT_AFTER, or a shop relay's send
# deadline).
#
# Final states never change, with one exception: a swept "unknown" is a guess,
# so a real answer from the terminal arriving later replaces it. Everything
# else the late exchange brings is kept as evidence, the state unchanged.
#
# Every state change goes through PosCaisseApTransaction._transition, which
# refuses what this table does not allow.
TRANSITIONS = {
    "pending": {"sent", "cancel_requested", "error"},
    "sent": {"cancel_requested", "success", "failure", "unknown", "error"},
    "cancel_requested": {"success", "failure", "unknown", "error"},
    "success": set(),
    "failure": set(),
    "unknown": {"success", "failure"},
    "error": set(),
}
# Which states are still running (ACTIVE_STATES) and which ended (FINAL_STATES)
# is said in caisse_ap/journal.py, where the journal's other concerns read it.
# What a status or a cancel reads of an attempt: its checks, the sweep's test,
# _pos_dict (a cancel reads the rest when it writes).
STATUS_FIELDS = (
    "payment_method_id",
    "session_id",
    "payment_uuid",
    "attempt",
    "state",
    "direction",
    "amount",
    "amount_authorised",
    "partial",
    "currency_id",
    "auth_code",
    "card_last4",
    "application_code",
    "read_mode_code",
    "receipt_text",
    "failure_code",
    "error_message",
    "cancel_requested",
    "started_at",
    "sent_at",
    "deadline",
    "relay_id",
    "relay_send_deadline",
)
BUSY_INDEX = "pos_caisse_ap_transaction_terminal_busy_idx"


class StartedMeanwhile(psycopg2.errors.SerializationFailure):
    """An index refused a new attempt because of a row this transaction cannot
    see: another request recorded it after this one's snapshot (often this very
    start, sent again after a lost reply while the first try still ran). Odoo
    runs the request again on a fresh snapshot, as after any serialization
    failure; the start then sees that row and answers with it, or says the
    terminal is busy."""

    pgcode = psycopg2.errorcodes.SERIALIZATION_FAILURE


class IllegalTransition(Exception):
    """A state change the lifecycle does not allow (a bug, not bad input)."""


class PosCaisseApTransaction(models.Model):
    _name = "pos.caisse.ap.transaction"
    _inherit = [
        "pos.caisse.ap.relay.mixin",
        "pos.caisse.ap.attention.mixin",
        "pos.caisse.ap.refund.mixin",
        "pos.caisse.ap.outcome.mixin",
        "pos.caisse.ap.sweep.mixin",
        "pos.caisse.ap.notify.mixin",
    ]
    _description = "Caisse-AP terminal transaction"
    _order = "id desc"
    _rec_name = "correlation_id"
    _check_company_auto = True

    payment_method_id = fields.Many2one(
        "pos.payment.method",
        required=True,
        readonly=True,
        ondelete="restrict",
        index=True,
    )
    config_id = fields.Many2one(
        "pos.config",
        string="Point of Sale",
        required=True,
        readonly=True,
        ondelete="restrict",
        index=True,
    )
    session_id = fields.Many2one(
        "pos.session",
        required=True,
        readonly=True,
        ondelete="restrict",
        index=True,
    )
    order_uuid = fields.Char(
        string="Order Reference", readonly=True, index="btree_not_null"
    )
    pos_order_id = fields.Many2one(
        "pos.order",
        string="Order",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
        help="Set when the order reaches the server with a payment linked to this "
        "transaction.",
    )
    payment_uuid = fields.Char(
        string="Payment Reference", required=True, readonly=True, index=True
    )
    refunded_order_ids = fields.Many2many(
        "pos.order",
        "pos_caisse_ap_transaction_refunded_order_rel",
        "transaction_id",
        "order_id",
        string="Refunded Orders",
        readonly=True,
        help="For a refund: the orders it gives money back for, as the POS sent "
        "them; the credit was checked against their terminal payments.",
    )
    attempt = fields.Integer(required=True, readonly=True, default=1)
    start_key = fields.Char(
        string="Start Request Key",
        readonly=True,
        copy=False,
        help="The key the POS drew for the request that started this attempt: the "
        "same request sent again after a lost reply finds this attempt instead of "
        "asking the terminal once more.",
    )
    terminal_key = fields.Char(
        string="Terminal",
        required=True,
        readonly=True,
        index=True,
        help="host:port of the terminal this request was sent to.",
    )
    terminal_host = fields.Char(
        readonly=True,
        help="The terminal's address when the payment started: the request goes "
        "there, even if the payment method's address changes meanwhile.",
    )
    terminal_port = fields.Integer(readonly=True)
    answer_timeout = fields.Integer(
        string="Payment Timeout (s)", readonly=True, help="As set when it started."
    )
    correlation_id = fields.Char(
        string="Correlation ID",
        readonly=True,
        help="This attempt's reference in the journal and the logs (never sent to "
        "the terminal).",
    )
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    amount = fields.Monetary(readonly=True)
    amount_authorised = fields.Monetary(string="Authorised Amount", readonly=True)
    partial = fields.Boolean(string="Partial Authorisation", readonly=True)
    direction = fields.Selection(
        [("debit", "Payment"), ("credit", "Refund")],
        required=True,
        readonly=True,
        default="debit",
    )
    mode = fields.Selection(
        [("card", "Card"), ("check", "Check"), ("ancv", "ANCV")],
        required=True,
        readonly=True,
        default="card",
    )
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("sent", "Sent"),
            ("cancel_requested", "Cancel Requested"),
            ("success", "Success"),
            ("failure", "Failure"),
            ("unknown", "Unknown Outcome"),
            ("error", "Error (not sent)"),
        ],
        required=True,
        readonly=True,
        default="pending",
        index=True,
    )
    cancel_requested = fields.Boolean(readonly=True)
    cancel_requested_at = fields.Datetime(readonly=True)
    # Raw frames say what answered at a terminal's address: managers only.
    request_frame = fields.Text(readonly=True, groups="point_of_sale.group_pos_manager")
    answer_frame = fields.Text(
        readonly=True,
        groups="point_of_sale.group_pos_manager",
        help="Card number reduced to its last 4 digits.",
    )
    auth_code = fields.Char(string="Authorisation Code", readonly=True)
    card_last4 = fields.Char(string="Card (last 4 digits)", readonly=True)
    application_code = fields.Char(readonly=True)
    application_label = fields.Char(string="Application", readonly=True)
    read_mode_code = fields.Char(readonly=True)
    read_mode_label = fields.Char(string="Read Mode", readonly=True)
    failure_code = fields.Char(readonly=True)
    failure_label = fields.Char(string="Failure Reason", readonly=True)
    receipt_text = fields.Text(string="Customer Receipt", readonly=True)
    started_at = fields.Datetime(
        required=True, readonly=True, default=fields.Datetime.now
    )
    sent_at = fields.Datetime(readonly=True)
    ended_at = fields.Datetime(readonly=True)
    deadline = fields.Datetime(
        required=True,
        readonly=True,
        help="Past this moment, a transaction still waiting for the terminal is "
        "considered lost.",
    )
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 1))
    error_message = fields.Text(readonly=True)
    user_id = fields.Many2one("res.users", readonly=True)
    # The bus channel of the POS tab that started the payment (a random name
    # only that tab knows): its final dict goes there, whole.
    result_channel = fields.Char(readonly=True, copy=False, groups="base.group_system")
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True
    )
    pos_payment_ids = fields.One2many(
        "pos.payment", "caisse_ap_transaction_id", string="POS Payments", readonly=True
    )
    link_mismatch = fields.Boolean(
        string="Payment Link Mismatch",
        readonly=True,
        help="A POS payment claimed this transaction but did not match it (order or "
        "amount): it was not linked.",
    )

    _sql_constraints = [
        (
            "payment_attempt_uniq",
            "unique(payment_uuid, attempt)",
            "A payment attempt is recorded only once.",
        ),
    ]

    def init(self):
        # At most one active transaction per terminal, across workers and servers.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (terminal_key) "
                "WHERE state IN %s",
                SQL.identifier(BUSY_INDEX),
                SQL.identifier(self._table),
                ACTIVE_STATES,
            )
        )

    # ------------------------------------------------------------------
    # The one way to change state
    # ------------------------------------------------------------------
    @api.model
    def _may_go(self, previous, state):
        return state in TRANSITIONS[previous]

    def _transition(self, state, detail="", **values):
        """Move to ``state`` as the lifecycle allows: stamp, log, notify the POS.

        ``values`` are written with the state; ``detail`` ends the log line.
        """
        self.ensure_one()
        previous = self.state
        if not self._may_go(previous, state):
            raise IllegalTransition(
                f"transaction {self.id}: {previous} -> {state} is not allowed"
            )
        now = fields.Datetime.now()
        values["state"] = state
        if state == "sent":
            values["sent_at"] = now
        elif state == "cancel_requested":
            values.update(cancel_requested=True, cancel_requested_at=now)
        if state in FINAL_STATES:
            values["ended_at"] = now
        self.write(values)
        self._log_lifecycle(previous, state, detail)
        self._notify_pos()

    def _log_lifecycle(self, previous, state, detail=""):
        log = _logger.warning if state in ("unknown", "error") else _logger.info
        log(
            "Caisse-AP %s: payment %s attempt %s: %s -> %s%s",
            self.terminal_key,
            self.payment_uuid,
            self.attempt,
            previous,
            state,
            f"; {detail}" if detail else "",
        )

    # ------------------------------------------------------------------
    # Start: check, create, job
    # ------------------------------------------------------------------
    @api.model
    def _latest(self, payment_uuid, field_names=None):
        """The payment's latest attempt, found and read in one query: every
        column, or ``field_names`` only."""
        if field_names is None:
            field_names = [
                name for name, field in self._fields.items() if field.column_type
            ]
        return self.sudo().search_fetch(
            [("payment_uuid", "=", payment_uuid)],
            field_names,
            order="attempt desc",
            limit=1,
        )

    @api.model
    def _latest_for_status(self, payment_uuid):
        """The latest attempt with what a status answers, nothing more."""
        return self._latest(payment_uuid, STATUS_FIELDS)

    def _started_by(self, start_key):
        """Whether this attempt is the one the request ``start_key`` started.

        A request repeated because its reply was lost must not start one more
        attempt, even when the first one ended at once (a quick refusal, a
        terminal out of reach): the POS is then told how it ended.
        """
        self.ensure_one()
        return bool(start_key) and self.start_key == start_key

    def _blocks_new_attempt(self, retry):
        """A new attempt could charge twice, unless the last one surely did not."""
        self.ensure_one()
        if self.state == "unknown":
            return not retry  # the cashier checked the terminal and chose Retry
        return self.state not in ("failure", "error")

    @api.model
    def _start(self, method, session, values):
        """Return ``(transaction, job)``: ``job`` is what this server must send,
        None when nothing is sent or a shop relay sends it."""
        method = method.sudo()
        latest = self._latest(values["payment_uuid"])
        if latest:
            latest._check_same_payment(method, session)
            if latest._is_overdue():
                latest._sweep_lost()
            if latest._started_by(values["start_key"]):
                _logger.info(
                    "Caisse-AP %s: payment %s repeated, attempt %s (%s) is the one "
                    "this request started: nothing sent",
                    latest.terminal_key,
                    latest.payment_uuid,
                    latest.attempt,
                    latest.state,
                )
                return latest, None
            if latest._blocks_new_attempt(values["retry"]):
                _logger.info(
                    "Caisse-AP %s: payment %s repeated, attempt %s is %s: nothing sent",
                    latest.terminal_key,
                    latest.payment_uuid,
                    latest.attempt,
                    latest.state,
                )
                return latest, None
        attempt = latest.attempt + 1 if latest else 1
        request = self._check_start(method, session, values, attempt)
        transaction = self._create_attempt(method, session, values, attempt, request)
        job = transaction._job(method, request)
        if transaction._hand_to_relay(method, job):
            return transaction, None
        return transaction, job

    def _check_same_payment(self, method, session):
        if self.payment_method_id != method or self.session_id != session:
            raise UserError(
                self.env._(
                    "This payment was started with another payment method or session."
                )
            )

    @api.model
    def _check_start(self, method, session, values, attempt):
        """Everything a new attempt needs before it is recorded; its request.

        Raises a UserError saying why nothing is sent.
        """
        if not method.fr_caisse_ap_ip_address:
            raise UserError(
                self.env._(
                    "No terminal address is set on payment method %s.",
                    method.display_name,
                )
            )
        refusal = method._caisse_ap_address_refusal()
        if refusal:
            raise UserError(refusal)
        self._caisse_ap_check_refund(method, session, values)
        # Whether the terminal is busy, the busy index tells when the attempt
        # is recorded (see _create_attempt).
        return method._caisse_ap_request(
            self._pos_currency(session.config_id.sudo()), values["amount"]
        )

    @api.model
    def _pos_currency(self, config):
        """The POS's currency (computed from its journal and company): only the
        fields it depends on are read (none when the start's check has read
        them), not every column of those records."""
        config.fetch(["journal_id", "company_id"])
        config.journal_id.fetch(["currency_id", "company_id"])
        (config.company_id | config.journal_id.company_id).fetch(["currency_id"])
        currency = config.currency_id
        currency.fetch(["name", "iso_numeric", "decimal_places", "rounding"])
        return currency

    @api.model
    def _create_attempt(self, method, session, values, attempt, request):
        """Record the attempt "pending"; the busy index refuses a second one."""
        config = session.config_id.sudo()
        currency = self._pos_currency(config)
        key = method._caisse_ap_terminal_key()
        now = fields.Datetime.now()
        vals = {
            "payment_method_id": method.id,
            "config_id": config.id,
            "session_id": session.id,
            "order_uuid": values["order_uuid"] or False,
            "result_channel": values["result_channel"] or False,
            "refunded_order_ids": [Command.set(values["refunded_order_ids"])],
            "payment_uuid": values["payment_uuid"],
            "attempt": attempt,
            "start_key": values["start_key"],
            "terminal_key": key,
            "terminal_host": method.fr_caisse_ap_ip_address,
            "terminal_port": method.fr_caisse_ap_ip_port,
            "answer_timeout": method.fr_caisse_ap_ip_timeout,
            "correlation_id": self._reference(values["payment_uuid"], attempt),
            "currency_id": currency.id,
            "amount": request.amount / 10**currency.decimal_places,
            "direction": (
                "credit" if request.direction is caisse_ap.Direction.CREDIT else "debit"
            ),
            "mode": request.mode.value,
            "request_frame": caisse_ap.redact_frame(request.encode()),
            "started_at": now,
            "deadline": now
            + timedelta(
                seconds=payment_budget(method.fr_caisse_ap_ip_timeout) + GRACE_SECONDS
            ),
            "user_id": self.env.uid,
            "company_id": config.company_id.id,
        }
        transaction = self._insert_attempt(vals)
        if not transaction:
            # The terminal is busy, unless with an attempt lost in the past
            # (its worker died): the sweep ends that one, then this one goes.
            # A holder this snapshot does not show started meanwhile.
            busy = self.sudo().search(
                [("terminal_key", "=", key), ("state", "in", ACTIVE_STATES)], limit=1
            )
            if not busy:
                raise self._started_meanwhile(values["payment_uuid"], attempt)
            if busy._is_overdue():
                busy._sweep_lost()
                transaction = self._insert_attempt(vals)
            if not transaction:
                raise self._busy_error(key, values["payment_uuid"], method)
        transaction._log_lifecycle(
            "new",
            "pending",
            f"{vals['direction']} {currency.name} {vals['amount']} "
            f"({request.amount} minor units) by {vals['mode']}; "
            f"request {vals['request_frame']}",
        )
        return transaction

    @api.model
    def _insert_attempt(self, vals):
        """The new attempt, or an empty recordset when the busy index refuses it
        (another payment holds the terminal)."""
        try:
            # The indexes decide between starts that race past the checks (an
            # expected violation: no "bad query" in the log).
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                return self.sudo().create(vals)
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name == BUSY_INDEX:
                return self.browse()
            # This attempt of this payment, which the start did not see.
            raise self._started_meanwhile(
                vals["payment_uuid"], vals["attempt"]
            ) from None

    @api.model
    def _started_meanwhile(self, payment_uuid, attempt):
        _logger.info(
            "Caisse-AP: payment %s attempt %s refused by a start recorded meanwhile: "
            "the request runs again and sees it",
            payment_uuid,
            attempt,
        )
        return StartedMeanwhile(f"payment {payment_uuid}: started meanwhile")

    @api.model
    def _reference(self, payment_uuid, attempt):
        """This attempt's reference in the journal and the logs (never sent)."""
        compact_uuid = re.sub(r"[^0-9A-Za-z]", "", payment_uuid)[:20]
        return f"{compact_uuid}-{attempt}"

    def _job(self, method, request):
        """What the worker needs to run this attempt, without the database."""
        self.ensure_one()
        allow_local, networks = method._caisse_ap_address_policy()
        return Job(
            dbname=self.env.cr.dbname,
            transaction_id=self.id,
            payment_uuid=self.payment_uuid,
            attempt=self.attempt,
            terminal_key=self.terminal_key,
            lang=self.env.lang or "en_US",
            host=self.terminal_host,
            port=self.terminal_port,
            request=request,
            answer_timeout=float(self.answer_timeout),
            allow_local=allow_local,
            networks=networks,
        )

    def _busy_error(self, key, payment_uuid, method):
        _logger.warning(
            "Caisse-AP %s: busy, payment %s refused (nothing sent)", key, payment_uuid
        )
        return UserError(
            self.env._(
                "The payment terminal of %s is busy with another payment. Wait "
                "until it is finished, then try again.",
                method.display_name,
            )
        )

    # ------------------------------------------------------------------
    # Cancel
    # ------------------------------------------------------------------
    def _request_cancel(self):
        """A pending request will not be sent; a sent one ends with the answer."""
        self.ensure_one()
        if self._may_go(self.state, "cancel_requested"):
            self.sudo()._transition("cancel_requested", f"by user {self.env.uid}")

    # ------------------------------------------------------------------
    # Called by the worker (runtime/transaction_calls.py), each in a short transaction
    # ------------------------------------------------------------------
    def _lock_row(self):
        self.ensure_one()
        self.env.cr.execute(
            SQL(
                "SELECT state FROM %s WHERE id = %s FOR UPDATE",
                SQL.identifier(self._table),
                self.id,
            )
        )
        self.invalidate_recordset()

    def _mark_sent(self):
        """True when the request may be sent: recorded as sent first, so that a
        crash from now on leads to "unknown", never to a silent resend."""
        self._lock_row()
        if self.state == "pending":
            self._transition("sent")
            return True
        if self.state == "sent":
            # Only this attempt's worker marks it sent: its previous try was
            # committed, but the connection broke before it heard so.
            return True
        if self.state == "cancel_requested" and not self.sent_at:
            error = "cancelled before the request was sent"
            self._transition("error", error, error_message=error)
        return False

    # ------------------------------------------------------------------
    # Outcomes kept in the spool: the sweep records them (runtime/spool_replay.py)
    # ------------------------------------------------------------------
    def _register_hook(self):
        super()._register_hook()
        # At start: record what a previous run could not write, soon.
        if outcome_spool(self.env.cr.dbname).count():
            cron = self.env.ref(
                "l10n_fr_pos_caisse_ap_ip.ir_cron_caisse_ap_sweep",
                raise_if_not_found=False,
            )
            if cron:
                cron._trigger()
