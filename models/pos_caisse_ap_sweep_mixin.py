"""Lost transactions: the sweep ends the attempts whose worker died.

Past its deadline, an attempt still active is lost: the sweep ends it
"unknown" if it was sent, "error" if not. One never sent is ended sooner,
once its worker (or its shop relay) is surely late. The sweep runs from a
cron, and whenever a status, a cancel or a start finds an overdue attempt.
"""

from datetime import timedelta

from odoo import api, fields, models

from ..caisse_ap import ACTIVE_STATES
from ..runtime import spool_replay
from ..runtime.worker import SEND_DB_SECONDS, outcome_spool

# Past its deadline (start + the worker's whole budget: database retries,
# name resolution and connection, payment timeout; + grace), an active
# transaction is lost: its worker died (restart, recycled worker).
GRACE_SECONDS = 30
# This server's worker sends a request within SEND_DB_SECONDS of the commit that
# hands it over, or gives up: an attempt still not sent well after that was left
# by a worker that stopped. It ends "not sent" then, not at its deadline minutes
# later, so that the terminal and the cashier are not kept waiting for nothing.
# Sending is recorded first, under the row's lock: a worker that comes late
# finds the attempt ended and sends nothing.
UNSENT_AFTER = timedelta(seconds=SEND_DB_SECONDS + GRACE_SECONDS)


class PosCaisseApSweepMixin(models.AbstractModel):
    _name = "pos.caisse.ap.sweep.mixin"
    _description = "Caisse-AP sweep of lost transactions"

    @api.model
    def _sweep(self, domain):
        # A spooled answer is real: recorded before anything is declared lost.
        spool_replay.replay(self.env)
        unsent = self._sweep_relayed_not_taken(domain)
        now = fields.Datetime.now()
        lost = self.sudo().search(
            [
                ("state", "in", ACTIVE_STATES),
                "|",
                ("deadline", "<", now),
                "&",
                "&",
                ("sent_at", "=", False),
                ("relay_id", "=", False),
                ("started_at", "<", now - UNSENT_AFTER),
                *domain,
            ]
        )
        for transaction in lost:
            transaction._mark_lost()
        return unsent | lost

    def _sweep_lost(self):
        return self._sweep([("id", "in", self.ids)])

    def _is_overdue(self):
        """True when the sweep has something to decide about this attempt: still
        active past its deadline, not sent in time (by this server's worker or
        by a shop relay), or its outcome waits in the spool. Otherwise a status
        or a start reads it and writes nothing."""
        self.ensure_one()
        if self.state not in ACTIVE_STATES:
            return False
        if outcome_spool(self.env.cr.dbname).path(self.id).exists():
            return True
        now = fields.Datetime.now()
        if self.deadline and self.deadline < now:
            return True
        if self.sent_at:
            return False
        if self.relay_id:
            return bool(self.relay_send_deadline and self.relay_send_deadline < now)
        return bool(self.started_at and self.started_at < now - UNSENT_AFTER)

    @api.model
    def _cron_sweep(self):
        self._sweep([])

    def _mark_lost(self):
        if self.sent_at:
            state = "unknown"
            error = (
                "no outcome recorded before the deadline (server restarted or worker "
                "stopped?)"
            )
        else:
            state = "error"
            error = (
                f"never sent: no worker sent the request within "
                f"{UNSENT_AFTER.seconds} s (server restarted or worker stopped?)"
            )
        self._transition(state, f"lost: {error}", error_message=error)
