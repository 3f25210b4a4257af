import logging
import re
from datetime import timedelta

import psycopg2.errors

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount, mute_logger

from ..caisse_ap import codec, labels
from ..caisse_ap.transport import Outcome
from .caisse_ap_worker import CONNECT_TIMEOUT, Job
from .stored_frame import stored_answer

_logger = logging.getLogger(__name__)

ACTIVE_STATES = ("pending", "sent", "cancel_requested")
FINAL_STATES = ("success", "failure", "unknown", "error")
# Past its deadline (start + connection + payment timeout + grace), an active
# transaction is lost: its worker died (restart, recycled worker).
GRACE_SECONDS = 30
BUSY_INDEX = "pos_caisse_ap_transaction_terminal_busy_idx"
OUTCOME_STATES = {
    Outcome.SUCCESS: "success",
    Outcome.FAILURE: "failure",
    # AE=11: the terminal took the request but did not say how it ended.
    Outcome.ACCEPTED: "unknown",
    Outcome.NO_ANSWER: "unknown",
    Outcome.MALFORMED: "unknown",
    Outcome.NOT_SENT: "error",
}


def _engine_lang(lang):
    """The engine has French and English labels."""
    return "fr" if (lang or "").startswith("fr") else "en"


class PosCaisseApTransaction(models.Model):
    _name = "pos.caisse.ap.transaction"
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
    terminal_key = fields.Char(
        string="Terminal",
        required=True,
        readonly=True,
        index=True,
        help="host:port of the terminal this request was sent to.",
    )
    correlation_id = fields.Char(
        string="Correlation ID", readonly=True, help="Sent in tag CF."
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
    request_frame = fields.Text(readonly=True)
    answer_frame = fields.Text(
        readonly=True, help="Card number reduced to its last 4 digits."
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
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True
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
    # Start
    # ------------------------------------------------------------------
    @api.model
    def _caisse_ap_latest(self, payment_uuid):
        return self.sudo().search(
            [("payment_uuid", "=", payment_uuid)], order="attempt desc", limit=1
        )

    def _caisse_ap_blocks_new_attempt(self, retry):
        """A new attempt could charge twice, unless the last one surely did not."""
        self.ensure_one()
        if self.state == "unknown":
            return not retry  # the cashier checked the terminal and chose Retry
        return self.state not in ("failure", "error")

    @api.model
    def _caisse_ap_start(self, method, session, values):
        """Return ``(transaction, job)``; ``job`` is None when nothing must be sent."""
        _ = self.env._
        transactions = self.sudo()
        payment_uuid = values["payment_uuid"]
        latest = transactions._caisse_ap_latest(payment_uuid)
        if latest:
            if latest.payment_method_id != method or latest.session_id != session:
                raise UserError(
                    _(
                        "This payment was started with another payment method or "
                        "session."
                    )
                )
            latest._caisse_ap_sweep_lost()
            if latest._caisse_ap_blocks_new_attempt(values["retry"]):
                _logger.info(
                    "Caisse-AP %s: payment %s repeated, attempt %s is %s: nothing sent",
                    latest.terminal_key,
                    payment_uuid,
                    latest.attempt,
                    latest.state,
                )
                return latest, None

        method = method.sudo()
        if not method.fr_caisse_ap_ip_address:
            raise UserError(
                _(
                    "No terminal address is set on payment method %s.",
                    method.display_name,
                )
            )
        refusal = method._caisse_ap_address_refusal()
        if refusal:
            raise UserError(refusal)
        method._caisse_ap_check_refund(session, values)
        config = session.config_id.sudo()
        currency = config.currency_id
        attempt = latest.attempt + 1 if latest else 1
        request = self._caisse_ap_request(
            method, currency, values["amount"], payment_uuid, attempt
        )

        key = method._caisse_ap_terminal_key()
        # A lost transaction must not keep the terminal busy.
        transactions._caisse_ap_sweep([("terminal_key", "=", key)])
        if transactions.search_count(
            [("terminal_key", "=", key), ("state", "in", ACTIVE_STATES)], limit=1
        ):
            raise self._caisse_ap_busy_error(key, payment_uuid, method)
        now = fields.Datetime.now()
        timeout = method.fr_caisse_ap_ip_timeout
        vals = {
            "payment_method_id": method.id,
            "config_id": config.id,
            "session_id": session.id,
            "order_uuid": values["order_uuid"] or False,
            "refunded_order_ids": [Command.set(values["refunded_order_ids"])],
            "payment_uuid": payment_uuid,
            "attempt": attempt,
            "terminal_key": key,
            "correlation_id": request.correlation_id,
            "currency_id": currency.id,
            "amount": request.amount / 10**currency.decimal_places,
            "direction": (
                "credit" if request.direction is codec.Direction.CREDIT else "debit"
            ),
            "mode": request.mode.value,
            "request_frame": codec.redact_frame(request.encode()),
            "started_at": now,
            "deadline": now
            + timedelta(seconds=CONNECT_TIMEOUT + timeout + GRACE_SECONDS),
            "user_id": self.env.uid,
            "company_id": config.company_id.id,
        }
        try:
            # The index decides when two starts race past the check above (an
            # expected violation: no "bad query" in the log).
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                transaction = transactions.create(vals)
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name == BUSY_INDEX:
                raise self._caisse_ap_busy_error(key, payment_uuid, method) from None
            raise UserError(
                _("This payment is already being sent to the terminal.")
            ) from None
        _logger.info(
            "Caisse-AP %s: payment %s attempt %s: %s %s %s (%s minor units) by %s; "
            "request %s",
            key,
            payment_uuid,
            attempt,
            vals["direction"],
            currency.name,
            vals["amount"],
            request.amount,
            vals["mode"],
            vals["request_frame"],
        )
        job = Job(
            dbname=self.env.cr.dbname,
            transaction_id=transaction.id,
            payment_uuid=payment_uuid,
            attempt=attempt,
            terminal_key=key,
            lang=self.env.lang or "en_US",
            host=method.fr_caisse_ap_ip_address,
            port=method.fr_caisse_ap_ip_port,
            request=request,
            answer_timeout=float(timeout),
        )
        return transaction, job

    @api.model
    def _caisse_ap_request(self, method, currency, amount, payment_uuid, attempt):
        """The engine's request for this attempt, or a UserError saying why not."""
        direction, minor = self._caisse_ap_minor_amount(amount, currency)
        # CF lets the answer be matched with this very attempt.
        compact_uuid = re.sub(r"[^0-9A-Za-z]", "", payment_uuid)[:20]
        try:
            return codec.PaymentRequest(
                amount=minor,
                currency_numeric=currency.iso_numeric,
                correlation_id=f"{compact_uuid}-{attempt}",
                direction=direction,
                pos_number=method.fr_caisse_ap_ip_pos_number,
                protocol_version=method.fr_caisse_ap_ip_protocol_version,
                mode=codec.PaymentMode(method.fr_caisse_ap_ip_mode or "card"),
                request_receipt=bool(method.fr_caisse_ap_ip_receipt),
            )
        except codec.ProtocolError as error:
            raise UserError(
                self.env._("The payment request is not valid: %s", error)
            ) from None

    @api.model
    def _caisse_ap_minor_amount(self, amount, currency):
        """``(direction, minor units)`` for a signed amount in ``currency``."""
        _ = self.env._
        if not currency.iso_numeric:
            raise UserError(
                _(
                    "The currency %s has no ISO 4217 numeric code: set it on the "
                    "currency to use the payment terminal.",
                    currency.name,
                )
            )
        minor = round(abs(amount) * 10**currency.decimal_places)
        if not minor:
            raise UserError(
                _("The amount sent to the payment terminal cannot be zero.")
            )
        if minor > codec.MAX_AMOUNT:
            raise UserError(
                _(
                    "The amount %s is too large for the payment terminal (12 digits "
                    "at most).",
                    amount,
                )
            )
        direction = codec.Direction.CREDIT if amount < 0 else codec.Direction.DEBIT
        return direction, minor

    def _caisse_ap_busy_error(self, key, payment_uuid, method):
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
    def _caisse_ap_request_cancel(self):
        self.ensure_one()
        if self.state not in ("pending", "sent"):
            return
        # A pending request will not be sent; a sent one ends with the answer.
        self.sudo().write(
            {
                "state": "cancel_requested",
                "cancel_requested": True,
                "cancel_requested_at": fields.Datetime.now(),
            }
        )
        _logger.info(
            "Caisse-AP %s: payment %s attempt %s: cancel requested by user %s",
            self.terminal_key,
            self.payment_uuid,
            self.attempt,
            self.env.uid,
        )
        self._caisse_ap_notify()

    # ------------------------------------------------------------------
    # Lost transactions
    # ------------------------------------------------------------------
    @api.model
    def _caisse_ap_sweep(self, domain):
        lost = self.sudo().search(
            [
                ("state", "in", ACTIVE_STATES),
                ("deadline", "<", fields.Datetime.now()),
                *domain,
            ]
        )
        for transaction in lost:
            transaction._caisse_ap_mark_lost()
        return lost

    def _caisse_ap_sweep_lost(self):
        return self._caisse_ap_sweep([("id", "in", self.ids)])

    @api.model
    def _cron_caisse_ap_sweep(self):
        self._caisse_ap_sweep([])

    def _caisse_ap_mark_lost(self):
        if self.sent_at:
            state, error = (
                "unknown",
                "no outcome recorded before the deadline (server restarted or worker "
                "stopped?)",
            )
        else:
            state, error = (
                "error",
                "never sent: the request was not handed to the terminal before the "
                "deadline",
            )
        self.write(
            {"state": state, "error_message": error, "ended_at": fields.Datetime.now()}
        )
        _logger.warning(
            "Caisse-AP %s: payment %s attempt %s lost, now %s: %s",
            self.terminal_key,
            self.payment_uuid,
            self.attempt,
            state,
            error,
        )
        self._caisse_ap_notify()

    # ------------------------------------------------------------------
    # Called by the worker thread, each in its own short transaction
    # ------------------------------------------------------------------
    def _caisse_ap_lock(self):
        self.ensure_one()
        self.env.cr.execute(
            SQL(
                "SELECT state FROM %s WHERE id = %s FOR UPDATE",
                SQL.identifier(self._table),
                self.id,
            )
        )
        self.invalidate_recordset()

    def _caisse_ap_mark_sent(self):
        """True when the request may be sent: recorded as sent first, so that a
        crash from now on leads to "unknown", never to a silent resend."""
        self._caisse_ap_lock()
        now = fields.Datetime.now()
        if self.state == "pending":
            self.write({"state": "sent", "sent_at": now})
            return True
        if self.state == "cancel_requested" and not self.sent_at:
            self.write(
                {
                    "state": "error",
                    "error_message": "cancelled before the request was sent",
                    "ended_at": now,
                }
            )
            _logger.info(
                "Caisse-AP %s: payment %s attempt %s cancelled before sending",
                self.terminal_key,
                self.payment_uuid,
                self.attempt,
            )
            self._caisse_ap_notify()
        return False

    def _caisse_ap_record_exchange(self, exchange):
        """Write what the exchange gave, even after a cancel or a sweep."""
        self._caisse_ap_lock()
        previous = self.state
        state = OUTCOME_STATES[exchange.outcome]
        error = exchange.error
        if exchange.outcome is Outcome.ACCEPTED:
            error = (
                "the terminal accepted the request (AE=11) without giving its result"
            )
        vals = {
            "state": state,
            "ended_at": fields.Datetime.now(),
            "duration": exchange.duration,
            "request_frame": codec.redact_frame(exchange.request_frame),
            "answer_frame": stored_answer(exchange.answer_frame),
            "error_message": error or False,
        }
        result = exchange.result
        if result is not None:
            lang = _engine_lang(self.user_id.lang)
            decimals = 10**self.currency_id.decimal_places
            vals.update(
                {
                    "auth_code": result.auth_code or False,
                    "card_last4": result.card_last4 or False,
                    "application_code": result.application_code or False,
                    "application_label": result.application_code
                    and labels.application_label(result.application_code, lang),
                    "read_mode_code": result.read_mode_code or False,
                    "read_mode_label": result.read_mode_code
                    and labels.read_mode_label(result.read_mode_code, lang),
                    "failure_code": result.failure_code or False,
                    "failure_label": result.failure_code
                    and labels.failure_label(result.failure_code, lang),
                    "receipt_text": result.receipt_text or False,
                    "amount_authorised": (
                        result.authorised_amount / decimals
                        if result.authorised_amount
                        else False
                    ),
                    "partial": result.partial,
                }
            )
        self.write(vals)
        log = _logger.warning if state in ("unknown", "error") else _logger.info
        log(
            "Caisse-AP %s: payment %s attempt %s: %s (%s) in %.1f s%s%s; answer %s",
            self.terminal_key,
            self.payment_uuid,
            self.attempt,
            state,
            exchange.outcome.value,
            exchange.duration,
            f" ({error})" if error else "",
            f", after {previous}" if previous not in ("sent", "pending") else "",
            vals["answer_frame"] or "(none)",
        )
        self._caisse_ap_notify()

    def _caisse_ap_record_crash(self, state, error):
        """The worker failed unexpectedly: end the transaction anyway."""
        self._caisse_ap_lock()
        if self.state in FINAL_STATES:
            return
        self.write(
            {"state": state, "error_message": error, "ended_at": fields.Datetime.now()}
        )
        self._caisse_ap_notify()

    # ------------------------------------------------------------------
    # What the POS gets
    # ------------------------------------------------------------------
    def _caisse_ap_notify(self):
        """Tell the POS that this payment changed; it reads the details itself.

        The config's bus channel is public: the self-order page and the customer
        display subscribe to it with the token printed on tables. So the note
        carries no card data, receipt nor error text (which names the terminal),
        only what lets a till know it should call ``caisse_ap_status``.
        """
        self.ensure_one()
        self.config_id.sudo()._notify(
            "CAISSE_AP_TRANSACTION",
            {
                "payment_uuid": self.payment_uuid,
                "attempt": self.attempt,
                "state": self.state,
            },
        )

    def _caisse_ap_dict(self):
        """The RPC contract's TRANSACTION DICT; amounts signed like the payment line."""
        self.ensure_one()
        sign = -1 if self.direction == "credit" else 1
        lang = _engine_lang(self.env.lang)
        success = self.state == "success"
        return {
            "transaction_id": self.id,
            "payment_uuid": self.payment_uuid,
            "attempt": self.attempt,
            "state": self.state,
            "final": self.state in FINAL_STATES,
            "amount": sign * self.amount,
            "amount_authorised": sign * self.amount_authorised
            if success and self.amount_authorised
            else False,
            "partial": success and self.partial,
            "auth_code": self.auth_code or "",
            "card_last4": self.card_last4 or "",
            "application_label": (
                labels.application_label(self.application_code, lang)
                if self.application_code
                else ""
            ),
            "read_mode_label": (
                labels.read_mode_label(self.read_mode_code, lang)
                if self.read_mode_code
                else ""
            ),
            "receipt_text": self.receipt_text or "",
            "failure_code": self.failure_code or "",
            "message": self._caisse_ap_message(),
            "cancel_requested": self.cancel_requested,
        }

    def _caisse_ap_message(self):
        """What the cashier should read, in the user's language ("" on success)."""
        _ = self.env._
        state = self.state
        if state == "pending":
            return _("Sending the payment to the terminal…")
        if state == "sent":
            return _("Follow the instructions on the payment terminal.")
        if state == "cancel_requested":
            return _(
                "Cancellation requested: press the red button on the terminal. "
                "Waiting for the terminal's answer…"
            )
        if state == "success":
            notes = []
            if self.partial:
                notes.append(
                    _(
                        "Partial payment: the terminal authorised %(authorised)s "
                        "out of %(requested)s.",
                        authorised=format_amount(
                            self.env, self.amount_authorised, self.currency_id
                        ),
                        requested=format_amount(
                            self.env, self.amount, self.currency_id
                        ),
                    )
                )
            if self.cancel_requested:
                notes.append(
                    _("The payment went through before the cancellation: it is paid.")
                )
            return " ".join(notes)
        if state == "failure":
            if not self.failure_code:
                return _("Payment refused by the terminal (no reason given).")
            return _(
                "Payment refused by the terminal: %(reason)s (code %(code)s).",
                reason=labels.failure_label(
                    self.failure_code, _engine_lang(self.env.lang)
                ),
                code=self.failure_code,
            )
        if state == "unknown":
            return _(
                "The outcome of the payment is unknown: check on the terminal whether "
                "it went through before retrying or validating the payment."
            )
        if self.cancel_requested and not self.sent_at:
            return _("The payment was cancelled before being sent to the terminal.")
        return _(
            "The payment was not sent to the terminal, the customer was not "
            "charged: %s",
            self.error_message or "",
        )
