import socket
import threading
from contextlib import contextmanager
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules import neutralize
from odoo.tests import tagged
from odoo.tools import config

from ..caisse_ap import client as engine_client
from ..caisse_ap.address import restricted_kind
from ..caisse_ap.host import is_valid_host, terminal_key
from ..caisse_ap.journal import escaped_prefix
from ..models.pos_payment_method import TERMINAL_KEY
from .common import WORKER_TIMEOUT, CaisseApCommon, allow_local_terminals, free_port

# Passes the check as written (a plain DNS name); never resolves for real.
TERMINAL_NAME = "tpe.shop.example"


@contextmanager
def resolving(name, address):
    """The engine's resolver answers ``address`` for ``name`` (a DNS server
    that points a terminal name at the server itself)."""
    real = engine_client.resolve

    async def resolve(host, port):
        if host != name:
            return await real(host, port)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    with patch.object(engine_client, "resolve", resolve):
        yield


@tagged("post_install", "-at_install")
class TestBackendPaymentMethod(CaisseApCommon):
    def test_defaults_keep_the_oca_names(self):
        method = self.env["pos.payment.method"].create(
            {"name": "New", "journal_id": self.bank_journal.id}
        )
        self.assertEqual(method.fr_caisse_ap_ip_port, 8888)
        self.assertEqual(method.fr_caisse_ap_ip_mode, "card")
        self.assertTrue(method.fr_caisse_ap_ip_fast_payment)
        self.assertEqual(method.fr_caisse_ap_ip_pos_number, "01")
        self.assertEqual(method.fr_caisse_ap_ip_protocol_version, "0300")
        self.assertEqual(method.fr_caisse_ap_ip_timeout, 180)
        self.assertFalse(method.fr_caisse_ap_ip_receipt)

    def test_the_pos_gets_no_wait_before_its_first_start(self):
        # A till sends its payment at the click: no delay counted from the
        # open sessions is given to the POS, with any number of workers.
        loaded = self.method._load_pos_data_fields(self.config.id)
        for workers in (0, 2):
            with patch.dict(config.options, {"workers": workers}):
                data = self.method.read(loaded)[0]
                self.assertFalse(
                    [name for name in data if "spread" in name or "wait" in name],
                    "the POS gets no start delay",
                )
        self.assertNotIn(
            "fr_caisse_ap_start_spread", self.env["pos.payment.method"]._fields
        )

    def test_constraints_only_for_this_terminal(self):
        # Another method may carry any value: the fields mean nothing there.
        other = self.env["pos.payment.method"].create(
            {
                "name": "Plain bank",
                "journal_id": self.bank_journal.id,
                "fr_caisse_ap_ip_port": 0,
                "fr_caisse_ap_ip_pos_number": "x",
                "fr_caisse_ap_ip_timeout": 1,
            }
        )
        self.assertFalse(other.fr_caisse_ap_ip_address)
        with self.assertRaisesRegex(ValidationError, "Set the terminal address"):
            other.write(
                {
                    "payment_method_type": "terminal",
                    "use_payment_terminal": TERMINAL_KEY,
                }
            )

    def test_constraints(self):
        method = self._create_method("Checked", fr_caisse_ap_ip_address=" 10.0.0.7 ")
        self.assertEqual(
            method.fr_caisse_ap_ip_address, "10.0.0.7", "spaces are stripped"
        )
        bad_values = [
            ({"fr_caisse_ap_ip_address": False}, "Set the terminal address"),
            (
                {"fr_caisse_ap_ip_address": "10.0.0.300"},
                "not a valid IP address or DNS name",
            ),
            (
                {"fr_caisse_ap_ip_address": "tpe shop.lan"},
                "not a valid IP address or DNS name",
            ),
            (
                {"fr_caisse_ap_ip_address": "-tpe.lan"},
                "not a valid IP address or DNS name",
            ),
            ({"fr_caisse_ap_ip_port": 0}, "between 1 and 65535"),
            ({"fr_caisse_ap_ip_port": 65536}, "between 1 and 65535"),
            ({"fr_caisse_ap_ip_pos_number": "1"}, "2 digits"),
            ({"fr_caisse_ap_ip_pos_number": "0A"}, "2 digits"),
            ({"fr_caisse_ap_ip_pos_number": "001"}, "2 digits"),
            ({"fr_caisse_ap_ip_timeout": 29}, "between 30 and 600"),
            ({"fr_caisse_ap_ip_timeout": 601}, "between 30 and 600"),
        ]
        for vals, message in bad_values:
            with (
                self.subTest(vals=vals),
                self.assertRaisesRegex(ValidationError, message),
            ):
                with self.env.cr.savepoint():  # its rollback drops the refused value
                    method.write(vals)
        for address in ("tpe-caisse1.shop.lan", "192.168.1.50", "fe80::1", "TPE"):
            method.fr_caisse_ap_ip_address = address
        method.write(
            {
                "fr_caisse_ap_ip_port": 65535,
                "fr_caisse_ap_ip_pos_number": "99",
                "fr_caisse_ap_ip_timeout": 600,
            }
        )

    def test_address_helpers(self):
        self.assertTrue(is_valid_host("::1"))
        self.assertTrue(is_valid_host("tpe.example.com."))
        self.assertFalse(is_valid_host(""))
        self.assertFalse(is_valid_host("a" * 64 + ".lan"))
        self.assertFalse(is_valid_host("1.2.3"))
        self.assertEqual(terminal_key(" TPE.Shop.LAN ", 8888), "tpe.shop.lan:8888")
        self.assertEqual(terminal_key("FE80:0:0::1", 5), "[fe80::1]:5")

    def test_one_key_per_terminal_however_spelled(self):
        for spellings in (
            ("tpe.shop.lan", "TPE.Shop.LAN", "tpe.shop.lan.", " Tpe.shop.lan. "),
            ("10.0.0.7", "::ffff:10.0.0.7", "::FFFF:a00:7", "0:0:0:0:0:ffff:10.0.0.7"),
            ("2001:db8::1", "2001:DB8:0:0::1", "2001:0db8:0000::0001"),
        ):
            with self.subTest(spellings=spellings):
                keys = {terminal_key(host, 8888) for host in spellings}
                self.assertEqual(len(keys), 1, keys)

    def test_pos_gets_only_what_it_needs(self):
        loaded = self.env["pos.payment.method"]._load_pos_data_fields(self.config.id)
        for name in (
            "fr_caisse_ap_ip_mode",
            "fr_caisse_ap_ip_fast_payment",
            "fr_caisse_ap_ip_timeout",
        ):
            self.assertIn(name, loaded)
        self.assertNotIn("fr_caisse_ap_ip_address", loaded)
        self.assertNotIn("fr_caisse_ap_ip_port", loaded)
        data = self.config.current_session_id.load_data(
            ["pos.config", "pos.payment.method"]
        )
        record = next(
            r for r in data["pos.payment.method"]["data"] if r["id"] == self.method.id
        )
        self.assertNotIn("fr_caisse_ap_ip_address", record)
        self.assertEqual(record["fr_caisse_ap_ip_mode"], "card")

    def test_edit_while_session_open(self):
        # A terminal that changed address must not force closing the sessions...
        self.method.write(
            {"fr_caisse_ap_ip_address": "10.1.2.3", "fr_caisse_ap_ip_port": 9000}
        )
        # ...but what the open POS has loaded stays as it is until the session closes.
        with self.assertRaisesRegex(UserError, "close and validate"):
            self.method.fr_caisse_ap_ip_mode = "check"

    def test_test_connection_reachable(self):
        action = self.method.with_user(
            self.pos_manager
        ).action_caisse_ap_test_connection()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn(f"127.0.0.1:{self.simulator.port}", action["params"]["message"])
        self.assertEqual(
            self.simulator.exchanges, [], "a connection test is not a transaction"
        )
        self.assertFalse(self.transactions())

    def test_test_connection_unreachable(self):
        self.method.fr_caisse_ap_ip_port = free_port()
        action = self.method.with_user(
            self.pos_manager
        ).action_caisse_ap_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("no terminal answers at 127.0.0.1", action["params"]["message"])

    def test_test_connection_says_why_in_the_admins_language(self):
        self.method.fr_caisse_ap_ip_port = port = free_port()
        self._speak_french(self.pos_manager)
        method = self.method.with_user(self.pos_manager).with_context(lang="fr_FR")
        params = method.action_caisse_ap_test_connection()["params"]
        self.assertEqual(params["type"], "danger")
        self.assertIn(
            f"aucun terminal ne répond à 127.0.0.1:{port} "
            "(est-il allumé et connecté ?)",
            params["message"],
        )

    def test_test_connection_for_managers_only(self):
        with self.assertRaises(AccessError):
            self.method.with_user(self.pos_user).action_caisse_ap_test_connection()

    def test_neutralize_blanks_the_addresses(self):
        queries = list(
            neutralize.get_neutralization_queries(["l10n_fr_pos_caisse_ap_ip"])
        )
        self.assertEqual(len(queries), 1)
        self.env.flush_all()
        for query in queries:
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.assertFalse(self.method.fr_caisse_ap_ip_address)
        # The neutralized method refuses to pay instead of reaching any terminal.
        with self.assertRaisesRegex(UserError, "No terminal address"):
            self.start()
        self.assertFalse(self.transactions())

    # ------------------------------------------------------------------
    # Address policy
    # ------------------------------------------------------------------
    def test_local_addresses_refused_unless_allowed(self):
        method = self._create_method("Policy", fr_caisse_ap_ip_address="10.0.0.7")
        allow_local_terminals(self.env, allowed=False)
        refused = {
            "127.0.0.1": "loopback",
            "127.8.9.10": "loopback",
            "::1": "loopback",
            "::ffff:127.0.0.1": "loopback",
            "localhost": "loopback",
            "Caisse.LOCALHOST.": "loopback",
            "169.254.1.1": "link-local",
            "fe80::1": "link-local",
            "0.0.0.0": "unspecified",
            "::": "unspecified",
            "224.0.0.1": "multicast",
            "ff02::1": "multicast",
        }
        for address, kind in refused.items():
            with (
                self.subTest(address=address),
                self.assertRaisesRegex(ValidationError, f"is an? {kind} address"),
                self.env.cr.savepoint(),
            ):
                method.fr_caisse_ap_ip_address = address
        for address in ("192.168.1.50", "10.0.0.8", "fd12::50", "tpe.shop.lan"):
            method.fr_caisse_ap_ip_address = address
        self.assertEqual(restricted_kind("192.168.1.50"), None)

        allow_local_terminals(self.env)
        for address in refused:
            method.fr_caisse_ap_ip_address = address

    def test_refused_address_sends_nothing(self):
        """An address saved while allowed is refused once the parameter is gone."""
        allow_local_terminals(self.env, allowed=False)
        with self.assertRaisesRegex(UserError, "loopback address"):
            self.start()
        self.assertFalse(self.transactions())
        with self.assertRaisesRegex(UserError, "allow_local_terminals"):
            self.method.with_user(self.pos_manager).action_caisse_ap_test_connection()
        self.assertEqual(self.simulator.exchanges, [], "nothing reached the terminal")

    def _speak_french(self, *users):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(
            ["l10n_fr_pos_caisse_ap_ip"], ["fr_FR"], overwrite=True
        )
        for user in users:
            user.lang = "fr_FR"

    def test_name_resolving_to_loopback_refused_at_start(self):
        """A DNS name passes the check as written; what it resolves to is checked
        at connect time: nothing is sent, the cashier reads why in French."""
        self.method.fr_caisse_ap_ip_address = TERMINAL_NAME
        allow_local_terminals(self.env, allowed=False)
        self._speak_french(self.pos_user)
        with (
            resolving(TERMINAL_NAME, "127.0.0.1"),
            self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING") as logs,
        ):
            started = self.start()
            transaction = self.wait(started["payment_uuid"])
            status = self.rpc(
                "caisse_ap_status", started["payment_uuid"], context={"lang": "fr_FR"}
            )
        # Not sent: an error, never "unknown" (the customer was not charged).
        self.assertEqual(transaction.state, "error")
        self.assertEqual(status["state"], "error")
        self.assertIn(
            "Le paiement n'a pas été envoyé au terminal, le client n'a pas été débité",
            status["message"],
        )
        self.assertIn(
            f"{TERMINAL_NAME} du mode de paiement TPE Carte se résout en 127.0.0.1, "
            "une adresse de bouclage",
            status["message"],
        )
        self.assertIn("allow_local_terminals", status["message"])
        # The integrator's log names the address and the parameter.
        self.assertIn("resolves to 127.0.0.1, a loopback address", logs.output[0])
        self.assertTrue(any("allow_local_terminals" in line for line in logs.output))
        self.assertEqual(self.simulator.exchanges, [], "nothing reached the terminal")

        # Allowed, the same name reaches the simulator at the resolved address.
        allow_local_terminals(self.env)
        with resolving(TERMINAL_NAME, "127.0.0.1"):
            _started, transaction, _status = self.pay()
        self.assertEqual(transaction.state, "success")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_test_connection_checks_the_resolved_address(self):
        self.method.fr_caisse_ap_ip_address = TERMINAL_NAME
        allow_local_terminals(self.env, allowed=False)
        self._speak_french(self.pos_manager)
        method = self.method.with_user(self.pos_manager).with_context(lang="fr_FR")
        with resolving(TERMINAL_NAME, "169.254.1.1"):
            params = method.action_caisse_ap_test_connection()["params"]
        self.assertEqual(params["type"], "danger")
        self.assertIn("Impossible de se connecter au terminal", params["message"])
        self.assertIn(
            "se résout en 169.254.1.1, une adresse lien-local", params["message"]
        )
        allow_local_terminals(self.env)
        with resolving(TERMINAL_NAME, "127.0.0.1"):
            params = method.action_caisse_ap_test_connection()["params"]
        self.assertEqual(params["type"], "success", params["message"])
        self.assertEqual(self.simulator.exchanges, [])

    def test_foreign_answer_not_stored_verbatim(self):
        """What another service answers is kept as its length and a short prefix."""
        secret = b"SECRET-" * 40
        page = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + secret
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]

            def answer_once():
                conn, _address = server.accept()
                with conn:
                    conn.recv(4096)
                    conn.sendall(page)

            thread = threading.Thread(target=answer_once)
            thread.start()
            self.method.fr_caisse_ap_ip_port = port
            _started, transaction, _status = self.pay()
            thread.join(WORKER_TIMEOUT)
        self.assertEqual(transaction.state, "unknown")
        stored = transaction.answer_frame
        header = f"{len(page)} bytes, not a Caisse-AP frame: "
        self.assertTrue(stored.startswith(header), stored)
        prefix = stored[len(header) :]
        self.assertLessEqual(len(prefix), 64)
        self.assertTrue(prefix.startswith("HTTP/1.1 200 OK\\x0d\\x0a"), prefix)
        self.assertNotIn("SECRET", stored)
        self.assertEqual(escaped_prefix(b"a\\b\x00" * 30, 10), "a\\\\b\\x00a")
