"""What the POS gets of a transaction: its dict and the bus notes.

The tills read a transaction as the RPC contract's dict (the README's server
API); each change of state is told on the POS's public bus channel without
any detail, and whole to the paying tab's private channel.
"""

from odoo import models

from ..caisse_ap import FINAL_STATES
from ..runtime import cashier_labels as labels


class PosCaisseApNotifyMixin(models.AbstractModel):
    _name = "pos.caisse.ap.notify.mixin"
    _description = "Caisse-AP transaction as the POS gets it"

    def _notify_pos(self):
        """Tell the POS that this payment changed; it reads the details itself.

        The config's bus channel is public: the self-order page and the customer
        display subscribe to it with the token printed on tables. So the note
        carries no card data, receipt nor error text (which names the terminal),
        only what lets a till know it should call ``caisse_ap_status``. Each
        change also goes, whole, to the paying tab's result channel.
        """
        self.ensure_one()
        # First: a till that gets it has no reason to call for the details.
        self._notify_result()
        self.config_id.sudo()._notify(
            "CAISSE_AP_TRANSACTION",
            {
                "payment_uuid": self.payment_uuid,
                "attempt": self.attempt,
                "state": self.state,
            },
        )

    def _notify_result(self):
        """The transaction dict, to the POS tab that started the payment only.

        Its result channel is a random name that tab made and gave with the
        start: no other page knows it, so it may carry what
        ``caisse_ap_status`` answers, and the till shows the change (the
        terminal has the request, a cancel recorded, the outcome) without one
        more call. A tab reloaded since then has a new name and reads the
        details after the public note, as before.
        """
        channel = self.sudo().result_channel
        if not channel:
            return
        lang = self.user_id.lang or "en_US"
        tx = self.with_context(lang=lang)._pos_dict()
        self.env["bus.bus"].sudo()._sendone(channel, "CAISSE_AP_RESULT", tx)

    def _pos_dict(self):
        """The RPC contract's TRANSACTION DICT; amounts signed like the payment line."""
        self.ensure_one()
        sign = -1 if self.direction == "credit" else 1
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
            "application_label": labels.application_label(
                self.env, self.application_code
            ),
            "read_mode_label": labels.read_mode_label(self.env, self.read_mode_code),
            "receipt_text": self.receipt_text or "",
            "failure_code": self.failure_code or "",
            "message": labels.transaction_message(self),
            "cancel_requested": self.cancel_requested,
        }
