"""The pairing route and the pairing code's dialog, as an attacker tries them.

Each row of the routes' argument table (controllers/relay_pairing_arguments.py)
names its attack here, through the HTTP route: refused, and nothing paired."""

import json
import socket
import time
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from ..caisse_ap.relay_pairing import PATH_PAIR
from ..caisse_ap.relay_wire import PATH_POLL
from ..controllers import relay_pairing as pairing_controller
from ..models import pos_caisse_ap_relay_pairing as pairing_model
from ..models import pos_caisse_ap_relay_pairing_attempt as attempt_model
from .common import CaisseApCommon
from .relay_support import RelayMethodMixin, new_relay

LOGGER = "odoo.addons.l10n_fr_pos_caisse_ap_ip"
WRONG = "AAAA-BBBB"


class PairingMixin:
    """For an HttpCase with ``relay``, its ``token`` and ``pos_manager``."""

    def setUp(self):
        super().setUp()
        # The pause of a wrong code has a test of its own.
        patcher = patch.object(pairing_controller, "WRONG_CODE_PAUSE", 0)
        patcher.start()
        self.addCleanup(patcher.stop)

    def pair(self, code=None, raw=None, headers=None):
        """POST the pairing route as the relay's machine: (status, answer)."""
        self.env.flush_all()
        response = self.url_open(
            PATH_PAIR,
            data=raw if raw is not None else json.dumps({"code": code}),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        self.env.invalidate_all()
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"raw": response.text}

    def wrong(self, code=WRONG):
        """A wrong code, refused with its warning: (status, answer)."""
        with self.assertLogs(LOGGER, "WARNING"):
            return self.pair(code)

    def new_code(self, relay=None):
        action = (relay or self.relay).with_user(self.pos_manager)
        code = action.action_caisse_ap_pairing_code()["context"]["default_code"]
        self.env.flush_all()
        return code

    def polls(self, token):
        """The HTTP status of a poll with ``token``."""
        self.env.flush_all()
        return self.url_open(
            PATH_POLL,
            data=json.dumps({"wait": 0}),
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    def counted(self):
        return self.env["pos.caisse.ap.relay.pairing.attempt"].search_count([])

    def assert_paired(self, code, relay=None):
        """``code`` pairs ``relay``: its new token works, the former does not."""
        relay = relay or self.relay
        status, answer = self.pair(code)
        self.assertEqual((status, answer.get("relay")), (200, relay.name), answer)
        self.assertEqual(
            self.env["pos.caisse.ap.relay"]._caisse_ap_authenticate(answer["token"]),
            relay,
        )
        return answer["token"]


@tagged("post_install", "-at_install")
class TestPairingRoute(PairingMixin, RelayMethodMixin, CaisseApCommon, HttpCase):
    def test_the_code_pairs_the_relay_and_replaces_its_token(self):
        code = self.new_code()
        self.assertRegex(code, r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
        token = self.assert_paired(code.lower().replace("-", " "))
        self.assertEqual(self.polls(token), 200)
        self.assertEqual(self.polls(self.token), 401, "the former token stops")

    def test_the_code_is_kept_as_a_slow_hash_only(self):
        code = self.new_code()
        self.env.cr.execute("SELECT * FROM pos_caisse_ap_relay_pairing")
        (row,) = self.env.cr.dictfetchall()
        for symbols in (code, code.replace("-", "")):
            self.assertNotIn(symbols, json.dumps(row, default=str))
        self.assertEqual(len(row["code_hash"]), 64)
        with patch.object(pairing_model, "HASH_ROUNDS", 1):
            quick = self.env["pos.caisse.ap.relay.pairing"]._hash(code.replace("-", ""))
        self.assertNotEqual(row["code_hash"], quick, "not a single round")

    def test_pairing_over_plain_http_is_refused(self):
        """A proxy on this machine forwards a plain-HTTP client: its loopback
        address proves nothing, the code does not travel in clear."""
        code = self.new_code()
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host"):
            with self.assertLogs(LOGGER, "WARNING"):
                status, answer = self.pair(code, headers={header: "203.0.113.9"})
            self.assertEqual((status, answer["error"]), (403, "HTTPS required"))
        self.assertEqual(self.counted(), 0)
        self.assertEqual(self.polls(self.token), 200, "nothing paired")
        self.assert_paired(code)

    def test_a_body_that_is_no_code_is_refused_uncounted(self):
        code = self.new_code()
        for raw, status in (
            (json.dumps({"code": code + " " * 2000}), 413),
            ("{", 400),
            ("NaN", 400),
            ("[]", 400),
            (json.dumps({"code": 12345678}), 400),
            (json.dumps({"code": [code]}), 400),
            (json.dumps({}), 400),
        ):
            with self.subTest(raw[:20]):
                self.assertEqual(self.pair(raw=raw)[0], status)
        self.assertEqual(self.announced_too_large()[:12], b"HTTP/1.1 413")
        # Sent in chunks, without its length.
        chunked = self.opener.post(
            self.base_url() + PATH_PAIR,
            data=iter([b'{"code": "', b" " * 2000, code.encode(), b'"}']),
            headers={"Content-Type": "application/json"},
            timeout=20,
        )
        self.assertEqual(chunked.status_code, 413)
        self.assertEqual(self.counted(), 0)
        self.assert_paired(code)

    def announced_too_large(self):
        """Content-Length says 100 MB and one byte follows: refused from the
        length (a server reading first would wait for the rest)."""
        host, port = self.base_url().split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(
                (
                    f"POST {PATH_PAIR} HTTP/1.1\r\nHost: {host}\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: 100000000\r\n\r\n{"
                ).encode()
            )
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return answer

    def test_a_guessed_code_is_refused_slowly_and_counted(self):
        code = self.new_code()
        with patch.object(pairing_controller, "WRONG_CODE_PAUSE", 1.0):
            started = time.monotonic()
            status, answer = self.wrong()
            took = time.monotonic() - started
        self.assertEqual(
            (status, answer), (403, {"error": "wrong, expired or used code"})
        )
        self.assertGreaterEqual(took, 1.0)
        self.assertEqual(self.counted(), 1)
        for guess in ("KQ7M-4DX", "KQ7M-4DXU"):  # not even a code: counted too
            self.assertEqual(self.wrong(guess)[0], 403)
        self.assertEqual(self.counted(), 3)
        self.assertEqual(self.polls(self.token), 200, "nothing paired")
        self.assert_paired(code)

    def test_a_replayed_code_is_refused(self):
        code = self.new_code()
        token = self.assert_paired(code)
        self.assertEqual(self.wrong(code)[0], 403)
        self.assertEqual(self.polls(token), 200, "the token it gave still works")

    def test_an_expired_code_is_refused(self):
        code = self.new_code()
        self.env["pos.caisse.ap.relay.pairing"].search([]).expires_at = (
            fields.Datetime.now() - timedelta(seconds=1)
        )
        self.assertEqual(self.wrong(code)[0], 403)
        self.assertEqual(self.polls(self.token), 200, "nothing paired")
        self.assertFalse(self.env["pos.caisse.ap.relay.pairing"].search([]))

    def test_a_code_pairs_its_own_relay_only(self):
        other, other_token = new_relay(self.env, "Other shop")
        first = self.new_code()
        other_code = self.new_code(other)
        self.assert_paired(other_code, other)
        self.assertEqual(self.polls(self.token), 200, "this relay is untouched")
        # A new code replaces the relay's previous one.
        second = self.new_code()
        self.assertEqual(self.wrong(first)[0], 403)
        # An archived relay pairs no more.
        self.relay.active = False
        self.assertEqual(self.wrong(second)[0], 403)
        self.relay.active = True
        self.assertEqual(self.polls(self.token), 200, "nothing paired")
        self.assertEqual(self.polls(other_token), 401, "replaced by pairing")

    def test_one_source_guessing_locks_out_only_itself(self):
        code = self.new_code()
        with self.assertLogs(LOGGER, "WARNING") as logged:
            for _guess in range(attempt_model.WRONG_PER_SOURCE):
                self.assertEqual(self.pair(WRONG)[0], 403)
        (error,) = [line for line in logged.output if line.startswith("ERROR")]
        self.assertIn("10 wrong codes within an hour from 127.0.0.1", error)
        hashed = patch.object(
            type(self.env["pos.caisse.ap.relay.pairing"]), "_hash", autospec=True
        )
        with hashed as hash_code:
            started = time.monotonic()
            status, answer = self.pair(code)
        self.assertEqual(status, 429, answer)
        self.assertLess(time.monotonic() - started, 1.0, "answered at once")
        hash_code.assert_not_called()
        self.assertEqual(self.counted(), 10, "refusals no longer counted")
        # The shop, pairing from another address, is not locked out: its code
        # was not spent by the guesses either.
        self.env["pos.caisse.ap.relay.pairing.attempt"].search([]).address = "192.0.2.9"
        self.assert_paired(code)

    def test_a_flood_from_many_sources_is_refused_and_logged(self):
        attempts = self.env["pos.caisse.ap.relay.pairing.attempt"]
        now = fields.Datetime.now()
        attempts.create(
            [
                {"at": now, "address": f"198.51.100.{n % 200}"}
                for n in range(attempt_model.WRONG_PER_HOUR - 1)
            ]
        )
        self.env.flush_all()
        with self.assertLogs(LOGGER, "WARNING") as logged:
            self.assertEqual(self.pair(WRONG)[0], 403)
        (error,) = [line for line in logged.output if line.startswith("ERROR")]
        self.assertIn("100 wrong codes within an hour", error)
        code = self.new_code()
        status, answer = self.pair(code)
        self.assertEqual(status, 429, answer)
        self.assertEqual(self.counted(), 100, "refusals no longer counted")
        self.assertEqual(self.polls(self.token), 200, "nothing paired")
        # An hour later, codes are looked at again.
        attempts.search([]).at = now - timedelta(minutes=61)
        self.assert_paired(code)


@tagged("post_install", "-at_install")
class TestPairingCodeDialog(PairingMixin, HttpCase):
    """Who may ask Odoo for a code, through Odoo's own RPC route."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.relay, cls.token = new_relay(cls.env, "Shop relay")
        company = cls.env.company
        cls.pos_user, cls.pos_manager = (
            new_test_user(
                cls.env,
                login=login,
                groups=f"base.group_user,point_of_sale.{group}",
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
            )
            for login, group in (
                ("caisse_ap_cashier", "group_pos_user"),
                ("caisse_ap_manager", "group_pos_manager"),
            )
        )

    def ask_for_code(self, user, relay):
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw/pos.caisse.ap.relay/action_caisse_ap_pairing_code",
            {
                "model": "pos.caisse.ap.relay",
                "method": "action_caisse_ap_pairing_code",
                "args": [[relay.id]],
                "kwargs": {},
            },
        )

    def test_an_administrator_gets_the_code_and_its_command(self):
        action = self.ask_for_code(self.pos_manager, self.relay)
        context = action["context"]
        self.assertTrue(
            context["default_command"].endswith(
                f"python3 -m caisse_ap.relay pair --server {self.base_url()}"
            ),
            context["default_command"],
        )
        # The command asks for the code: ps and the shell history never show it.
        self.assertNotIn(context["default_code"], context["default_command"])
        self.assertNotIn("token", json.dumps(context).lower())
        self.assert_paired(context["default_code"])

    def test_a_cashier_cannot_ask_for_a_code(self):
        with self.assertRaisesRegex(JsonRpcException, "AccessError"):
            self.ask_for_code(self.pos_user, self.relay)
        self.assertFalse(self.env["pos.caisse.ap.relay.pairing"].search([]))

    def test_a_code_for_a_relay_of_another_company_is_refused(self):
        other_company = self.env["res.company"].create({"name": "Autre Boutique"})
        theirs, _token = new_relay(self.env, "Their relay", company_id=other_company.id)
        with self.assertRaisesRegex(JsonRpcException, "AccessError"):
            self.ask_for_code(self.pos_manager, theirs)
        self.assertFalse(self.env["pos.caisse.ap.relay.pairing"].search([]))
        # Their own administrator may.
        theirs_admin = new_test_user(
            self.env,
            login="caisse_ap_other_manager",
            groups="base.group_user,point_of_sale.group_pos_manager",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        action = self.ask_for_code(theirs_admin, theirs)
        self.assert_paired(action["context"]["default_code"], theirs)
