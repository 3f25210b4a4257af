"""Each row of the kiosk routes' argument table, tried as an attacker would,
through the HTTP routes a kiosk calls, on a running Odoo with simulated
terminals: refused before anything is sent, or charged the server's price."""

import logging
import time
import uuid

from odoo import Command
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from odoo.addons.l10n_fr_pos_caisse_ap_ip.caisse_ap.simulator import Scenario
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.common import (
    caisse_ap_method_values,
    started_simulator,
)

from ..controllers import kiosk_arguments
from ..controllers.kiosk_arguments import KIOSK_ARGUMENTS
from ..models import pos_caisse_ap_transaction as kiosk_transaction
from . import test_tours_kiosk
from .test_tours_kiosk import KioskRouteCase

COLA = 2.53  # 2.20 plus 15 % tax: the POS's price


@tagged("post_install", "-at_install")
class TestKioskAttacks(KioskRouteCase):
    def refused(self, order_values, message="UserError", **request):
        """Post the payment request; it must fail with ``message``."""
        with self.assertRaisesRegex(JsonRpcException, message):
            self.request_payment(order_values, **request)
        self._join_workers()
        self.env.invalidate_all()

    def assert_nothing_sent(self, *terminals):
        for terminal in (self.terminal, *terminals):
            self.assertFalse(terminal.exchanges, "nothing sent to the terminal")

    def assert_no_order(self, order_values):
        orders = self.env["pos.order"].search([("uuid", "=", order_values["uuid"])])
        self.assertFalse(orders, "the order was not stored")

    def kiosk_with_its_terminal(self):
        """Another kiosk of the same shop, with a card method on a terminal of
        its own."""
        terminal = started_simulator(self.addCleanup)
        method = self.env["pos.payment.method"].create(
            caisse_ap_method_values(
                self.bank_journal, "TPE Borne B", fr_caisse_ap_ip_port=terminal.port
            )
        )
        return self.other_kiosk(method), method, terminal

    def wait_for_the_card(self):
        """Until the terminal has the request and waits for the customer."""
        deadline = time.monotonic() + 10
        while not self.terminal.busy:
            self.assertLess(time.monotonic(), deadline, "the terminal was never asked")
            time.sleep(0.02)

    def paid_cents(self):
        return [int(e["request_fields"]["CB"]) for e in self.terminal.exchanges]

    # ------------------------------------------------------------------
    # The table names a test for each row
    # ------------------------------------------------------------------
    def test_every_argument_has_its_attack(self):
        tests = {
            name
            for case in (TestKioskAttacks, test_tours_kiosk.TestKioskRoutes)
            for name in dir(case)
            if name.startswith("test_")
        }
        for route, argument, _checked, attack in KIOSK_ARGUMENTS:
            with self.subTest(route=route, argument=argument):
                self.assertIn(attack, tests)

    # ------------------------------------------------------------------
    # Who asks: the token, the URL
    # ------------------------------------------------------------------
    def table_config(self):
        """A POS whose tables carry a self-order QR code (its token)."""
        table = self.env["pos.config"].create(
            {
                "name": "Commande à table",
                "self_ordering_mode": "mobile",
                "self_ordering_default_user_id": self.pos_user.id,
                "payment_method_ids": [Command.set(self.card.ids)],
            }
        )
        table.with_user(self.pos_user).open_ui()
        return table

    def save_order(self, values, token=None):
        """Odoo's order route, as a kiosk's cart (or a table's phone) saves it."""
        return self.rpc(
            "/pos-self-order/process-order/kiosk/",
            {
                "order": values,
                "access_token": token or self.pos_config.access_token,
                "table_identifier": None,
            },
        )

    def test_a_table_token_cannot_pay_on_a_kiosk(self):
        table = self.table_config()
        values = self.kiosk_order_values(COLA)
        self.refused(values, token=table.access_token)
        self.assert_nothing_sent()
        self.assert_no_order(values)

    def refused_at(self, url, values, token=None, payment_method_id=None):
        """Post a payment request to ``url`` as a kiosk's page; it must fail."""
        with self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.rpc(
                url,
                {
                    "order": values,
                    "access_token": token or self.pos_config.access_token,
                    "payment_method_id": payment_method_id or self.card.id,
                },
            )
        self._join_workers()
        self.env.invalidate_all()

    def test_another_pos_in_the_url_is_refused(self):
        other, _method, terminal = self.kiosk_with_its_terminal()
        values = self.kiosk_order_values(COLA)
        self.refused_at(f"/kiosk/payment/{other.id}/kiosk", values)
        self.assert_nothing_sent(terminal)

    def test_another_device_type_is_refused(self):
        values = self.kiosk_order_values(COLA)
        self.refused_at(f"/kiosk/payment/{self.pos_config.id}/mobile", values)
        self.assert_nothing_sent()

    def test_a_method_of_another_kiosk_is_refused(self):
        other, method, terminal = self.kiosk_with_its_terminal()
        table = self.table_config()
        for payment_method_id, token, session in (
            (method.id, None, None),
            # Odoo's endpoint browses whatever it gets: a list of ids too.
            ([method.id], None, other.current_session_id),
            ([self.card.id], table.access_token, None),
            ([self.card.id], None, None),
            (True, None, None),
            (float(self.card.id), None, None),
            (str(self.card.id), None, None),
        ):
            values = self.kiosk_order_values(COLA)
            if session:
                values["session_id"] = session.id
            with self.subTest(method=payment_method_id, token=bool(token)):
                self.refused_at(
                    f"/kiosk/payment/{self.pos_config.id}/kiosk",
                    values,
                    token,
                    payment_method_id,
                )
                self.assert_no_order(values)
        self.assert_nothing_sent(terminal)

    # ------------------------------------------------------------------
    # Which order: its uuid, session, POS, company, state
    # ------------------------------------------------------------------
    def test_an_order_that_is_no_object_is_refused(self):
        for order in (["x"], "order", None, 12):
            with self.subTest(order=order):
                self.refused(order)
        self.assert_nothing_sent()

    def test_an_order_in_another_session_is_refused(self):
        other, method, terminal = self.kiosk_with_its_terminal()
        till = self.env["pos.config"].create(
            {"name": "Caisse", "payment_method_ids": [Command.set(self.card.ids)]}
        )
        till.with_user(self.pos_user).open_ui()
        for session, attack in (
            (other.current_session_id, {"method": method}),  # its terminal
            (other.current_session_id, {}),
            (till.current_session_id, {}),
        ):
            values = self.kiosk_order_values(COLA)
            values["session_id"] = session.id
            with self.subTest(session=session.config_id.name, **attack):
                self.refused(values, **attack)
                self.assert_no_order(values)
        # Saved through Odoo's order route: by this kiosk in the till's
        # session, by a table's phone in this kiosk's.
        for session, token in (
            (till.current_session_id, None),
            (self.pos_config.current_session_id, self.table_config().access_token),
        ):
            values = self.kiosk_order_values(COLA)
            values["session_id"] = session.id
            with self.subTest(saved_in=session.config_id.name):
                with self.assertRaisesRegex(JsonRpcException, "UserError"):
                    self.save_order(values, token)
                self.assert_no_order(values)
        self.assert_nothing_sent(terminal)

    def test_an_order_naming_another_pos_is_refused(self):
        other, _method, terminal = self.kiosk_with_its_terminal()
        values = dict(self.kiosk_order_values(COLA), config_id=other.id)
        self.refused(values)
        self.assert_nothing_sent(terminal)
        self.assertEqual(self.pos_config.current_session_id.config_id, self.pos_config)

    def test_an_order_of_another_company_is_refused(self):
        # Its taxes filtered by another company, the cola would cost 2.20.
        company = self.env["res.company"].create({"name": "Autre société"})
        values = dict(self.kiosk_order_values(2.20), company_id=company.id)
        self.refused(values)
        self.assert_nothing_sent()
        self.assert_no_order(values)

    def test_an_order_of_another_kiosk_is_not_rewritten(self):
        other, method, terminal = self.kiosk_with_its_terminal()
        # The other kiosk's customer's order, not yet paid.
        theirs = self.kiosk_order_values(COLA)
        theirs["session_id"] = other.current_session_id.id
        self.save_order(theirs, other.access_token)
        order = self.env["pos.order"].search([("uuid", "=", theirs["uuid"])])
        self.assertEqual(order.config_id, other)
        # This kiosk posts it in its own session to pay it on its terminal.
        self.refused(dict(theirs, session_id=self.pos_config.current_session_id.id))
        # Odoo writes the order that "id" names: this kiosk's own draft's uuid
        # with their order's id, through both routes.
        mine = self.kiosk_order_values(COLA)
        self.save_order(mine)
        wine = self.kiosk_order_values(0.0)["lines"]
        rewrite = dict(mine, id=order.id, lines=wine, amount_total=0)
        with self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.save_order(rewrite)
        self.refused(rewrite)
        self.env.invalidate_all()
        self.assertEqual(order.config_id, other, "still the other kiosk's")
        self.assertEqual(order.uuid, theirs["uuid"])
        self.assertEqual(len(order.lines), 1)
        self.assertAlmostEqual(order.amount_total, COLA, places=2)
        self.assert_nothing_sent(terminal)

    def test_a_paid_order_is_not_reopened_by_its_id(self):
        paid = self.pay(self.kiosk_order_values(COLA))
        self.assertEqual(paid.state, "paid")
        mine = self.kiosk_order_values(COLA)
        self.save_order(mine)
        with self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.save_order(dict(mine, id=paid.id, lines=[], amount_total=0))
        self.env.invalidate_all()
        self.assertEqual(paid.state, "paid")
        self.assertEqual(len(paid.lines), 1)

    def test_an_order_posted_paid_is_refused(self):
        values = dict(self.kiosk_order_values(COLA), state="paid")
        self.refused(values)
        self.assert_nothing_sent()
        self.assert_no_order(values)

    # ------------------------------------------------------------------
    # What it costs: payment lines, lines, combos
    # ------------------------------------------------------------------
    def test_made_up_payment_lines_are_refused(self):
        # Part of the total "paid" by a line the kiosk made up: the terminal
        # would be asked 0.01; all of it: the order would wait, "paid", at the till.
        for amount in (COLA - 0.01, COLA):
            values = self.kiosk_order_values(COLA)
            values["payment_ids"] = [
                [
                    0,
                    0,
                    {
                        "payment_method_id": self.bank_payment_method.id,
                        "amount": amount,
                        "uuid": f"kiosk-{values['uuid']}",
                    },
                ]
            ]
            with self.subTest(amount=amount):
                self.refused(values)
                self.assert_no_order(values)
        self.assert_nothing_sent()

    def test_an_order_priced_zero_is_refused(self):
        # Odoo's order route marks an order of zero total paid: a cola at 0.00
        # would go to the kitchen without any payment; at 0.01, stay cheaper.
        for price in (0.0, 0.01):
            values = self.kiosk_order_values(price)
            with self.subTest(price=price):
                with self.assertRaisesRegex(JsonRpcException, "prices"):
                    self.save_order(values)
                self.assert_no_order(values)
        values = self.kiosk_order_values(COLA)
        self.save_order(values)
        [order] = self.env["pos.order"].search([("uuid", "=", values["uuid"])])
        self.assertEqual(order.state, "draft", "priced by the server, waits to be paid")

    def test_lines_that_lower_the_total_are_refused(self):
        def with_line(**line):
            values = self.kiosk_order_values(COLA)
            values["lines"][0][2].update(line)
            values["lines"][0][2]["price_subtotal_incl"] = COLA * line.get("qty", 1)
            values["amount_total"] = values["lines"][0][2]["price_subtotal_incl"]
            return values

        two_colas = self.kiosk_order_values(COLA)
        two_colas["lines"][0][2].update(qty=2, price_subtotal_incl=2 * COLA)
        minus_one = self.kiosk_order_values(COLA)["lines"][0]
        minus_one[2].update(product_id=self.fanta.id, qty=-1, price_subtotal_incl=-COLA)
        two_colas["lines"].append(minus_one)
        for values in (
            two_colas,  # two colas, "minus one fanta": one cola's price
            with_line(qty=0),
            with_line(qty=True),
            with_line(qty=0.5),
            with_line(qty=float("nan")),
            with_line(qty=float("inf")),
            with_line(discount=50),
            with_line(refunded_orderline_id=1),
        ):
            with self.subTest(lines=values["lines"]):
                self.refused(values)
        values = self.kiosk_order_values(COLA)
        values["lines"].append(
            [4, self.env["pos.order.line"].search([], limit=1).id, 0]
        )
        self.refused(values)
        # A wine made an item of a combo of another order, which Odoo links by
        # uuid: it would be priced with that combo, not here.
        other = self.kiosk_order_values(COLA)
        self.save_order(other)
        wine = self.kiosk_order_values(0.0)["lines"][0]
        wine[2].update(combo_parent_uuid=other["lines"][0][2]["uuid"], qty=3)
        values = self.kiosk_order_values(COLA)
        values["lines"].append(wine)
        self.refused(values)
        with self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.save_order(values)
        self.assert_nothing_sent()

    def combo_order_values(self, parent_price):
        """A menu: its own line at ``parent_price``, then its one item, a cola."""
        drinks = self.env["product.combo"].create(
            {
                "name": "Boissons",
                "combo_item_ids": [Command.create({"product_id": self.cola.id})],
            }
        )
        menu = self.env["product.product"].create(
            {
                "name": "Menu boisson",
                "type": "combo",
                "list_price": 4.40,
                "taxes_id": [Command.clear()],
                "available_in_pos": True,
                "combo_ids": [Command.set(drinks.ids)],
            }
        )
        values = self.kiosk_order_values(COLA)
        item = values["lines"][0][2]
        item.update(id=2, combo_item_id=drinks.combo_item_ids.id)
        parent = {
            "id": 1,
            "uuid": str(uuid.uuid4()),
            "product_id": menu.id,
            "qty": 1,
            "price_unit": parent_price,
            "price_subtotal": parent_price,
            "price_subtotal_incl": parent_price,
            "combo_line_ids": [2],
            "tax_ids": [],
        }
        values["lines"].insert(0, [0, 0, parent])
        return values

    def test_a_combo_parent_priced_negative_is_refused(self):
        # The menu is 4.40 before tax: Odoo prices its cola 4.40 + 15 %.
        self.refused(self.combo_order_values(-4.0))
        self.assert_nothing_sent()
        order = self.pay(self.combo_order_values(0))
        self.assertEqual(order.state, "paid")
        self.assertEqual(self.paid_cents(), [506])

    # ------------------------------------------------------------------
    # When: while the customer pays, after it is paid
    # ------------------------------------------------------------------
    def test_an_order_being_paid_cannot_be_rewritten(self):
        self.terminal.set_scenario(Scenario(hold=True, delay=0))
        values = self.kiosk_order_values(COLA)
        answer = self.request_payment(values, start_key="tap1")
        self.assertEqual(answer["payment_status"]["caisse_ap_state"], "pending")
        self.wait_for_the_card()
        cheaper = self.kiosk_order_values(0.01)
        cheaper["uuid"] = values["uuid"]
        # Odoo's order route, as the kiosk's cart saves it.
        with self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.save_order(cheaper)
        # The payment route, with a new tap: answered, the order kept.
        answer = self.request_payment(cheaper, start_key="tap2")
        self.assertIn(answer["payment_status"]["caisse_ap_state"], ("pending", "sent"))
        self._join_workers()
        self.env.invalidate_all()
        order = self.env["pos.order"].search([("uuid", "=", values["uuid"])])
        self.assertEqual(order.state, "paid")
        self.assertAlmostEqual(order.amount_total, COLA, places=2)
        self.assertEqual(self.paid_cents(), [253], "asked once, the server's price")

    def test_a_replay_after_paid_changes_nothing(self):
        values = self.kiosk_order_values(COLA)
        order = self.pay(dict(values))
        self.assertEqual(order.state, "paid")
        cheaper = dict(self.kiosk_order_values(0.01), uuid=values["uuid"])
        answer = self.request_payment(cheaper)
        self.assertEqual(answer["payment_status"], {"caisse_ap_state": "success"})
        with self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.save_order(cheaper)
        self.env.invalidate_all()
        self.assertAlmostEqual(order.amount_total, COLA, places=2)
        self.assertEqual(len(order.lines), 1)
        self.assertEqual(self.paid_cents(), [253])

    # ------------------------------------------------------------------
    # How often: no terminal held hostage
    # ------------------------------------------------------------------
    def test_one_payment_waits_per_kiosk(self):
        self.terminal.set_scenario(Scenario(hold=True, delay=0))
        self.request_payment(self.kiosk_order_values(COLA))
        self.wait_for_the_card()
        other_order = self.kiosk_order_values(COLA)
        with self.assertRaisesRegex(JsonRpcException, "already waiting"):
            self.request_payment(other_order)
        self._join_workers()
        self.assertEqual(len(self.terminal.exchanges), 1)

    def test_starts_from_one_kiosk_are_limited_and_logged_once(self):
        # One order, its card refused at once, tapped again and again.
        self.terminal.set_scenario(Scenario(kind="decline", af_code="05", delay=0))
        limit = kiosk_transaction.KIOSK_STARTS_PER_MINUTE
        kiosk_transaction._limit_logged_at.clear()
        values = self.kiosk_order_values(COLA)
        for tap in range(limit):
            self.request_payment(dict(values), start_key=f"tap{tap}")
            self._join_workers()
            # Posted again as the kiosk does, naming the order it saved.
            values["id"] = (
                self.env["pos.order"].search([("uuid", "=", values["uuid"])]).id
            )
        with self.assertLogs(kiosk_transaction.__name__, logging.WARNING) as logs:
            for tap in range(limit, limit + 3):
                with self.assertRaisesRegex(JsonRpcException, "Too many payment"):
                    self.request_payment(dict(values), start_key=f"tap{tap}")
            logging.getLogger(kiosk_transaction.__name__).warning("end")
        refusals = [line for line in logs.output if "refused for a minute" in line]
        self.assertEqual(len(refusals), 1, "logged once, not per request")
        self.assertEqual(len(self.terminal.exchanges), limit)

    def test_new_orders_of_a_kiosk_are_limited(self):
        limit = kiosk_arguments.KIOSK_NEW_ORDERS_PER_MINUTE
        kiosk_transaction._limit_logged_at.clear()
        for _order in range(limit):
            self.save_order(self.kiosk_order_values(COLA))
        with self.assertLogs(kiosk_transaction.__name__, logging.WARNING) as logs:
            for _order in range(3):
                values = self.kiosk_order_values(COLA)
                with self.assertRaisesRegex(JsonRpcException, "Too many orders"):
                    self.save_order(values)
                self.assert_no_order(values)
            logging.getLogger(kiosk_transaction.__name__).warning("end")
        refusals = [line for line in logs.output if "refused for a minute" in line]
        self.assertEqual(len(refusals), 1, "logged once, not per request")
