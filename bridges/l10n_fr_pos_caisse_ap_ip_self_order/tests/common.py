"""A kiosk POS beside the main tests' till, both on the simulated terminal."""

import json
import uuid
from datetime import timedelta

from odoo import Command, api, fields
from odoo.tools import mute_logger

from odoo.addons.l10n_fr_pos_caisse_ap_ip import caisse_ap
from odoo.addons.l10n_fr_pos_caisse_ap_ip.caisse_ap import journal
from odoo.addons.l10n_fr_pos_caisse_ap_ip.caisse_ap.simulator import (
    Scenario,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.runtime import worker as caisse_ap_worker
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.common import (
    CaisseApCommon,
    open_session,
    started_simulator,
)


class KioskCommon(CaisseApCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create(
            {
                "name": "Menu Kiosque",
                "list_price": 12.34,
                "available_in_pos": True,
                "taxes_id": [Command.clear()],
            }
        )
        cls.check_method = cls._create_method(
            "TPE Cheque Kiosque", fr_caisse_ap_ip_mode="check"
        )
        cls.kiosk = cls._kiosk_config("Borne", cls.method | cls.check_method)
        cls.kiosk_session = open_session(cls.kiosk)

    @classmethod
    def _kiosk_config(cls, name, methods):
        return cls.env["pos.config"].create(
            {
                "name": name,
                "self_ordering_mode": "kiosk",
                "self_ordering_pay_after": "each",
                "self_ordering_default_user_id": cls.pos_user.id,
                "payment_method_ids": [Command.set(methods.ids)],
            }
        )

    def setUp(self):
        super().setUp()
        self.kiosk_payment_uuids = {}

    def kiosk_order(self, price=12.34, session=None):
        """A draft order as the kiosk leaves it on the server before paying."""
        session = session or self.kiosk_session
        order_uuid = str(uuid.uuid4())
        order = self.env["pos.order"].create(
            {
                "session_id": session.id,
                "uuid": order_uuid,
                "lines": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "qty": 1,
                            "price_unit": price,
                            "price_subtotal": price,
                            "price_subtotal_incl": price,
                        }
                    )
                ],
                "amount_total": price,
                "amount_tax": 0,
                "amount_paid": 0,
                "amount_return": 0,
            }
        )
        order._ensure_access_token()
        # Known without a query: no test reads the database while a worker runs.
        self.kiosk_payment_uuids[order] = f"kiosk-{order_uuid}"
        return order

    def kiosk_pay(self, order, method=None, config=None):
        """What /kiosk/payment does once it has the order: its own cursor, the
        kiosk's user (the POS's default self-order user)."""
        self.env.flush_all()
        config = config or order.config_id
        with self.registry.cursor() as cr:
            # The kiosk whose token the request carried, as the route sets it.
            env = api.Environment(
                cr,
                config.self_ordering_default_user_id.id,
                {"caisse_ap_kiosk_config_id": config.id},
            )
            method = env["pos.payment.method"].browse((method or self.method).id)
            result = method._payment_request_from_kiosk(
                env["pos.order"].browse(order.id)
            )
        self.env.invalidate_all()
        return result

    def kiosk_transactions(self, order):
        return self.env["pos.caisse.ap.transaction"].search(
            [("kiosk_order_id", "=", order.id)], order="attempt desc"
        )

    def wait_kiosk(self, order):
        """Wait for the order's payment worker; return its latest transaction."""
        return self.wait(self.kiosk_payment_uuids[order])

    def kiosk_messages(self, order):
        """Payloads of the PAYMENT_STATUS notes sent on the order's channel."""
        self.env.cr.precommit.run()
        token = order.access_token
        messages = self.env["bus.bus"].search([("channel", "like", token)], order="id")
        return [
            json.loads(message.message)["payload"]
            for message in messages
            if json.loads(message.message).get("type") == f"{token}-PAYMENT_STATUS"
        ]

    def approval_record(self, transaction):
        """A real terminal's approval of this transaction's request, as the
        worker, the spool or a relay hands it to the journal."""
        terminal = started_simulator(self.addCleanup)
        request = transaction.payment_method_id._caisse_ap_request(
            transaction.currency_id, transaction.amount
        )
        exchange = caisse_ap.exchange(
            "127.0.0.1", terminal.port, request, allow_local=True
        )
        return journal.outcome_record(exchange)

    def swept_unknown(self, order):
        """The order's payment sent, then lost (the worker's Odoo restarted)."""
        self.simulator.set_scenario(Scenario(kind="hang", delay=0))
        self.kiosk_pay(order)
        self.wait_until(lambda: self.simulator.busy)
        transaction = self.kiosk_transactions(order)
        transaction.deadline = fields.Datetime.now() - timedelta(seconds=1)
        with mute_logger(caisse_ap_worker.__name__):
            self.env["pos.caisse.ap.transaction"]._cron_sweep()
        self.assertEqual(transaction.state, "unknown")
        return transaction

    def assert_paid_once(self, order, transaction):
        order.invalidate_recordset()
        self.assertEqual(order.state, "paid")
        [payment] = order.payment_ids
        self.assertEqual(payment.caisse_ap_transaction_id, transaction)
        self.assertEqual(payment.payment_method_id, self.method)
        self.assertEqual(payment.amount, order.amount_total)
        self.assertEqual(payment.card_no, "1234", "the last 4 digits only")
        self.assertEqual(payment.payment_method_authcode, "123456")
        return payment
