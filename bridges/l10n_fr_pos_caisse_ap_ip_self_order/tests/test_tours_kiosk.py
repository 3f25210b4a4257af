"""A kiosk in Chromium pays on the simulated terminal, directly and through a
real shop relay process; the assertions check what the server recorded."""

import json
import uuid

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from odoo.addons.l10n_fr_pos_caisse_ap_ip.caisse_ap.simulator import (
    Scenario,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.common import (
    allow_local_terminals,
    caisse_ap_method_values,
    join_workers,
    started_simulator,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.relay_support import (
    RelayProcessMixin,
    new_relay,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.screenshot_support import (
    ScreenshotMixin,
    png_size,
)
from odoo.addons.l10n_fr_pos_caisse_ap_ip.tests.tour_support import BrowserTourMixin
from odoo.addons.pos_self_order.tests.self_order_common_test import (
    SelfOrderCommonTest,
)

SHOTS = {
    "screenshot_kiosk_refused": "a refusal on the kiosk, its reason and Retry",
    "screenshot_kiosk_payment": "the kiosk while the customer pays",
}


class KioskTourCase(BrowserTourMixin, SelfOrderCommonTest):
    """The self-order tests' bar as a kiosk whose only method is a Caisse-AP card
    method on the simulator."""

    def setUp(self):
        super().setUp()
        allow_local_terminals(self.env)
        # A second's wait: the tour sees the page that asks for the card.
        self.terminal = started_simulator(self.addCleanup, delay=1)
        self.addCleanup(self._join_workers)
        self.card = self.env["pos.payment.method"].create(
            caisse_ap_method_values(
                self.bank_journal, "TPE Borne", fr_caisse_ap_ip_port=self.terminal.port
            )
        )
        self.pos_config.write(
            {
                "self_ordering_mode": "kiosk",
                "self_ordering_pay_after": "each",
                "self_ordering_takeaway": False,
                "self_ordering_service_mode": "counter",
                "payment_method_ids": [Command.set(self.card.ids)],
            }
        )
        self.pos_config.with_user(self.pos_user).open_ui()
        self.pos_config.current_session_id.set_opening_control(0, "")
        # Read once, before any relay runs: a running relay's requests share this
        # test's connection, and the test thread then stays off it.
        self.kiosk_route = self.pos_config._get_self_order_route()

    def _join_workers(self):
        join_workers(self, self.terminal)

    def run_kiosk_tour(self, name, **kwargs):
        self.start_tour(self.kiosk_route, name, timeout=240, **kwargs)
        self.env.invalidate_all()

    def kiosk_orders(self):
        return self.env["pos.order"].search(
            [("config_id", "=", self.pos_config.id)], order="id"
        )

    def journal(self):
        return self.env["pos.caisse.ap.transaction"].search(
            [("config_id", "=", self.pos_config.id)], order="id"
        )

    def assert_paid_by_the_terminal(self, order):
        self.assertEqual(order.state, "paid")
        [payment] = order.payment_ids
        self.assertEqual(payment.payment_method_id, self.card)
        # The order's total is stored unrounded (2.5300000000000002).
        self.assertAlmostEqual(payment.amount, order.amount_total, places=2)
        self.assertEqual(payment.caisse_ap_transaction_id.state, "success")
        self.assertEqual(payment.card_no, "1234")


@tagged("post_install", "-at_install")
class TestKioskTours(KioskTourCase):
    def test_tour_kiosk_refused_then_approved(self):
        self.terminal.queue(
            Scenario(kind="decline", af_code="05", delay=1), Scenario(delay=1)
        )
        self.run_kiosk_tour("CaisseApKioskRefusedThenApproved")
        [order] = self.kiosk_orders()
        self.assert_paid_by_the_terminal(order)
        self.assertEqual(self.journal().mapped("state"), ["failure", "success"])
        self.assertEqual(len(self.terminal.exchanges), 2)
        # What the terminal was asked is what the server priced.
        cents = round(order.amount_total * 100)
        self.assertEqual(cents, 253, "2.20 + 15 % tax, priced by the server")
        for exchange in self.terminal.exchanges:
            self.assertEqual(int(exchange["request_fields"]["CB"]), cents)

    def test_tour_kiosk_start_repeated_after_network_faults_charges_once(self):
        # A start reset before Odoo, then one whose reply is lost after Odoo
        # sent the request: the kiosk asks again and follows that payment.
        self.run_kiosk_tour("CaisseApKioskStartRepeatedAfterNetworkFaults")
        [order] = self.kiosk_orders()
        self.assert_paid_by_the_terminal(order)
        self.assertEqual(self.journal().mapped("state"), ["success"])
        self.assertEqual(len(self.terminal.exchanges), 1, "charged once")

    def test_tour_kiosk_unknown_sends_to_the_staff_who_settle_at_the_till(self):
        self.terminal.set_scenario(Scenario(kind="close", delay=1))
        self.run_kiosk_tour("CaisseApKioskUnknownSeesStaff")
        [order] = self.kiosk_orders()
        self.assertEqual(order.state, "draft", "never shown as paid")
        self.assertFalse(order.payment_ids)
        [unknown] = self.journal()
        self.assertEqual(unknown.state, "unknown")
        self.assertEqual(len(self.terminal.exchanges), 1)

        # The cashier opens the order at the till and finds it paid on the terminal.
        self.start_tour(
            f"/pos/ui?config_id={self.pos_config.id}",
            "CaisseApKioskSettledAtTheTill",
            login="pos_user",
            timeout=240,
        )
        self.env.invalidate_all()
        self.assertEqual(order.state, "paid")
        [payment] = order.payment_ids
        self.assertEqual(payment.uuid, unknown.payment_uuid)
        self.assertAlmostEqual(payment.amount, order.amount_total, places=2)
        self.assertEqual(unknown.kiosk_settlement, "paid")
        self.assertEqual(unknown.kiosk_settled_by_id, self.pos_user)
        self.assertEqual(len(self.terminal.exchanges), 1, "never sent again")


class KioskRouteCase(KioskTourCase):
    """A kiosk's requests as its page sends them, through Odoo's HTTP routes."""

    def kiosk_order_values(self, price_unit):
        """An order as a kiosk posts it, with the price it claims."""
        return {
            "uuid": str(uuid.uuid4()),
            "session_id": self.pos_config.current_session_id.id,
            "lines": [
                [
                    0,
                    0,
                    {
                        "uuid": str(uuid.uuid4()),
                        "product_id": self.cola.id,
                        "qty": 1,
                        "price_unit": price_unit,
                        "price_subtotal": price_unit,
                        "price_subtotal_incl": price_unit,
                        "tax_ids": [],
                    },
                ]
            ],
            "amount_total": price_unit,
            "amount_tax": 0,
            "amount_paid": 0,
            "amount_return": 0,
            "state": "draft",
        }

    def rpc(self, route, params):
        """A JSON-RPC call as the kiosk's page makes it; an error raises
        JsonRpcException with the error's name and its message."""
        response = self.url_open(
            route,
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}),
            headers={"Content-Type": "application/json"},
        )
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            data = answer["error"]["data"]
            raise JsonRpcException(
                answer["error"]["code"], f"{data['name']}: {data['message']}"
            )
        return answer["result"]

    def request_payment(self, order_values, token=None, method=None, start_key=None):
        """What the kiosk's page posts to pay an order; Odoo's answer."""
        params = {
            "order": order_values,
            "access_token": token or self.pos_config.access_token,
            "payment_method_id": (method or self.card).id,
        }
        if start_key is not None:
            params["caisse_ap_start_key"] = start_key
        return self.rpc(f"/kiosk/payment/{self.pos_config.id}/kiosk", params)

    def pay(self, order_values, token=None, start_key=None):
        self.request_payment(order_values, token, start_key=start_key)
        # The worker shares this test's connection: no query before it ends.
        self._join_workers()
        self.env.invalidate_all()
        return self.env["pos.order"].search([("uuid", "=", order_values["uuid"])])

    def status(self, order_token, config_token=None):
        return self.make_jsonrpc_request(
            f"/kiosk/caisse_ap/status/{self.pos_config.id}",
            {
                "access_token": config_token or self.pos_config.access_token,
                "order_access_token": order_token,
            },
        )

    def other_kiosk(self, methods=None):
        other = self.env["pos.config"].create(
            {
                "name": "Autre borne",
                "self_ordering_mode": "kiosk",
                "self_ordering_default_user_id": self.pos_user.id,
                "payment_method_ids": [Command.set((methods or self.card).ids)],
            }
        )
        other.with_user(self.pos_user).open_ui()
        return other


@tagged("post_install", "-at_install")
class TestKioskRoutes(KioskRouteCase):
    """What a kiosk's requests may do, written as the attacks a reviewer would try."""

    def test_the_kiosk_cannot_choose_the_amount(self):
        # Odoo's endpoint keeps the price the kiosk claims: 0.01 for a Coca-Cola.
        with self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.pay(self.kiosk_order_values(price_unit=0.01))
        self.assertFalse(self.terminal.exchanges, "nothing sent")

        order = self.pay(self.kiosk_order_values(price_unit=2.53))
        self.assertEqual(order.state, "paid")
        # Coca-Cola at 2.20 plus 15 % tax, the POS's price.
        self.assertEqual(self.terminal.exchanges[-1]["request_fields"]["CB"], "253")
        status = self.status(order.access_token)
        self.assertEqual(status["payment_result"], "Success")
        self.assertEqual(status["caisse_ap"]["outcome"], "paid")

    def test_a_request_repeated_after_the_payment_answers_paid(self):
        # The kiosk's first request paid the order but its reply was lost:
        # the page sends it again, once the customer has paid.
        values = self.kiosk_order_values(price_unit=2.53)
        order = self.pay(dict(values))
        self.assertEqual(order.state, "paid")
        answer = self.request_payment(dict(values))
        self.assertEqual(answer["payment_status"], {"caisse_ap_state": "success"})
        [told] = answer["order"]
        self.assertEqual(told["access_token"], order.access_token)
        self.assertEqual(told["state"], "paid")
        self.assertEqual(len(self.terminal.exchanges), 1, "not sent again")
        self.env.invalidate_all()
        self.assertEqual(len(order.payment_ids), 1)

    def test_a_request_repeated_after_a_quick_refusal_tells_the_refusal(self):
        # The reply to the tap was lost and the terminal refused at once: the
        # page's repeat (same key) is told the refusal, not asked for a card.
        self.terminal.queue(Scenario(kind="decline", af_code="05", delay=0))
        self.request_payment(self.kiosk_order_values(price_unit=2.53), start_key="tap1")
        self._join_workers()
        self.env.invalidate_all()
        self.assertEqual(self.journal().mapped("start_key"), ["tap1"], "passed on")
        [order] = self.kiosk_orders()
        # What Odoo's endpoint does with the repeat once it has taken the order.
        kiosk_card = self.card.with_context(
            caisse_ap_kiosk_config_id=self.pos_config.id
        )
        card = kiosk_card.with_context(caisse_ap_start_key="tap1")
        self.assertEqual(
            card._payment_request_from_kiosk(order), {"caisse_ap_state": "failure"}
        )
        self._join_workers()
        self.assertEqual(len(self.terminal.exchanges), 1, "asked once")
        # A key set by no route is checked all the same.
        card = kiosk_card.with_context(caisse_ap_start_key="a b")
        with self.assertRaisesRegex(UserError, "Invalid payment request key"):
            card._payment_request_from_kiosk(order)
        # The customer's next tap is a new request: the terminal asks again.
        card = kiosk_card.with_context(caisse_ap_start_key="tap2")
        self.assertEqual(
            card._payment_request_from_kiosk(order), {"caisse_ap_state": "pending"}
        )
        self._join_workers()
        self.env.invalidate_all()
        self.assertEqual(self.journal().mapped("state"), ["failure", "success"])
        self.assertEqual(len(self.terminal.exchanges), 2)

    def test_a_malformed_start_key_is_refused_before_the_order_is_taken(self):
        for start_key in (12, True, ["k"], "a b", "k" * 65):
            with (
                self.subTest(start_key=start_key),
                self.assertRaisesRegex(JsonRpcException, "UserError"),
            ):
                self.request_payment(
                    self.kiosk_order_values(price_unit=2.53), start_key=start_key
                )
        self.assertFalse(self.kiosk_orders())
        self.assertFalse(self.terminal.exchanges)

    def test_a_repeat_tells_paid_only_to_the_kiosk_and_method_that_paid(self):
        values = self.kiosk_order_values(price_unit=2.53)
        order = self.pay(dict(values))
        second_card = self.env["pos.payment.method"].create(
            caisse_ap_method_values(
                self.bank_journal, "TPE 2", fr_caisse_ap_ip_port=self.terminal.port
            )
        )
        other = self.other_kiosk()
        for attack in (
            {"token": other.access_token},  # another kiosk names this order
            {"method": second_card},  # a method that did not pay it
        ):
            with self.subTest(attack=list(attack)):
                with self.assertRaisesRegex(JsonRpcException, "UserError"):
                    self.request_payment(dict(values), **attack)
        self.assertEqual(len(self.terminal.exchanges), 1, "nothing sent again")
        # What a kiosk may send finds nothing but that order, paid by that method.
        methods = self.env["pos.payment.method"].with_user(self.pos_user)
        card = self.card.id
        for order_values, method_id in (
            *(
                ({"uuid": uuid_}, card)
                for uuid_ in (order.uuid.upper(), f"{order.uuid}%", "", None, ["x"], 12)
            ),
            (None, card),
            ([order.uuid], card),
            (values, True),
            (values, str(card)),
            (values, self.bank_payment_method.id),
            (values, 0),
        ):
            with self.subTest(order=order_values, method=method_id):
                self.assertFalse(
                    methods._caisse_ap_kiosk_paid(
                        self.pos_config, order_values, method_id
                    )
                )
        with self.assertRaises(UserError):
            methods._caisse_ap_kiosk_paid(other, values, card)
        with self.assertRaises(UserError):
            methods._caisse_ap_kiosk_paid(self.pos_config, values, second_card.id)
        self.assertEqual(
            methods._caisse_ap_kiosk_paid(self.pos_config, values, card), order
        )

    def test_the_status_of_another_pos_order_is_not_told(self):
        order = self.pay(self.kiosk_order_values(price_unit=2.53))
        other = self.other_kiosk()
        for config_token, order_token in (
            (other.access_token, order.access_token),  # another kiosk's token
            (self.pos_config.access_token, "not-this-order"),
            (self.pos_config.access_token, ""),
        ):
            with self.assertRaises(JsonRpcException):
                self.status(order_token, config_token)


@tagged("post_install", "-at_install")
class TestKioskRelayTour(RelayProcessMixin, KioskTourCase):
    def test_tour_kiosk_through_a_relay(self):
        relay, token = new_relay(
            self.env, "Kiosk relay", company_id=self.pos_config.company_id.id
        )
        self.card.write(
            {"fr_caisse_ap_ip_connection": "relay", "fr_caisse_ap_relay_id": relay.id}
        )
        self.terminal.queue(
            Scenario(kind="decline", af_code="05", delay=1),
            Scenario(delay=1),
            Scenario(kind="close", delay=1),
        )
        self.start_relay(token, relay)
        self.run_kiosk_tour("CaisseApKioskRefusedThenApproved")
        self.run_kiosk_tour("CaisseApKioskUnknownSeesStaff")
        # The relay shares this test's connection: stop it before reading.
        self.stop_relay()
        self.env.invalidate_all()
        paid, unknown = self.kiosk_orders()
        self.assert_paid_by_the_terminal(paid)
        self.assertEqual(unknown.state, "draft", "never shown as paid")
        self.assertFalse(unknown.payment_ids)
        journal = self.journal()
        self.assertEqual(journal.mapped("state"), ["failure", "success", "unknown"])
        self.assertEqual(journal.relay_id, relay)
        self.assertTrue(all(journal.mapped("relay_result_at")))
        self.assertEqual(len(self.terminal.exchanges), 3, "none sent twice")


@tagged("post_install", "-at_install")
class TestKioskScreenshots(ScreenshotMixin, KioskTourCase):
    """The README's kiosk: a refusal, then the customer paying. In English:
    Odoo 18.0's kiosk stays in English when a customer picks French (its
    French words never load), so a French picture would mix languages."""

    def test_tour_kiosk_screenshots(self):
        self.terminal.queue(
            Scenario(kind="decline", af_code="05", delay=1), Scenario(delay=4)
        )
        for name in SHOTS:
            (self.directory / f"{name}.png").unlink(missing_ok=True)
        with self._capturing_console():
            self.run_kiosk_tour("CaisseApKioskScreenshots")
        for name, what in SHOTS.items():
            path = self.directory / f"{name}.png"
            self.assertTrue(path.exists(), f"no screenshot of {what}")
            self.assertGreaterEqual(png_size(path.read_bytes()), (300, 500), what)
        self.assert_paid_by_the_terminal(self.kiosk_orders())
