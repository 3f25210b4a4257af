from odoo import fields, models

from ..models.pos_payment_method import TERMINAL_KEY


class PosCaisseApTerminalFinderLine(models.TransientModel):
    _name = "pos.caisse.ap.terminal.finder.line"
    _description = "Terminal found by the Caisse-AP terminal finder"
    _order = "id"

    finder_id = fields.Many2one(
        "pos.caisse.ap.terminal.finder", required=True, ondelete="cascade"
    )
    address = fields.Char(readonly=True)
    used_by = fields.Char(readonly=True)

    def action_use(self):
        """Fill the finder's payment method with this address (a new method
        when the finder was opened without one)."""
        self.ensure_one()
        finder = self.finder_id
        finder._check_finder_access()
        method = finder.payment_method_id
        if method:
            method.write(
                {
                    "fr_caisse_ap_ip_address": self.address,
                    "fr_caisse_ap_ip_port": finder.port,
                }
            )
            return {
                "type": "ir.actions.act_window",
                "res_model": "pos.payment.method",
                "res_id": method.id,
                "view_mode": "form",
                "target": "current",
            }
        return {
            "type": "ir.actions.act_window",
            "res_model": "pos.payment.method",
            "view_mode": "form",
            "target": "current",
            "context": {
                "default_use_payment_terminal": TERMINAL_KEY,
                "default_fr_caisse_ap_ip_address": self.address,
                "default_fr_caisse_ap_ip_port": finder.port,
                **(
                    {
                        "default_fr_caisse_ap_ip_connection": "relay",
                        "default_fr_caisse_ap_relay_id": finder.relay_id.id,
                    }
                    if finder.relay_id
                    else {}
                ),
            },
        }
