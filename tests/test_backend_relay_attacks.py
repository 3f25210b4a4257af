"""The shop relay's endpoints as an attacker with a valid token tries them.

Each test is an attack that worked before the endpoints checked it: it must be
refused, and change nothing."""

import json
import os
import socket
import threading
import time
from datetime import timedelta
from unittest.mock import patch

import psycopg2
import psycopg2.errorcodes
import psycopg2.errors
import requests

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged

from odoo.addons.bus.models.bus import channel_with_db, dispatch, hashable

from ..caisse_ap import PaymentRequest, redact_frame, relay_wire
from ..caisse_ap import address as address_module
from ..caisse_ap.relay_wire import PATH_CLAIM, PATH_POLL, PATH_PROBE, PATH_RESULT
from ..controllers import relay as relay_controller
from ..models.pos_payment_method import NETWORKS_PARAM
from ..runtime import worker as caisse_ap_worker
from . import relay_fuzz
from .common import CaisseApCommon, allow_local_terminals
from .relay_fuzz import approval, failure
from .relay_support import SEEN, RelayMethodMixin, new_relay

CLAIM = "c" * 32


@tagged("post_install", "-at_install")
class RelayAttackCase(RelayMethodMixin, CaisseApCommon, HttpCase):
    def post(self, path, body, token=None, raw=None, headers=None):
        response = self.url_open(
            path,
            data=raw if raw is not None else json.dumps(body),
            headers={
                "Authorization": f"Bearer {token or self.token}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {"raw": response.text}
        return response.status_code, answer

    def snapshot(self, transaction_id):
        """Every column of a transaction, as the database has it."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT * FROM pos_caisse_ap_transaction WHERE id = %s", (transaction_id,)
        )
        return self.env.cr.dictfetchone()

    def claimed(self, amount=9.0):
        """A payment claimed by the real relay (key CLAIM): its transaction."""
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(amount)
        status, answer = self.post(
            PATH_CLAIM, {"transaction_id": started["transaction_id"], "claim": CLAIM}
        )
        self.assertEqual((status, answer["send"]), (200, True))
        self.env.invalidate_all()
        return self.env["pos.caisse.ap.transaction"].browse(started["transaction_id"])


class _Conflict(psycopg2.errors.SerializationFailure):
    pgcode = psycopg2.errorcodes.SERIALIZATION_FAILURE


def conflict_on_first_call(model, name):
    """Patch ``model.name`` so that its first call fails as PostgreSQL does
    when another request wrote the same row (Odoo then runs the whole request
    again): the patch, and the list of each call's argument."""
    original = getattr(model, name)
    calls = []

    def conflict_once(records, argument):
        calls.append(argument)
        if len(calls) == 1:
            raise _Conflict("could not serialize access due to concurrent update")
        return original(records, argument)

    return patch.object(model, name, conflict_once), calls


class TestForgedOutcomes(RelayAttackCase):
    def test_an_outcome_survives_odoo_running_its_request_again(self):
        """Another request wrote the transaction's row at the same moment (a
        cashier's Cancel): Odoo runs the request again, which must see the
        same body, or the relay is told the transaction is not its own and
        drops the approval."""
        transaction = self.claimed(9.0)
        conflict, calls = conflict_on_first_call(
            type(transaction), "_caisse_ap_relay_record"
        )
        body = {
            "transaction_id": transaction.id,
            "claim": CLAIM,
            "exchange": approval(900),
        }
        with conflict:
            status, answer = self.post(PATH_RESULT, body)
        self.assertEqual((status, answer.get("recorded")), (200, True), answer)
        self.assertEqual(len(calls), 2)
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "success")

    def test_outcome_without_the_winning_claim_key_is_refused(self):
        """Poll with the token, wait for the real relay's claim, post "success"
        while the customer is still at the terminal."""
        transaction = self.claimed()
        before = self.snapshot(transaction.id)
        forged = approval(900)
        for claim in ("d" * 32, None, "", CLAIM.upper(), [CLAIM]):
            with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
                status, answer = self.post(
                    PATH_RESULT,
                    {
                        "transaction_id": transaction.id,
                        "claim": claim,
                        "exchange": forged,
                    },
                )
            self.assertEqual(status, 409, claim)
            self.assertIn("not claimed with this key", answer["error"])
        self.assertEqual(self.snapshot(transaction.id), before)
        # The terminal's real answer, posted by the real relay, is recorded.
        status, answer = self.post(
            PATH_RESULT,
            {
                "transaction_id": transaction.id,
                "claim": CLAIM,
                "exchange": failure(900),
            },
        )
        self.assertEqual((status, answer["recorded"]), (200, True))
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "failure")

    def test_the_relay_cannot_rewrite_what_was_asked(self):
        """The relay that won the claim posts the terminal's approval with
        another request frame (1 cent, from another till): the journal keeps
        what the server asked, the relay's copy beside it, and says so."""
        transaction = self.claimed(9.0)
        asked = transaction.request_frame
        self.assertTrue(asked)
        rewritten = PaymentRequest(amount=1, currency_numeric=978, pos_number="42")
        forged = dict(
            approval(900), request_frame=relay_wire.to_json(rewritten.encode())
        )
        with self.assertLogs(
            "odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"
        ) as logged:
            status, answer = self.post(
                PATH_RESULT,
                {"transaction_id": transaction.id, "claim": CLAIM, "exchange": forged},
            )
        self.assertEqual((status, answer["recorded"]), (200, True))
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "success")
        self.assertEqual(transaction.request_frame, asked)
        self.assertEqual(
            transaction.relay_request_frame, redact_frame(rewritten.encode())
        )
        self.assertIn("request frame", "\n".join(logged.output))

    def test_outcomes_that_cannot_be_true_are_refused(self):
        transaction = self.claimed(9.0)
        before = self.snapshot(transaction.id)
        good = approval(900)
        attacks = {
            "success with a failure status": dict(
                good, result=dict(good["result"], status="failure")
            ),
            "success without a result (paid in full)": dict(good, result=None),
            "more than requested": dict(
                good, result=dict(good["result"], authorised_amount=90000)
            ),
            "nothing authorised": dict(
                good, result=dict(good["result"], authorised_amount=0)
            ),
            "a whole card number": dict(
                good, result=dict(good["result"], card_last4="4970101234561234")
            ),
            "partial that is not": dict(
                good, result=dict(good["result"], partial=True)
            ),
            "failure with a result saying success": dict(good, outcome="failure"),
            "no answer with a result": dict(good, outcome="no_answer"),
            "a duration of NaN": dict(good, duration="NaN"),
            "a huge auth code": dict(
                good, result=dict(good["result"], auth_code="1" * 5000)
            ),
            "an unknown outcome": dict(good, outcome="paid"),
        }
        for name, exchange in attacks.items():
            with (
                self.subTest(name),
                self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"),
            ):
                status, answer = self.post(
                    PATH_RESULT,
                    {
                        "transaction_id": transaction.id,
                        "claim": CLAIM,
                        "exchange": exchange,
                    },
                )
                self.assertEqual(status, 400, answer)
                self.assertIn("invalid outcome", answer["error"])
                self.assertEqual(self.snapshot(transaction.id), before)

    def test_control_characters_are_escaped_not_a_server_error(self):
        """A NUL in the receipt was a 500 (PostgreSQL refuses NUL in text)."""
        transaction = self.claimed(9.0)
        exchange = approval(900)
        exchange["result"]["receipt_text"] = "CARTE\x00BANCAIRE\nMERCI\x1b[2J"
        status, answer = self.post(
            PATH_RESULT,
            {"transaction_id": transaction.id, "claim": CLAIM, "exchange": exchange},
        )
        self.assertEqual((status, answer["recorded"]), (200, True))
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "success")
        self.assertEqual(transaction.receipt_text, "CARTE\\x00BANCAIRE\nMERCI\\x1b[2J")

    def test_a_newer_relay_adding_keys_is_understood(self):
        transaction = self.claimed(9.0)
        exchange = dict(approval(900), signed_by="relay 3.0")
        status, answer = self.post(
            PATH_RESULT,
            {"transaction_id": transaction.id, "claim": CLAIM, "exchange": exchange},
        )
        self.assertEqual((status, answer["recorded"]), (200, True))
        transaction.invalidate_recordset()
        self.assertEqual(transaction.amount_authorised, 9.0)


