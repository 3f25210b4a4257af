"""The self-order's order and the kiosk's payment request, checked before
Odoo's endpoints store the order.

Odoo's endpoints save the order a kiosk or a table's phone posts (any session,
any order named by id, its payment lines, its prices) and the payment route
then asks the payment method to charge it. Here the requests' arguments are
checked first (``kiosk_arguments``) and the stored order is priced by the
server; an order whose payment is running or done is answered, never
rewritten; the request's key goes on to the terminal payment it starts.
"""

import logging

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from odoo.addons.pos_self_order.controllers.orders import PosSelfOrderController

from . import kiosk_arguments

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
        config = self._verify_pos_config(access_token)
        methods = config.env["pos.payment.method"]
        if not methods._caisse_ap_kiosk_is_caisse_ap(payment_method_id):
            return super().pos_self_order_kiosk_payment(
                pos_config_id, order, payment_method_id, access_token, device_type
            )
        start_key = methods._caisse_ap_check_start_key(caisse_ap_start_key)
        paid = methods._caisse_ap_kiosk_paid(config, order, payment_method_id)
        if paid:
            _logger.info(
                "Caisse-AP kiosk order %s: payment request repeated after it was "
                "paid: nothing sent",
                paid.uuid,
            )
            return self._caisse_ap_answer(config, paid, "success")
        method = kiosk_arguments.check_payment_request(
            config, pos_config_id, device_type, payment_method_id
        )
        uuid = order.get("uuid") if isinstance(order, dict) else None
        running = methods._caisse_ap_kiosk_blocking_attempt(uuid)
        if running and running.config_id != config:
            raise UserError(config.env._("This order does not belong to this kiosk."))
        if running:
            # A repeat after a lost reply, or a rewrite while the customer pays:
            # either way the order stays as the payment found it.
            _logger.info(
                "Caisse-AP kiosk order %s: payment request while attempt %s is %s: "
                "order kept as it is, nothing sent",
                running.order_uuid,
                running.attempt,
                running.state,
            )
            return self._caisse_ap_answer(
                config, running.kiosk_order_id.sudo(), running.state
            )
        kiosk_arguments.check_order(config, order)
        request.update_context(
            caisse_ap_kiosk_config_id=config.id,
            **({"caisse_ap_start_key": start_key} if start_key else {}),
        )
        return super().pos_self_order_kiosk_payment(
            pos_config_id, order, method.id, access_token, device_type
        )

    @http.route()
    def process_order(self, order, access_token, table_identifier, device_type):
        """A self-order's order is checked (``kiosk_arguments``) before Odoo
        stores it, and priced by the server after: an order whose total
        differs is refused, so none is stored cheaper, nor "paid" at zero. An
        order being paid on a Caisse-AP terminal, or paid, is not rewritten."""
        config = self._verify_pos_config(access_token)
        methods = config.env["pos.payment.method"]
        kiosk_arguments.check_order(config, order)
        running = methods._caisse_ap_kiosk_blocking_attempt(order.get("uuid"))
        if running:
            methods._caisse_ap_kiosk_refuse_rewrite(running)
        result = super().process_order(
            order, access_token, table_identifier, device_type
        )
        stored = (
            config.env["pos.order"]
            .sudo()
            .browse([values["id"] for values in result["pos.order"]])
        )
        for each in stored:
            each._caisse_ap_kiosk_check_total()
        return result

    def _caisse_ap_answer(self, config, order, state):
        """The endpoint's answer for ``order`` without touching it."""
        return {
            "order": order.read(order._load_pos_data_fields(config.id), load=False),
            "payment_status": {"caisse_ap_state": state},
        }
