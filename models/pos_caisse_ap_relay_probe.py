"""'Test connection' through a shop relay: a queued request, answered by the relay."""

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
    host = fields.Char(required=True)
    port = fields.Integer(required=True)
    state = fields.Selection(
        [("queued", "Queued"), ("taken", "Taken"), ("done", "Done")],
        default="queued",
        required=True,
    )
    ok = fields.Boolean()
    reason = fields.Char()

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
        return [
            {
                "kind": "probe",
                "probe_id": p.id,
                "host": p.host,
                "port": p.port,
                "allow_local": allow_local,
                "networks": list(networks),
            }
            for p in probes
        ]

    def _caisse_ap_done(self, ok, reason):
        """The relay's answer (once: a later post changes nothing)."""
        self.ensure_one()
        if self.state == "done":
            return
        self.write(
            {"state": "done", "ok": ok, "reason": escape_controls(reason) or False}
        )

    @api.autovacuum
    def _gc_old_probes(self):
        limit = fields.Datetime.now() - timedelta(seconds=PROBE_LIFETIME * 10)
        self.sudo().search([("create_date", "<", limit)]).unlink()