class TestPollsCannotHoldTheServer(RelayAttackCase):
    def test_non_finite_or_non_numeric_wait_is_refused(self):
        for raw in ('{"wait": NaN}', '{"wait": Infinity}', '{"wait": -Infinity}'):
            status, answer = self.post(PATH_POLL, None, raw=raw)
            self.assertEqual((status, answer["error"]), (400, "invalid JSON"), raw)
        for wait in ("5", None, [1], {"x": 1}, True):
            status, answer = self.post(PATH_POLL, {"wait": wait})
            self.assertEqual((status, answer["error"]), (400, "invalid wait"), wait)

    def test_oversized_body_is_refused_before_it_is_read(self):
        """Content-Length says 100 MB and one byte follows: refused from the
        length (a server reading first would wait for the rest, then fail)."""
        host, port = self.base_url().split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(
                (
                    f"POST {PATH_POLL} HTTP/1.1\r\nHost: {host}\r\n"
                    f"Authorization: Bearer {self.token}\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: 100000000\r\n\r\n{"
                ).encode()
            )
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:200])
        self.assertIn(b"request too large", answer)

    def test_one_held_poll_per_relay(self):
        relay = self.relay.sudo()
        lease = relay._caisse_ap_take_poll_lease(20)
        self.assertTrue(lease)
        self.assertIsNone(relay._caisse_ap_take_poll_lease(20))
        relay._caisse_ap_end_poll_lease("another lease")
        self.assertIsNone(relay._caisse_ap_take_poll_lease(20), "not its lease")
        relay._caisse_ap_end_poll_lease(lease)
        second = relay._caisse_ap_take_poll_lease(20)
        self.assertTrue(second)
        # A server that died holding one: its lease runs out.
        self.env.cr.execute(
            "UPDATE pos_caisse_ap_relay_presence SET poll_lease_until = now() at "
            "time zone 'UTC' - interval '1 second' WHERE relay_id = %s",
            (relay.id,),
        )
        self.assertTrue(relay._caisse_ap_take_poll_lease(20))

    def test_what_the_relay_says_of_itself_is_shown_bounded(self):
        status, _answer = self.post(
            PATH_POLL,
            {
                "wait": 0,
                "version": "9.9\x00" + "v" * 100,
                "protocol": 1,
                "waiting": 3,
                "last_error": "transaction 7: HTTP 400\x1b" + "e" * 1000,
            },
        )
        self.assertEqual(status, 200)
        relay = self.relay
        relay.invalidate_recordset()
        self.assertEqual(relay.outcomes_waiting, 3)
        self.assertTrue(relay.needs_update, "protocol 1 is not this server's")
        self.assertLessEqual(len(relay.last_error), 500)
        self.assertNotIn("\x1b", relay.last_error)
        self.assertNotIn("\x00", relay.version)

    def test_plain_http_through_a_local_proxy_is_refused(self):
        """A proxy on this machine forwards a plain-HTTP client: its loopback
        address proves nothing."""
        for header in ("X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-IP"):
            with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
                status, answer = self.post(
                    PATH_POLL, {"wait": 0}, headers={header: "203.0.113.9"}
                )
            self.assertEqual((status, answer["error"]), (403, "HTTPS required"), header)
        status, _answer = self.post(PATH_POLL, {"wait": 0})
        self.assertEqual(status, 200)

    def test_probe_answers_are_checked_and_escaped(self):
        probe = (
            self.env["pos.caisse.ap.relay.probe"]
            .sudo()
            .create({"relay_id": self.relay.id, "host": "192.168.1.50", "port": 8888})
        )
        self.env.flush_all()
        status, _answer = self.post(PATH_PROBE, {"probe_id": probe.id, "ok": "yes"})
        self.assertEqual(status, 400)
        status, _answer = self.post(
            PATH_PROBE, {"probe_id": probe.id, "ok": False, "reason": "x\x00y"}
        )
        self.assertEqual(status, 200)
        probe.invalidate_recordset()
        self.assertEqual((probe.state, probe.reason), ("done", "x\\x00y"))


