"""'Test connection' and 'Find terminals' through a shop relay: a queued
request, answered by the relay."""

import time
from datetime import timedelta

from odoo import api, fields, models

from ..caisse_ap import escape_controls

# Unanswered by then, a probe is dropped (no relay will pick it up any more).
PROBE_LIFETIME = 60


class PosCaisseApRelayProbe(models.Model):
    _name = "pos.caisse.ap.relay.probe"
    _description = "Caisse-AP connection test through a shop relay"
    _order = "id desc"

    relay_id = fields.Many2one(
        "pos.caisse.ap.relay", required=True, ondelete="cascade", index=True
    )
    # A connection test's terminal; a terminal search's network instead.
    host = fields.Char()
    network = fields.Char()
    port = fields.Integer(required=True)
    state = fields.Selection(
        [("queued", "Queued"), ("taken", "Taken"), ("done", "Done")],
        default="queued",
        required=True,
    )
    ok = fields.Boolean()
    reason = fields.Char()
    found = fields.Text(help="A terminal search's answer: one address per line.")
    complete = fields.Boolean()

    @api.model_create_multi
    def create(self, vals_list):
        probes = super().create(vals_list)
        # Heard on its bus channel, the relay takes it at once.
        probes.relay_id._caisse_ap_wake()
        return probes

    @api.model
    def _caisse_ap_take(self, relay):
        """The queued probes of ``relay``, now marked taken (a probe sends nothing:
        taking one twice would be harmless, but is useless)."""
        probes = self.sudo().search(
            [
                ("relay_id", "=", relay.id),
                ("state", "=", "queued"),
                ("create_date", ">", fields.Datetime.now() - timedelta(seconds=60)),
            ]
        )
        probes.write({"state": "taken"})
        allow_local, networks = self.env[
            "pos.payment.method"
        ]._caisse_ap_address_policy()
        policy = {"allow_local": allow_local, "networks": list(networks)}
        return [dict(probe._caisse_ap_job(), **policy) for probe in probes]

    def _caisse_ap_job(self):
        """The job of a connection test, or of a terminal search (a network)."""
        job = {"probe_id": self.id, "port": self.port}
        if self.network:
            return dict(job, kind="scan", network=self.network)
        return dict(job, kind="probe", host=self.host)

    def _caisse_ap_done(self, ok, reason, found=(), complete=True):
        """The relay's answer (once: a later post changes nothing); ``found``,
        a search's addresses, checked by the controller."""
        self.ensure_one()
        if self.state == "done":
            return
        self.write(
            {
                "state": "done",
                "ok": ok,
                "reason": escape_controls(reason) or False,
                "found": "\n".join(found) or False,
                "complete": complete,
            }
        )

    @api.model
    def _caisse_ap_ask(self, values, wait):
        """Queue a probe or a search (committed at once, so that the relay sees
        it), then wait up to ``wait`` s for the relay's answer with short
        read-only looks: ``{"ok", "reason", "found", "complete"}`` or None."""
        registry = self.env.registry
        with registry.cursor() as cr:
            probe_id = self.env(cr=cr, su=True)[self._name].create(values).id
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(0.2)
            with registry.cursor() as cr:
                probe = self.env(cr=cr, su=True)[self._name].browse(probe_id)
                if probe.state == "done":
                    return {
                        "ok": probe.ok,
                        "reason": probe.reason or "",
                        "found": (probe.found or "").split(),
                        "complete": probe.complete,
                    }
        return None

    @api.autovacuum
    def _gc_old_probes(self):
        limit = fields.Datetime.now() - timedelta(seconds=PROBE_LIFETIME * 10)
        self.sudo().search([("create_date", "<", limit)]).unlink()
