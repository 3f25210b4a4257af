from odoo import fields, models


class PosCaisseApRelayPairingCode(models.AbstractModel):
    """Shows a new pairing code once, with the command that asks for it. No table:
    the dialog shows the values of the action's context; Odoo keeps only a
    hash of the code (models/pos_caisse_ap_relay_pairing.py)."""

    _name = "pos.caisse.ap.relay.pairing.code"
    _description = "Caisse-AP shop relay pairing code"

    # The form's onchange (which fills the defaults in) needs an id field.
    id = fields.Id()
    relay_id = fields.Many2one("pos.caisse.ap.relay", readonly=True)
    code = fields.Char(string="Pairing Code", readonly=True)
    expires_at = fields.Datetime(string="Valid Until", readonly=True)
    command = fields.Char(
        readonly=True,
        help="Run it as root on the relay's machine, then type the pairing code at "
        "its prompt: it writes the relay's token to /etc/caisse-ap-relay.env "
        "(mode 0600).",
    )
