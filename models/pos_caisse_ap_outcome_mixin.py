"""What an exchange's outcome writes to the journal, whichever path brings it.

The worker at once, the spool after the database came back, a shop relay's
post: each outcome goes through the journal's one check (caisse_ap/journal.py)
and ends the attempt by the lifecycle's rules, or is kept as evidence when
the attempt already ended. A worker that failed ends its attempt too. The
runtime calls these as runtime/transaction_calls.py lists.
"""

import logging

from odoo import models

from .. import caisse_ap
from ..caisse_ap import FINAL_STATES, Outcome
from ..runtime import cashier_labels as labels
from .pos_caisse_ap_address_mixin import ALLOW_LOCAL_PARAM, NETWORKS_PARAM

_logger = logging.getLogger(__name__)

OUTCOME_STATES = {
    Outcome.SUCCESS: "success",
    Outcome.FAILURE: "failure",
    # AE=11: the terminal took the request but did not say how it ended.
    Outcome.ACCEPTED: "unknown",
    Outcome.NO_ANSWER: "unknown",
    Outcome.MALFORMED: "unknown",
    Outcome.NOT_SENT: "error",
}


class PosCaisseApOutcomeMixin(models.AbstractModel):
    _name = "pos.caisse.ap.outcome.mixin"
    _description = "Caisse-AP outcome written to the journal"

    def _record_outcome(self, record):
        """Write an exchange's outcome, even after a cancel or a sweep.

        ``record`` is the worker's JSON-safe summary (``outcome_record``), the
        same whether it comes from the worker or from the spool.
        """
        self._lock_row()
        record = self._checked_record(record)
        outcome = Outcome(record["outcome"])
        state = OUTCOME_STATES[outcome]
        error = record["error"]
        if outcome is Outcome.ACCEPTED:
            error = (
                "the terminal accepted the request (AE=11) without giving its result"
            )
        refusal = record.get("refusal")  # absent from older spool files
        if refusal:
            _logger.warning(
                "Caisse-AP %s: payment %s attempt %s: the address policy refused "
                "the terminal (%s); see the system parameters %s and %s",
                self.terminal_key,
                self.payment_uuid,
                self.attempt,
                error,
                ALLOW_LOCAL_PARAM,
                NETWORKS_PARAM,
            )
            # Stored in the cashier's language, like the journal's other texts.
            method = self.payment_method_id.with_context(
                lang=self.user_id.lang or "en_US"
            )
            error = method._caisse_ap_resolved_refusal(refusal)
        vals = {
            "duration": record["duration"],
            **self._sent_frame_values(record["request_frame"]),
            "answer_frame": record["answer_frame"],
            "error_message": caisse_ap.escape_controls(error or "") or False,
            **self._result_values(record["result"]),
        }
        detail = "{} in {:.1f} s{}; answer {}".format(
            outcome.value,
            record["duration"],
            f" ({error})" if error else "",
            record["answer_log"] or "(none)",
        )
        if self._may_go(self.state, state):
            self._transition(state, detail, **vals)
        else:
            # E.g. no answer after a sweep: the evidence is kept, the state stays.
            self.write(vals)
            self._log_lifecycle(self.state, self.state, f"{state} ignored: {detail}")

    def _sent_frame_values(self, sent):
        """The journal's request frame is the one the server built when the
        payment started: an outcome's copy (a relay's post: whoever holds the
        token writes it) never replaces it. A different copy is kept beside
        it for the integrator, and said."""
        if not sent or sent == self.request_frame:
            return {}
        if not self.request_frame:
            # Nothing was kept when it started (an entry written by hand).
            return {"request_frame": sent}
        _logger.warning(
            "Caisse-AP %s: payment %s attempt %s: the outcome's request frame "
            "differs from the one the server asked; the journal keeps the "
            "server's, and the other one beside it: asked %s, posted %s",
            self.terminal_key,
            self.payment_uuid,
            self.attempt,
            self.request_frame,
            sent,
        )
        return {"relay_request_frame": sent}

    def _checked_record(self, record):
        """The one gate of every outcome (worker, spool, shop relay): see
        caisse_ap/journal.py. Raises OutcomeRejected; nothing is written then."""
        self.ensure_one()
        requested = round(self.amount * 10**self.currency_id.decimal_places)
        return caisse_ap.checked_record(record, requested)

    def _result_values(self, result):
        """The fields a terminal's answer fills."""
        if not result:
            return {}
        # Stored in the cashier's language, like the journal's other texts.
        user_env = self.with_context(lang=self.user_id.lang or "en_US").env
        decimals = 10**self.currency_id.decimal_places
        return {
            "auth_code": result["auth_code"] or False,
            "card_last4": result["card_last4"] or False,
            "application_code": result["application_code"] or False,
            "application_label": result["application_code"]
            and labels.application_label(user_env, result["application_code"]),
            "read_mode_code": result["read_mode_code"] or False,
            "read_mode_label": result["read_mode_code"]
            and labels.read_mode_label(user_env, result["read_mode_code"]),
            "failure_code": result["failure_code"] or False,
            "failure_label": result["failure_code"]
            and labels.failure_label(user_env, result["failure_code"]),
            "receipt_text": result["receipt_text"] or False,
            "amount_authorised": (
                result["authorised_amount"] / decimals
                if result["authorised_amount"]
                else False
            ),
            "partial": result["partial"],
        }

    def _record_crash(self, state, error):
        """The worker failed unexpectedly: end the transaction anyway."""
        self._lock_row()
        if self.state in FINAL_STATES:
            return
        self._transition(state, error, error_message=error)
