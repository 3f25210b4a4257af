"""The terminal finder, used and attacked through Odoo's JSON-RPC routes."""

import json
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from ..caisse_ap import discovery
from ..caisse_ap.simulator import Scenario, TerminalSimulator
from ..wizard import pos_caisse_ap_terminal_finder as finder_module
from .common import CaisseApCommon, allow_local_terminals
from .relay_support import new_relay

FINDER = "pos.caisse.ap.terminal.finder"


@tagged("post_install", "-at_install")
class TestTerminalFinder(CaisseApCommon, HttpCase):
    def setUp(self):
        super().setUp()
        # HttpCase.authenticate keeps its HTTP session in self.session, where
        # the common set-up keeps the POS session (no test here needs it).
        self.session = None
        self.knocked = []
        knock = discovery._accepts

        async def counted(address, port, timeout):
            self.knocked.append(address)
            return await knock(address, port, timeout)

        patcher = patch.object(discovery, "_accepts", counted)
        patcher.start()
        self.addCleanup(patcher.stop)

    def post(self, login, route, params):
        """JSON-RPC as the web client sends it: ``(result, error data)``."""
        self.authenticate(login, login)
        body = {"id": 0, "jsonrpc": "2.0", "method": "call", "params": params}
        response = self.url_open(
            route, json.dumps(body), headers={"Content-Type": "application/json"}
        )
        answer = response.json()
        return answer.get("result"), (answer.get("error") or {}).get("data")

    def call(self, login, model, method, *args, **kwargs):
        result, error = self.post(
            login,
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )
        self.assertIsNone(error)
        return result

    def button(self, login, model, method, record_id):
        result, error = self.post(
            login,
            "/web/dataset/call_button",
            {"model": model, "method": method, "args": [[record_id]], "kwargs": {}},
        )
        self.assertIsNone(error)
        return result

    def button_error(self, login, model, method, record_id):
        """The error data of a refused button: ``{"name": ..., "message": ...}``."""
        _result, error = self.post(
            login,
            "/web/dataset/call_button",
            {"model": model, "method": method, "args": [[record_id]], "kwargs": {}},
        )
        self.assertIsNotNone(error, f"{method} was not refused")
        return error

    def new_finder(self, network, port=None, login="caisse_ap_manager", **values):
        return self.call(
            login,
            FINDER,
            "create",
            {
                "payment_method_id": self.method.id,
                "network": network,
                "port": port or self.simulator.port,
                **values,
            },
        )

    def lines(self, finder_id):
        return self.call(
            "caisse_ap_manager",
            f"{FINDER}.line",
            "search_read",
            [("finder_id", "=", finder_id)],
            fields=["address", "used_by"],
        )

    def refused(self, finder_id, login="caisse_ap_manager"):
        error = self.button_error(login, FINDER, "action_scan", finder_id)
        self.assertEqual(error["name"], "odoo.exceptions.UserError")
        return error["message"]

    def test_finds_the_terminals_and_fills_the_method(self):
        other = TerminalSimulator("127.0.0.3", self.simulator.port, Scenario(delay=0))
        other.start()
        self.addCleanup(other.stop)
        finder_id = self.new_finder("127.0.0.0/29")
        self.button("caisse_ap_manager", FINDER, "action_scan", finder_id)
        lines = {line["address"]: line for line in self.lines(finder_id)}
        self.assertEqual(sorted(lines), ["127.0.0.1", "127.0.0.3"])
        self.assertEqual(lines["127.0.0.1"]["used_by"], self.method.display_name)
        self.assertFalse(lines["127.0.0.3"]["used_by"])
        self.assertEqual(len(self.knocked), 6)
        action = self.button(
            "caisse_ap_manager",
            f"{FINDER}.line",
            "action_use",
            lines["127.0.0.3"]["id"],
        )
        self.assertEqual(action["res_id"], self.method.id)
        self.method.invalidate_recordset()
        self.assertEqual(self.method.fr_caisse_ap_ip_address, "127.0.0.3")
        # Nothing was sent to either terminal: a scan is no transaction.
        self.assertEqual(self.simulator.exchanges + other.exchanges, [])

    def test_from_the_menu_a_terminal_found_opens_a_new_method(self):
        finder_id = self.new_finder("127.0.0.1/32", payment_method_id=False)
        self.button("caisse_ap_manager", FINDER, "action_scan", finder_id)
        (line,) = self.lines(finder_id)
        action = self.button(
            "caisse_ap_manager", f"{FINDER}.line", "action_use", line["id"]
        )
        self.assertFalse(action.get("res_id"))
        self.assertEqual(
            action["context"]["default_fr_caisse_ap_ip_address"], "127.0.0.1"
        )
        self.assertEqual(
            action["context"]["default_fr_caisse_ap_ip_port"], self.simulator.port
        )

    def test_the_method_form_opens_the_finder_on_the_terminal_s_network(self):
        action = self.button(
            "caisse_ap_manager",
            "pos.payment.method",
            "action_caisse_ap_find_terminals",
            self.method.id,
        )
        self.assertEqual(action["res_model"], FINDER)
        defaults = (
            self.env[FINDER]
            .with_user(self.pos_manager)
            .with_context(**action["context"])
            .default_get(["network", "port", "payment_method_id"])
        )
        self.assertEqual(defaults["network"], "127.0.0.0/24")
        self.assertEqual(defaults["port"], self.simulator.port)
        self.assertEqual(defaults["payment_method_id"], self.method.id)

    # -- attacks ------------------------------------------------------------
    def test_a_cashier_cannot_scan(self):
        _result, error = self.post(
            "caisse_ap_cashier",
            f"/web/dataset/call_kw/{FINDER}/create",
            {
                "model": FINDER,
                "method": "create",
                "args": [{"network": "127.0.0.0/29", "port": self.simulator.port}],
                "kwargs": {},
            },
        )
        self.assertEqual(error["name"], "odoo.exceptions.AccessError")
        error = self.button_error(
            "caisse_ap_cashier",
            "pos.payment.method",
            "action_caisse_ap_find_terminals",
            self.method.id,
        )
        self.assertEqual(error["name"], "odoo.exceptions.AccessError")
        # A finder an administrator left open: the cashier cannot run it either.
        finder_id = self.new_finder("127.0.0.0/29")
        error = self.button_error("caisse_ap_cashier", FINDER, "action_scan", finder_id)
        self.assertEqual(error["name"], "odoo.exceptions.AccessError")
        self.assertEqual(self.knocked, [])

    def test_a_network_the_policy_refuses_is_not_scanned(self):
        allow_local_terminals(self.env, False)
        cases = {
            "127.0.0.0/29": "never a shop's terminals",
            "192.0.2.0/24": "not one where terminals are allowed",
            "10.0.0.0/21": "too wide",
            "0.0.0.0/0": "too wide",
            "169.254.169.254/32": "never a shop's terminals",
            "10.0.0.0/33": "is not a network",
            "http://10.0.0.1/": "is not a network",
        }
        for network, words in cases.items():
            with self.subTest(network=network):
                self.assertIn(words, self.refused(self.new_finder(network)))
        with self.subTest("port"):
            finder_id = self.new_finder("10.0.0.0/30", port=70000)
            self.assertIn("between 1 and 65535", self.refused(finder_id))
        self.assertEqual(self.knocked, [])

    def test_a_relayed_method_is_never_scanned_from_the_server(self):
        relay, _token = new_relay(self.env, "Shop relay")
        self.method.write(
            {"fr_caisse_ap_ip_connection": "relay", "fr_caisse_ap_relay_id": relay.id}
        )
        # Its relay is offline: nothing asked, nothing knocked from here.
        self.assertIn("is offline", self.refused(self.new_finder("127.0.0.0/29")))
        # Another relay for this method: refused.
        other, _token = new_relay(self.env, "Another relay")
        finder_id = self.new_finder("127.0.0.0/29", relay_id=other.id)
        self.assertIn("look for terminals there", self.refused(finder_id))
        self.assertFalse(self.env["pos.caisse.ap.relay.probe"].sudo().search([]))
        self.assertEqual(self.knocked, [])

    def test_one_scan_at_a_time(self):
        finder_id = self.new_finder("127.0.0.0/29")
        with finder_module._SCANNING:
            self.assertIn("Another search", self.refused(finder_id))
        self.assertEqual(self.knocked, [])
