"""What a transaction does when a shop relay runs it: the database is the queue.

A relayed payment is created ``pending`` like any other, with no worker: the
relay's poll finds it, the relay claims it (``pending`` -> ``sent``, the same
locked transition as the worker's), runs it in the shop and posts the outcome,
recorded like a direct one. See caisse_ap/relay_wire.py.
"""

import hmac
import json
import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..caisse_ap import ACTIVE_STATES, relay_wire

_logger = logging.getLogger(__name__)

# A relay online polls continuously: one that has not taken a payment within
# this delay is gone, and the payment was surely not sent.
SEND_SECONDS = 15


class PosCaisseApRelayMixin(models.AbstractModel):
    _name = "pos.caisse.ap.relay.mixin"
    _description = "Caisse-AP transaction run by a shop relay"

    relay_id = fields.Many2one(
        "pos.caisse.ap.relay",
        string="Shop Relay",
        readonly=True,
        ondelete="restrict",
        index="btree_not_null",
    )
    relay_request = fields.Text(readonly=True, groups="base.group_system")
    relay_request_frame = fields.Text(
        string="Request Frame (relay's copy)",
        readonly=True,
        groups="point_of_sale.group_pos_manager",
        help="The request frame the shop relay posted with the outcome, when it "
        "differs from the one the server asked (kept above).",
    )
    relay_send_deadline = fields.Datetime(readonly=True)
    relay_claim = fields.Char(readonly=True, groups="base.group_system")
    relay_result_at = fields.Datetime(string="Relay Result Received", readonly=True)

    def _hand_to_relay(self, method, job):
        """Leave this new attempt to the method's shop relay, if it has one.

        Returns the relay (empty when the server itself sends the payment).
        """
        transaction = self
        relay = method.sudo()._caisse_ap_relay()
        if relay:
            if not relay.online:
                raise UserError(
                    self.env._(
                        "The shop relay %(relay)s is offline (last seen: %(seen)s): "
                        "nothing was sent to the terminal. Check that the relay "
                        "program runs in the shop, then try again.",
                        relay=relay.name,
                        seen=relay.last_seen or self.env._("never"),
                    )
                )
            if relay.protocol < relay_wire.MIN_PAYMENT_PROTOCOL:
                raise UserError(
                    self.env._(
                        "The shop relay %s runs an old version that this Odoo cannot "
                        "trust with payments: nothing was sent to the terminal. Update "
                        "the relay program in the shop, then try again.",
                        relay.name,
                    )
                )
            transaction.write(
                {
                    "relay_id": relay.id,
                    "relay_request": json.dumps(relay_wire.to_json(job.request)),
                    "relay_send_deadline": fields.Datetime.now()
                    + timedelta(seconds=SEND_SECONDS),
                    # The relay may take the payment that much later.
                    "deadline": transaction.deadline + timedelta(seconds=SEND_SECONDS),
                }
            )
            relay._caisse_ap_wake()
        return relay

    # ------------------------------------------------------------------
    # Sweep: a relayed payment nobody took was not sent
    # ------------------------------------------------------------------
    @api.model
    def _sweep_relayed_not_taken(self, domain):
        unsent = self.sudo().search(
            [
                ("state", "in", ACTIVE_STATES),
                ("relay_id", "!=", False),
                ("sent_at", "=", False),
                ("relay_send_deadline", "<", fields.Datetime.now()),
                *domain,
            ]
        )
        for transaction in unsent:
            transaction._caisse_ap_relay_not_taken()
        return unsent

    def _caisse_ap_relay_not_taken(self):
        self._lock_row()
        if self.state not in ACTIVE_STATES or self.sent_at:
            return
        error = (
            f"not sent: the shop relay {self.relay_id.name} did not take the "
            f"request within {SEND_SECONDS} s (relay offline?)"
        )
        self._transition("error", error, error_message=error)

    # ------------------------------------------------------------------
    # Called by the relay endpoints (controllers/relay.py), as superuser
    # ------------------------------------------------------------------
    @api.model
    def _caisse_ap_relay_jobs(self, relay, protocol, claim=None):
        """The payments waiting for ``relay`` (not claimed, not past sending
        time), which speaks relay ``protocol``.

        With ``claim`` (a poll's key), they are claimed with it in this
        transaction and their jobs carry it: the relay sends them without a
        claim call. The payments this key claimed and that have no outcome yet
        come again, still within their sending time: the relay polls again
        with the same key only when it did not get the answer, so it never
        had them.
        """
        if protocol < relay_wire.MIN_PAYMENT_PROTOCOL:
            return []  # it could not prove their outcomes
        now = fields.Datetime.now()
        transactions = self.sudo().search(
            [
                ("relay_id", "=", relay.id),
                ("state", "in", ("pending", "cancel_requested")),
                ("sent_at", "=", False),
                ("relay_send_deadline", ">=", now),
            ],
            order="id",
        )
        again = self.sudo().browse()
        if claim:
            again = self.sudo().search(
                [
                    ("relay_id", "=", relay.id),
                    ("relay_claim", "=", claim),
                    ("state", "in", ("sent", "cancel_requested")),
                    ("relay_result_at", "=", False),
                    ("relay_send_deadline", ">=", now),
                ],
                order="id",
            )
        if not transactions and not again:
            return []
        # Read before anything is claimed: a policy that does not read must
        # leave the payments unclaimed (they end "not sent", never "unknown").
        allow_local, networks = self.env[
            "pos.payment.method"
        ]._caisse_ap_address_policy()
        if claim:
            transactions = again + transactions.filtered(
                lambda transaction: transaction._caisse_ap_relay_claim(claim)[0]
            )
        jobs = []
        for transaction in transactions:
            method = transaction.payment_method_id
            job = {
                "kind": "payment",
                "transaction_id": transaction.id,
                # Where the payment started: the address whose terminal
                # this transaction holds busy (older ones: the method's).
                "host": transaction.terminal_host or method.fr_caisse_ap_ip_address,
                "port": transaction.terminal_port or method.fr_caisse_ap_ip_port,
                "request": json.loads(transaction.relay_request),
                "answer_timeout": float(
                    transaction.answer_timeout or method.fr_caisse_ap_ip_timeout
                ),
                # The relay applies it to what the host resolves to.
                "allow_local": allow_local,
                "networks": list(networks),
            }
            if claim:
                job["claim"] = claim
            jobs.append(job)
        return jobs

    def _caisse_ap_relay_claim(self, claim):
        """``(send, reason)``: True once for a claim key, False for any other."""
        self.ensure_one()
        self._lock_row()
        if self.relay_claim:
            if self.relay_claim == claim:
                return True, "claimed again by the same relay"
            return False, "already claimed"
        if self.state in ACTIVE_STATES and not self.sent_at:
            if self.relay_send_deadline < fields.Datetime.now():
                self._caisse_ap_relay_not_taken()
                return False, "too late: recorded as not sent"
        if self.state not in ("pending", "cancel_requested") or self.sent_at:
            return False, f"state {self.state}"
        if not self._mark_sent():
            return False, f"state {self.state}"
        self.write({"relay_claim": claim})
        _logger.info(
            "Caisse-AP %s: payment %s attempt %s claimed by relay %s",
            self.terminal_key,
            self.payment_uuid,
            self.attempt,
            self.relay_id.name,
        )
        return True, ""

    def _caisse_ap_relay_claimed_by(self, claim):
        """Whether ``claim`` is the key that won this transaction's claim."""
        self.ensure_one()
        won = self.sudo().relay_claim
        return bool(
            won
            and self.sent_at
            and isinstance(claim, str)
            and hmac.compare_digest(won.encode(), claim.encode())
        )

    def _caisse_ap_relay_record(self, record):
        """Record the relay's outcome once: True, or False for a repeated post."""
        self.ensure_one()
        self._lock_row()
        if self.relay_result_at:
            _logger.info(
                "Caisse-AP %s: payment %s attempt %s: outcome posted again, ignored",
                self.terminal_key,
                self.payment_uuid,
                self.attempt,
            )
            return False
        self._record_outcome(record)
        self.write({"relay_result_at": fields.Datetime.now()})
        return True