class TestRelayTenancy(RelayAttackCase):
    def test_relay_cannot_move_to_another_company_while_used(self):
        company_b = self.env["res.company"].create({"name": "Company B"})
        with self.assertRaisesRegex(ValidationError, "another company"):
            self.relay.company_id = company_b
        unused, _token = new_relay(self.env, "Unused relay")
        unused.company_id = company_b  # nothing points at it: allowed

    def test_another_relays_connection_test_is_not_answered(self):
        other, _token = new_relay(self.env, "Another shop's relay")
        probes = self.env["pos.caisse.ap.relay.probe"].sudo()
        theirs = probes.create({"relay_id": other.id, "host": "10.0.0.9", "port": 8888})
        self.env.flush_all()
        for probe_id in (theirs.id, theirs.id + 1000, "1", True, -1, 2**31):
            with self.subTest(probe_id=probe_id):
                status, answer = self.post(
                    PATH_PROBE, {"probe_id": probe_id, "ok": True, "reason": "mine"}
                )
                self.assertEqual(status, 404, answer)
        theirs.invalidate_recordset()
        self.assertEqual(
            (theirs.state, theirs.ok, theirs.reason), ("queued", False, False)
        )

    def test_a_search_answer_names_only_the_searched_network(self):
        probes = self.env["pos.caisse.ap.relay.probe"].sudo()
        search = probes.create(
            {"relay_id": self.relay.id, "network": "192.168.1.0/30", "port": 8888}
        )
        self.env.flush_all()
        refused = {
            "outside the network": {"found": ["192.168.1.1", "10.0.0.1"]},
            "not addresses": {"found": ["192.168.1.1", "x"]},
            "not a list": {"found": "192.168.1.1"},
            "a number": {"found": [3232235777]},
            "too many": {"found": ["192.168.1.1"] * 1025},
            "complete not a boolean": {"found": [], "complete": "yes"},
        }
        for name, body in refused.items():
            with self.subTest(name):
                status, _answer = self.post(
                    PATH_PROBE, {"probe_id": search.id, "ok": True, **body}
                )
                self.assertEqual(status, 400)
        search.invalidate_recordset()
        self.assertEqual(search.state, "queued")
        # An IPv6 zone may hold any text: never an address a search found.
        search6 = probes.create(
            {"relay_id": self.relay.id, "network": "fd00:1::/120", "port": 8888}
        )
        self.env.flush_all()
        for zoned in (
            "fd00:1::5%<img src=x>",
            "fd00:1::6%\n' OR 1=1 --",
            "fd00:1::7%eth0",
        ):
            with self.subTest(zoned):
                status, _answer = self.post(
                    PATH_PROBE, {"probe_id": search6.id, "ok": True, "found": [zoned]}
                )
                self.assertEqual(status, 400)
        status, _answer = self.post(
            PATH_PROBE,
            {
                "probe_id": search.id,
                "ok": True,
                "found": ["192.168.1.2", "192.168.1.2"],
            },
        )
        self.assertEqual(status, 200)
        search.invalidate_recordset()
        self.assertEqual((search.state, search.found), ("done", "192.168.1.2"))

    def test_a_relay_older_than_the_claim_key_gets_no_payment(self):
        """A protocol 1 relay posts outcomes without the claim key: this server
        could only refuse them, so it hands it no payment at all."""
        self.post(PATH_POLL, {"wait": 0, "version": "1.0"})
        with self.assertRaisesRegex(UserError, "old version"):
            self.start(4.0)
        self.assertFalse(self.transactions())
        self.relay.invalidate_recordset()
        self.assertTrue(self.relay.needs_update)
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(4.0)
        _status, jobs = self.post(PATH_POLL, {"wait": 0, "version": "1.0"})
        self.assertEqual(jobs["jobs"], [])
        _status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN})
        self.assertEqual(
            [job["transaction_id"] for job in jobs["jobs"]],
            [started["transaction_id"]],
        )

    def test_unreadable_networks_parameter_hands_out_nothing(self):
        """An administrator breaks the allowed networks while a payment waits
        for the relay: the relay is told nothing (not a server error)."""
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        self.start(4.0)
        self.env["ir.config_parameter"].sudo().set_param(NETWORKS_PARAM, "shop lan")
        self.env.flush_all()
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "ERROR"):
            status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN})
        self.assertEqual((status, jobs["jobs"]), (200, []))
        # A claiming poll claims nothing either: the payment ends "not sent"
        # at its send deadline (safe to retry), never "unknown".
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "ERROR"):
            status, jobs = self.post(PATH_POLL, {"wait": 0, "claim": CLAIM, **SEEN})
        self.assertEqual((status, jobs["jobs"]), (200, []))
        self.assertEqual(self.transactions().state, "pending")

    def test_a_relayed_name_is_keyed_as_written(self):
        """The relay resolves its terminal's name on the shop's network: the
        server never resolves it, the name is its key."""
        self.method.fr_caisse_ap_ip_address = "TPE.Shop.Example."
        with patch.object(
            caisse_ap_worker, "resolved_address", side_effect=AssertionError
        ):
            key = self.method._caisse_ap_terminal_key()
        self.assertEqual(
            key, f"relay{self.relay.id}/tpe.shop.example:{self.simulator.port}"
        )

    def test_jobs_carry_the_address_the_payment_started_with(self):
        """The method's address changes while the payment waits for the relay:
        the request still goes to the terminal this transaction holds busy."""
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(4.0)
        self.method.fr_caisse_ap_ip_address = "192.168.1.77"
        self.env.flush_all()
        _status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN})
        (job,) = jobs["jobs"]
        self.assertEqual(job["transaction_id"], started["transaction_id"])
        self.assertEqual((job["host"], job["port"]), ("127.0.0.1", self.simulator.port))
        self.assertEqual(job["networks"], list(address_module.DEFAULT_NETWORKS))


