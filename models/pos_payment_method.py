from odoo import models

TERMINAL_KEY = "fr-caisse_ap_ip"


class PosPaymentMethod(models.Model):
    _inherit = "pos.payment.method"

    def _get_payment_terminal_selection(self):
        return super()._get_payment_terminal_selection() + [
            (TERMINAL_KEY, self.env._("Caisse AP over IP (France only)"))
        ]
