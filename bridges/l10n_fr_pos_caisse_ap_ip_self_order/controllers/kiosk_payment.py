"""The kiosk's payment request: its key passed on to the terminal payment it
starts, and a repeat that comes after its order was paid answered "paid"."""

import logging

from odoo import http
from odoo.http import request

from odoo.addons.pos_self_order.controllers.orders import PosSelfOrderController

_logger = logging.getLogger(__name__)


class CaisseApKioskPaymentController(PosSelfOrderController):
    @http.route()
    def pos_self_order_kiosk_payment(
        self,
        pos_config_id,
        order,
        payment_method_id,
        access_token,
        device_type,
        caisse_ap_start_key=None,
    ):
        """Answer "paid" to a repeat whose first request paid the order.

        The kiosk repeats a request whose reply it lost; by then the customer
        may have paid, and Odoo's endpoint, which only takes draft orders,
        would fail on the paid order. Anything else is Odoo's, with the
        request's key for the terminal payment it starts.
        """
        config = self._verify_pos_config(access_token)
        methods = config.env["pos.payment.method"]
        start_key = methods._caisse_ap_check_start_key(caisse_ap_start_key)
        paid = methods._caisse_ap_kiosk_paid(config, order, payment_method_id)
        if not paid:
            if start_key:
                request.update_context(caisse_ap_start_key=start_key)
            return super().pos_self_order_kiosk_payment(
                pos_config_id, order, payment_method_id, access_token, device_type
            )
        _logger.info(
            "Caisse-AP kiosk order %s: payment request repeated after it was paid: "
            "nothing sent",
            paid.uuid,
        )
        return {
            "order": paid.read(paid._load_pos_data_fields(config.id), load=False),
            "payment_status": {"caisse_ap_state": "success"},
        }