@tagged("post_install", "-at_install")
class TestAddressPolicy(CaisseApCommon):
    """A POS manager may set a terminal address: it must not reach the server's
    own network (the Test connection button would scan its ports)."""

    def refusal(self, address):
        """Why saving ``address`` is refused (None: it is saved)."""
        try:
            with self.env.cr.savepoint():
                self.method.fr_caisse_ap_ip_address = address
                self.method.flush_recordset()
        except ValidationError as error:
            return str(error)
        return None

    def test_numeric_spellings_are_saved_as_the_address_they_are(self):
        """``0x7f000001`` is 127.0.0.1 for the resolver: judged as such, and
        saved as such (one key for the terminal, whatever the spelling)."""
        allow_local_terminals(self.env, allowed=False)
        for spelling, words in (
            ("0x7f000001", "loopback"),
            ("127.1", "loopback"),
            ("2852039166", "cloud metadata"),  # 169.254.169.254
        ):
            with self.subTest(spelling):
                self.assertIn(words, self.refusal(spelling) or "")
        self.assertIsNone(self.refusal("0xc0a80132"))
        self.assertEqual(self.method.fr_caisse_ap_ip_address, "192.168.1.50")
        self.assertIsNone(self.refusal("fd00::50%25eth0"))
        self.assertEqual(self.method.fr_caisse_ap_ip_address, "fd00::50%eth0")

    def test_addresses_outside_the_shop_network_are_refused(self):
        allow_local_terminals(self.env, allowed=False)
        for address, words in (
            ("8.8.8.8", "not on a network where terminals are allowed"),
            ("100.100.100.200", "cloud metadata"),
            ("fd00:ec2::254", "cloud metadata"),
            ("169.254.169.254", "cloud metadata"),
            ("127.0.0.1", "loopback"),
        ):
            with self.subTest(address):
                self.assertIn(words, self.refusal(address) or "")
        self.assertIsNone(self.refusal("192.168.1.50"))

    def test_the_servers_own_address_is_refused(self):
        """A private address of the Odoo server itself (PostgreSQL and Odoo
        listen on 0.0.0.0): Test connection would scan its ports."""
        allow_local_terminals(self.env, allowed=False)
        self.method.fr_caisse_ap_ip_address = "10.0.0.5"
        with patch.object(
            address_module, "is_own_address", lambda ip: str(ip) == "10.0.0.5"
        ):
            self.assertIn(
                "connects to the terminal itself",
                self.method._caisse_ap_address_refusal(),
            )
            self.assertIsNotNone(self.refusal("10.0.0.5"))
            with self.assertRaisesRegex(UserError, "10.0.0.5"):
                self.method.with_user(
                    self.pos_manager
                ).action_caisse_ap_test_connection()
            # Through a shop relay, 10.0.0.5 is in the shop: the relay judges it.
            relay, _token = new_relay(self.env, "Relay")
            self.method.write(
                {
                    "fr_caisse_ap_ip_connection": "relay",
                    "fr_caisse_ap_relay_id": relay.id,
                }
            )
            self.assertIsNone(self.method._caisse_ap_address_refusal())

    def test_administrator_widens_and_narrows_the_networks(self):
        allow_local_terminals(self.env, allowed=False)
        params = self.env["ir.config_parameter"].sudo()
        params.set_param(NETWORKS_PARAM, "192.168.1.0/24")
        self.assertIsNotNone(self.refusal("192.168.2.50"))
        self.assertIsNone(self.refusal("192.168.1.50"))
        params.set_param(NETWORKS_PARAM, "192.168.0.0/16, 203.0.113.0/24")
        self.assertIsNone(self.refusal("203.0.113.7"))
        self.assertIn("metadata", self.refusal("169.254.169.254"))

    def test_invalid_networks_parameter_stops_payments_with_a_clear_error(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param(NETWORKS_PARAM, "192.168.0.0/16, the shop")
        sent = len(self.simulator.exchanges)
        with self.assertRaisesRegex(UserError, NETWORKS_PARAM):
            self.start(5.0)
        self.assertFalse(self.transactions())
        self.assertEqual(len(self.simulator.exchanges), sent)

    def test_raw_frames_are_for_managers_only(self):
        _started, transaction, _status = self.pay(3.0)
        self.assertTrue(transaction.with_user(self.pos_manager).answer_frame)
        with self.assertRaises(AccessError):
            transaction.with_user(self.pos_user).read(["answer_frame"])
        with self.assertRaises(AccessError):
            transaction.with_user(self.pos_user).read(["request_frame"])
        # The cashier still reads the rest of the journal entry.
        self.assertEqual(transaction.with_user(self.pos_user).card_last4, "1234")


class TestClaimingPolls(RelayAttackCase):
    """A poll with a claim key claims what it hands out (the relay woken by the
    bus sends one): one round trip instead of a poll and a claim."""

    def poll(self, claim=None):
        body = {"wait": 0, **SEEN}
        if claim is not None:
            body["claim"] = claim
        status, answer = self.post(PATH_POLL, body)
        self.assertEqual(status, 200, answer)
        return answer["jobs"]

    def started(self, amount):
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        transaction_id = self.start(amount)["transaction_id"]
        return self.env["pos.caisse.ap.transaction"].browse(transaction_id)

    def test_a_claiming_poll_claims_what_it_hands_out(self):
        transaction = self.started(5.0)
        (job,) = self.poll(CLAIM)
        self.assertEqual((job["transaction_id"], job["claim"]), (transaction.id, CLAIM))
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "sent")
        self.assertTrue(transaction.sent_at)
        self.assertEqual(transaction.sudo().relay_claim, CLAIM)
        # Another relay process of the same token (its own key) gets nothing,
        # by its poll or by its claim call.
        self.assertEqual(self.poll("o" * 32), [])
        status, answer = self.post(
            PATH_CLAIM, {"transaction_id": transaction.id, "claim": "o" * 32}
        )
        self.assertEqual((status, answer["send"]), (200, False))
        status, answer = self.post(
            PATH_RESULT,
            {
                "transaction_id": transaction.id,
                "claim": CLAIM,
                "exchange": approval(500),
            },
        )
        self.assertEqual((status, answer.get("recorded")), (200, True), answer)
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "success")

    def test_a_lost_poll_answer_brings_the_payment_again_to_its_key_only(self):
        """The relay polls again with the same key only when the answer was
        lost: the payment comes again, until its outcome or its send deadline;
        never to another key, never unclaimed."""
        transaction = self.started(6.0)
        self.assertEqual(
            [job["transaction_id"] for job in self.poll(CLAIM)], [transaction.id]
        )
        again = self.poll(CLAIM)
        self.assertEqual(
            [(job["transaction_id"], job["claim"]) for job in again],
            [(transaction.id, CLAIM)],
        )
        self.assertEqual(self.poll("o" * 32), [])
        self.assertEqual(self.poll(), [])
        # Its outcome came: never again.
        status, _answer = self.post(
            PATH_RESULT,
            {
                "transaction_id": transaction.id,
                "claim": CLAIM,
                "exchange": approval(600),
            },
        )
        self.assertEqual(status, 200)
        self.assertEqual(self.poll(CLAIM), [])
        # Past its send deadline: not sent now (it ends "unknown", as after a
        # claim whose answer was lost for good).
        late = self.started(7.0)
        key = "l" * 32
        self.assertEqual([job["transaction_id"] for job in self.poll(key)], [late.id])
        late.write(
            {"relay_send_deadline": fields.Datetime.now() - timedelta(seconds=1)}
        )
        self.env.flush_all()
        self.assertEqual(self.poll(key), [])

    def test_a_claim_run_again_after_a_conflict_is_claimed_once(self):
        """Another request wrote the row at the same moment (another relay
        process claiming it): Odoo runs the poll again, with the same key, and
        the payment is handed out once, claimed once."""
        transaction = self.started(8.0)
        conflict, calls = conflict_on_first_call(
            type(transaction), "_caisse_ap_relay_claim"
        )
        with conflict:
            jobs = self.poll(CLAIM)
        self.assertEqual(calls, [CLAIM, CLAIM])
        self.assertEqual([job["transaction_id"] for job in jobs], [transaction.id])
        transaction.invalidate_recordset()
        self.assertEqual(transaction.sudo().relay_claim, CLAIM)

    def test_invalid_claim_keys_are_refused_and_claim_nothing(self):
        transaction = self.started(9.0)
        before = self.snapshot(transaction.id)
        for key in ("short", "k" * 65, 12345678901234567890, ["k" * 32], True, ""):
            status, answer = self.post(PATH_POLL, {"wait": 0, "claim": key, **SEEN})
            self.assertEqual((status, answer), (400, {"error": "invalid claim key"}))
        self.assertEqual(self.snapshot(transaction.id), before)

    def test_a_relay_polling_without_a_key_claims_as_before(self):
        """A relay of protocol 2 (or one not woken by the bus) polls without a
        key: nothing is claimed, the job carries none, its claim call wins."""
        transaction = self.started(4.0)
        (job,) = self.poll()
        self.assertNotIn("claim", job)
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "pending")
        status, answer = self.post(
            PATH_CLAIM, {"transaction_id": transaction.id, "claim": CLAIM}
        )
        self.assertEqual((status, answer["send"]), (200, True))


