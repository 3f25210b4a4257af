"""A kiosk's payment request and its repeat at once, with committed data.

The other kiosk tests run inside one uncommitted transaction, with no real
concurrency. Here the records are committed, and the kiosk's request and its
repeat (sent after a lost reply while the first still runs) each run on a
cursor of its own, as two HTTP requests do.
"""

import uuid
from functools import partial

from odoo import SUPERUSER_ID, Command, api
from odoo.service.model import retrying
from odoo.tests import TransactionCase, tagged

from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.common import (
    WORKER_TIMEOUT,
    allow_local_terminals,
    caisse_ap_method_values,
    open_session,
    race,
    started_simulator,
    wait_all_workers,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.worker_support import wait_for_worker

PRICE = 12.34


@tagged("post_install", "-at_install")
class TestKioskCommitted(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A refusal keeps the order a draft, which the cleanup can remove.
        cls.simulator = started_simulator(cls.addClassCleanup, kind="decline")
        cls.dbname = cls.cr.dbname
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            allow_local_terminals(env)
            journal = env["account.journal"].create(
                {"name": "Kiosk Committed Bank", "type": "bank", "code": "CAPK"}
            )
            method = env["pos.payment.method"].create(
                caisse_ap_method_values(
                    journal,
                    "TPE Borne Committed",
                    fr_caisse_ap_ip_port=cls.simulator.port,
                )
            )
            product = env["product.product"].create(
                {
                    "name": "Menu Kiosque Committed",
                    "list_price": PRICE,
                    "available_in_pos": True,
                    "taxes_id": [Command.clear()],
                }
            )
            kiosk = env["pos.config"].create(
                {
                    "name": "Borne Committed",
                    "self_ordering_mode": "kiosk",
                    "self_ordering_pay_after": "each",
                    "self_ordering_default_user_id": env.ref("base.user_admin").id,
                    "payment_method_ids": [Command.set(method.ids)],
                }
            )
            session = open_session(kiosk)
            cls.journal_id, cls.method_id = journal.id, method.id
            cls.product_id, cls.kiosk_id, cls.session_id = (
                product.id,
                kiosk.id,
                session.id,
            )
        cls.addClassCleanup(cls._remove_committed)

    @classmethod
    def _remove_committed(cls):
        wait_all_workers(cls.dbname)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            product = env["product.product"].browse(cls.product_id)
            # Odoo refuses to delete a POS product while any session is open.
            product.available_in_pos = False
            # Each record before those it points to.
            for records in (
                env["pos.caisse.ap.transaction"].search(
                    [("payment_method_id", "=", cls.method_id)]
                ),
                env["pos.order"].search([("session_id", "=", cls.session_id)]),
                env["pos.session"].browse(cls.session_id),
                env["pos.config"].browse(cls.kiosk_id),
                env["pos.payment.method"].browse(cls.method_id),
                product,
                env["account.journal"].browse(cls.journal_id),
            ):
                records.unlink()
            allow_local_terminals(env, allowed=False)

    def kiosk_order(self):
        """A draft order as the kiosk leaves it before paying, committed."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            order = env["pos.order"].create(
                {
                    "session_id": self.session_id,
                    "uuid": str(uuid.uuid4()),
                    "lines": [
                        Command.create(
                            {
                                "product_id": self.product_id,
                                "qty": 1,
                                "price_unit": PRICE,
                                "price_subtotal": PRICE,
                                "price_subtotal_incl": PRICE,
                            }
                        )
                    ],
                    "amount_total": PRICE,
                    "amount_tax": 0,
                    "amount_paid": 0,
                    "amount_return": 0,
                }
            )
            return order.id, order.uuid

    def kiosk_pay(self, order_id, start_key, env):
        """What /kiosk/payment does once it has the order, as HTTP runs it."""
        kiosk_user = (
            env["pos.config"].browse(self.kiosk_id).self_ordering_default_user_id
        )
        env = env(
            user=kiosk_user.id,
            context={
                "caisse_ap_start_key": start_key,
                "caisse_ap_kiosk_config_id": self.kiosk_id,
            },
        )
        method = env["pos.payment.method"].browse(self.method_id)

        def pay():
            order = env["pos.order"].browse(order_id)
            transaction = method._caisse_ap_kiosk_start(order)
            return transaction.id, transaction.state

        return retrying(pay, env)

    def test_a_kiosk_request_and_its_repeat_at_once_one_request(self):
        """Both answer the same attempt; the terminal is asked once."""
        sent_before = len(self.simulator.exchanges)
        order_id, order_uuid = self.kiosk_order()
        first, repeat = race(
            self.registry,
            SUPERUSER_ID,
            partial(self.kiosk_pay, order_id, "tap1"),
            partial(self.kiosk_pay, order_id, "tap1"),
        )
        self.assertIsInstance(first, tuple, first)
        self.assertIsInstance(repeat, tuple, repeat)
        self.assertEqual(first[0], repeat[0], "one attempt")
        payment_uuid = f"kiosk-{order_uuid}"
        self.assertTrue(wait_for_worker(self.dbname, payment_uuid, WORKER_TIMEOUT))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            attempts = env["pos.caisse.ap.transaction"].search(
                [("payment_uuid", "=", payment_uuid)]
            )
            self.assertEqual(
                [(t.attempt, t.state, t.start_key) for t in attempts],
                [(1, "failure", "tap1")],
            )
        self.simulator.wait_for_exchanges(sent_before + 1, 10)
        self.assertEqual(len(self.simulator.exchanges) - sent_before, 1)
