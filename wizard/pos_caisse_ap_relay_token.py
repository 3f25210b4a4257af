from odoo import fields, models


class PosCaisseApRelayToken(models.AbstractModel):
    """Shows a new token once. No table: the dialog shows the values of the
    action's context and closes; nothing keeps the clear token."""

    _name = "pos.caisse.ap.relay.token"
    _description = "Caisse-AP shop relay token"

    # The form's onchange (which fills the defaults in) needs an id field.
    id = fields.Id()
    relay_id = fields.Many2one("pos.caisse.ap.relay", readonly=True)
    token = fields.Char(readonly=True)
    environment = fields.Char(
        string="Environment File Line",
        readonly=True,
        help="Put this line in the relay's environment file (mode 0600), never "
        "on a command line.",
    )
    command = fields.Char(readonly=True)