# Bodies per endpoint: enough for CI; bench/fuzz_relay.py asks for 10,000.
FUZZ_BODIES = int(os.environ.get("CAISSE_AP_FUZZ_BODIES") or 150)


class TestRelayFuzz(RelayAttackCase):
    """Random and mutated bodies, with a valid token: never a server error, and
    a body that is refused changes no transaction."""

    def table(self):
        self.env.flush_all()
        self.env.cr.execute("SELECT * FROM pos_caisse_ap_transaction ORDER BY id")
        return self.env.cr.dictfetchall()

    def fuzz(self, path, valid, seed):
        rng = relay_fuzz.seeded(seed)
        statuses = {}
        changed_by_refused = 0
        before = self.table()
        for body in relay_fuzz.bodies(rng, valid, FUZZ_BODIES):
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            status, _answer = self.post(path, None, raw=raw)
            statuses[status] = statuses.get(status, 0) + 1
            after = self.table()
            if status != 200 and after != before:
                changed_by_refused += 1
            before = after
        return {
            "path": path,
            "bodies": FUZZ_BODIES,
            "statuses": statuses,
            "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "changed_by_refused": changed_by_refused,
        }

    def test_fuzz_every_endpoint(self):
        claimed = self.claimed(9.0)
        pending = self.make_transaction(
            "pending",
            relay_id=self.relay.id,
            relay_request="{}",
            relay_send_deadline=fields.Datetime.now() + timedelta(minutes=10),
        )
        probe = (
            self.env["pos.caisse.ap.relay.probe"]
            .sudo()
            .create({"relay_id": self.relay.id, "host": "192.168.1.50", "port": 8888})
        )
        self.env.flush_all()
        valid = {
            PATH_POLL: {"wait": 0, "claim": "d" * 32, **SEEN},
            PATH_CLAIM: {"transaction_id": pending.id, "claim": "e" * 32},
            PATH_RESULT: {
                "transaction_id": claimed.id,
                "claim": CLAIM,
                "exchange": approval(900),
            },
            PATH_PROBE: {"probe_id": probe.id, "ok": True, "reason": ""},
        }
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
            reports = [
                self.fuzz(path, body, seed)
                for seed, (path, body) in enumerate(valid.items())
            ]
        report_path = os.environ.get("CAISSE_AP_FUZZ_REPORT")
        if report_path:
            with open(report_path, "w") as report:
                json.dump(reports, report)
        for report in reports:
            self.assertEqual(report["server_errors"], 0, report)
            self.assertEqual(report["changed_by_refused"], 0, report)
            # The fuzzer did reach the checks: most bodies are refused.
            refused = sum(n for s, n in report["statuses"].items() if 400 <= s < 500)
            self.assertGreater(refused, FUZZ_BODIES // 2, report)


class TestHeldPoll(RelayAttackCase):
    """Polls held as on a threaded server. While one is held, this test thread
    reads and writes only through cursors that take the test lock, as the
    server's requests do (they share one connection)."""

    def setUp(self):
        super().setUp()
        patcher = patch.object(relay_controller, "_can_hold", lambda: True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def poll_in_thread(self, wait, answers):
        def poll():
            started = time.monotonic()
            response = requests.post(
                self.base_url() + PATH_POLL,
                data=json.dumps({"wait": wait, **SEEN}),
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=60,
            )
            answers.append(
                (response.status_code, response.json(), time.monotonic() - started)
            )

        thread = threading.Thread(target=poll)
        thread.start()
        return thread

    def test_a_held_poll_holds_no_connection_and_brings_the_payment(self):
        """While a poll waits, the cashier's requests go on (in tests they share
        one connection: a poll holding its cursor would block them all), a
        second poll of the relay is answered at once, and a payment started
        meanwhile is handed to the held poll within its look interval."""
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        self.env.flush_all()
        answers = []
        thread = self.poll_in_thread(20, answers)
        self.addCleanup(thread.join, 30)
        self.wait_until(lambda: self.lease_taken(), timeout=10)
        status, second = self.post(PATH_POLL, {"wait": 20, **SEEN})
        self.assertEqual((status, second["jobs"]), (200, []))
        started = self.start(5.0)
        thread.join(30)
        ((status, answer, took),) = answers
        self.assertEqual(status, 200)
        self.assertEqual(
            [job["transaction_id"] for job in answer["jobs"]],
            [started["transaction_id"]],
        )
        self.assertLess(took, 15, "answered when the payment came, not at the end")
        self.assertFalse(self.lease_taken(), "the lease ends with the poll")

    def test_a_held_poll_is_woken_by_the_bus_and_looks_rarely(self):
        """The held poll looks for work when the bus says some waits (what
        Odoo's bus thread does after the start's commit is done here), not
        every fraction of a second."""
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        channel = hashable(
            channel_with_db(self.registry.db_name, self.relay._caisse_ap_bus_channel())
        )
        self.env.flush_all()
        looks = []
        jobs = relay_controller.CaisseApRelayController._jobs

        def counted(env, relay, protocol, claim=None):
            looks.append(time.monotonic())
            return jobs(env, relay, protocol, claim)

        answers = []
        with (
            patch.object(
                relay_controller.CaisseApRelayController, "_jobs", staticmethod(counted)
            ),
            # Its safety look would come after the poll's end: only the bus
            # can bring the payment before.
            patch.object(relay_controller, "POLL_STEP", 60),
        ):
            thread = self.poll_in_thread(20, answers)
            self.addCleanup(thread.join, 30)
            self.wait_until(lambda: self.lease_taken(), timeout=10)
            time.sleep(2)
            idle_looks = len(looks)
            started = self.start(5.0)
            woken = time.monotonic()
            for waiter in list(dispatch._channels_to_ws.get(channel, ())):
                waiter.trigger_notification_dispatching()
            thread.join(30)
        self.assertLess(time.monotonic() - woken, 3)
        ((status, answer, _took),) = answers
        self.assertEqual(
            [job["transaction_id"] for job in answer["jobs"]],
            [started["transaction_id"]],
        )
        # The poll's own look, the held poll's first: none while idle.
        self.assertLessEqual(idle_looks, 2)
        self.assertNotIn(channel, dispatch._channels_to_ws, "unsubscribed at its end")

    def test_a_held_poll_ends_after_its_wait(self):
        answers = []
        thread = self.poll_in_thread(1, answers)
        thread.join(30)
        ((status, answer, took),) = answers
        self.assertEqual((status, answer["jobs"]), (200, []))
        self.assertGreaterEqual(took, 1)
        self.assertEqual(answer["protocol"], relay_wire.PROTOCOL)

    def lease_taken(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT poll_lease FROM pos_caisse_ap_relay_presence "
                "WHERE relay_id = %s",
                (self.relay.id,),
            )
            row = cr.fetchone()
            return bool(row and row[0])
