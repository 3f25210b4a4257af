"""The kiosk's fallback when a bus note is late: the status of its payment."""

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import request

from odoo.addons.pos_self_order.controllers.orders import PosSelfOrderController


class CaisseApKioskController(PosSelfOrderController):
    @http.route(
        "/kiosk/caisse_ap/status/<int:pos_config_id>",
        auth="public",
        type="json",
        website=True,
    )
    def caisse_ap_kiosk_status(self, pos_config_id, access_token, order_access_token):
        """What PAYMENT_STATUS said or would say about the kiosk's order.

        The kiosk proves which POS it is (its token) and which order it pays
        (the order's token): it reads nothing of another kiosk's orders.
        """
        pos_config = self._verify_pos_config(access_token)
        if (
            pos_config.id != pos_config_id
            or not isinstance(order_access_token, str)
            or not order_access_token
        ):
            raise NotFound()
        order = (
            request.env["pos.order"]
            .sudo()
            .search(
                [
                    ("config_id", "=", pos_config.id),
                    ("access_token", "=", order_access_token),
                ],
                limit=1,
            )
        )
        transaction = (
            request.env["pos.caisse.ap.transaction"]
            .sudo()
            .search([("kiosk_order_id", "=", order.id)], order="attempt desc", limit=1)
            if order
            else None
        )
        if not transaction:
            raise NotFound()
        if transaction._is_overdue():
            transaction._sweep_lost()
        return transaction._caisse_ap_kiosk_status()
