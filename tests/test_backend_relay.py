"""Payments through a real shop relay process (python -m caisse_ap.relay) and the
simulator, against this test's HTTP server: the cloud set-up end to end."""

import base64
import contextlib
import json
import signal
import stat
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError, ValidationError
from odoo.modules import neutralize
from odoo.tests import Form, HttpCase, tagged
from odoo.tools import sql

from ..caisse_ap import exchange, relay_wire
from ..caisse_ap import relay as relay_module
from ..caisse_ap.relay_wire import PATH_CLAIM, PATH_POLL, PATH_RESULT
from ..caisse_ap.simulator import Scenario
from ..controllers.relay import CaisseApRelayController, _Refused
from ..models.pos_caisse_ap_relay import hash_token
from .common import CaisseApCommon, allow_local_terminals
from .relay_fuzz import failure
from .relay_support import (
    SEEN,
    RelayMethodMixin,
    RelayProcessMixin,
    new_relay,
    new_token,
)


@tagged("post_install", "-at_install")
class TestRelay(RelayProcessMixin, RelayMethodMixin, CaisseApCommon, HttpCase):
    def state(self, transaction_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT state FROM pos_caisse_ap_transaction WHERE id = %s",
                (transaction_id,),
            )
            return cr.fetchone()[0]

    @contextlib.contextmanager
    def locked_env(self):
        """An environment safe to use while the relay's requests run (they share
        this test's connection: its lock serialises them)."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    def wait_final(self, transaction_id):
        self.wait_until(
            lambda: (
                self.state(transaction_id) in ("success", "failure", "unknown", "error")
            )
        )

    def post(self, path, body, token=None):
        response = self.url_open(
            path,
            data=json.dumps(body),
            headers={
                "Authorization": f"Bearer {token or self.token}",
                "Content-Type": "application/json",
            },
        )
        return response.status_code, response.json()

    # ------------------------------------------------------------------
    def test_pay_through_relay(self):
        self.start_relay(self.token, self.relay)
        started = self.start(12.34)
        self.assertEqual(started["state"], "pending")
        self.wait_final(started["transaction_id"])
        with self.locked_env() as env:
            transaction = env["pos.caisse.ap.transaction"].browse(
                started["transaction_id"]
            )
            self.assertEqual(transaction.state, "success")
            self.assertEqual(transaction.card_last4, "1234")
            self.assertEqual(transaction.relay_id.id, self.relay.id)
            self.assertTrue(transaction.relay_result_at)
            self.assertTrue(
                transaction.terminal_key.startswith(f"relay{self.relay.id}/")
            )
            # The relay sent what the server asked: no second copy is kept.
            self.assertIn("CB0041234", transaction.request_frame)
            self.assertFalse(transaction.relay_request_frame)
            relay = env["pos.caisse.ap.relay"].browse(self.relay.id)
            self.assertTrue(relay.online)
            self.assertEqual(relay.version, relay_module.VERSION)
            self.assertEqual(relay.protocol, relay_wire.PROTOCOL)
            self.assertFalse(relay.needs_update)
        self.assertEqual(len(self.simulator.exchanges), 1)
        status = self.rpc("caisse_ap_status", started["payment_uuid"])
        self.assertEqual(status["state"], "success")

    def test_decline_through_relay(self):
        self.simulator.set_scenario(Scenario(kind="decline", delay=0))
        self.start_relay(self.token, self.relay)
        transaction_id = self.start(5.0)["transaction_id"]
        self.wait_final(transaction_id)
        self.assertEqual(self.state(transaction_id), "failure")

    def test_test_connection_through_relay(self):
        self.start_relay(self.token, self.relay)
        result = self.press_test_connection(self.pos_manager, self.method)
        self.assertEqual(result["params"]["type"], "success", result["params"])
        self.simulator.stop()
        result = self.press_test_connection(self.pos_manager, self.method)
        self.assertEqual(result["params"]["type"], "danger")
        self.assertEqual(self.simulator.exchanges, [])

    def test_find_terminals_through_relay(self):
        self.start_relay(self.token, self.relay)
        lines = self.press_find_terminals(self.pos_manager, self.method, "127.0.0.0/30")
        self.assertEqual(lines.mapped("address"), ["127.0.0.1"])
        self.assertEqual(lines.used_by, self.method.display_name)
        self.assertEqual(self.simulator.exchanges, [])
        # The server judges the network before asking the relay anything.
        with self.assertRaisesRegex(UserError, "too wide"):
            self.press_find_terminals(self.pos_manager, self.method, "10.0.0.0/16")

    def test_relay_killed_mid_payment_is_unknown_and_never_resent(self):
        self.simulator.set_scenario(Scenario(kind="hang", delay=0))
        self.start_relay(self.token, self.relay)
        started = self.start(20.0)
        transaction_id = started["transaction_id"]
        self.wait_until(lambda: self.state(transaction_id) == "sent")
        self.wait_until(lambda: self.simulator.busy)
        self.stop_relay(signal.SIGKILL)
        self.simulator.release_hang()
        # The deadline passes: the sweep says unknown, as for a crashed worker.
        self.env.invalidate_all()
        self.env["pos.caisse.ap.transaction"].browse(transaction_id).sudo().write(
            {"deadline": fields.Datetime.now() - timedelta(seconds=1)}
        )
        status = self.rpc("caisse_ap_status", started["payment_uuid"])
        self.assertEqual(status["state"], "unknown")
        # A restarted relay reconnects and sends nothing again.
        self.simulator.set_scenario(Scenario(kind="approve", delay=0))
        self.start_relay(self.token, self.relay)
        time.sleep(2)
        self.assertEqual(self.state(transaction_id), "unknown")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def kept_outcomes(self):
        """The outcomes the relay keeps until Odoo has them (its spool files)."""
        return sorted(Path(self.relay_state_dir).glob("results/*/*.json"))

    def test_relay_killed_before_delivering_posts_the_outcome_at_restart(self):
        # A terminal that would give a whole card number: never kept in clear.
        full_card = "4970109876541234"
        self.simulator.set_scenario(
            Scenario(kind="approve", delay=0, masked_card=full_card)
        )

        def unreachable(_controller, _relay, _body):
            raise _Refused(503, "Odoo is restarting")

        self.start_relay(self.token, self.relay)
        with patch.object(CaisseApRelayController, "_result", unreachable):
            started = self.start(15.0)
            transaction_id = started["transaction_id"]
            # The terminal approved; the relay keeps the outcome while it cannot
            # post it, then dies before Odoo has it.
            self.wait_until(lambda: len(self.kept_outcomes()) == 1)
            self.stop_relay(signal.SIGKILL)
            # A post sent just before the kill is still answered "restarting".
            self._wait_remaining_requests()
        self.assertEqual(len(self.simulator.exchanges), 1)
        (kept,) = self.kept_outcomes()
        self.assertEqual(kept.name, f"{transaction_id}.json")
        self.assertEqual(stat.S_IMODE(kept.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(kept.parent.stat().st_mode), 0o700)
        body = json.loads(kept.read_text())
        self.assertEqual(set(body), {"transaction_id", "claim", "exchange"})
        answer = base64.b64decode(body["exchange"]["answer_frame"])
        self.assertNotIn(full_card, kept.read_text())
        self.assertNotIn(full_card.encode(), answer)
        self.assertIn(b"AA0041234", answer)
        # Meanwhile the deadline passed: swept unknown, as for a lost worker.
        self.env.invalidate_all()
        self.env["pos.caisse.ap.transaction"].browse(transaction_id).sudo().write(
            {"deadline": fields.Datetime.now() - timedelta(seconds=1)}
        )
        status = self.rpc("caisse_ap_status", started["payment_uuid"])
        self.assertEqual(status["state"], "unknown")
        # Restarted, the relay posts what it kept: the approval replaces the guess.
        self.start_relay(self.token, self.relay)
        self.wait_until(lambda: self.state(transaction_id) == "success")
        self.wait_until(lambda: not self.kept_outcomes())
        self.assertEqual(len(self.simulator.exchanges), 1, "nothing sent again")
        with self.locked_env() as env:
            transaction = env["pos.caisse.ap.transaction"].browse(transaction_id)
            self.assertEqual(transaction.card_last4, "1234")
            self.assertTrue(transaction.relay_result_at)
        self.assertNotIn(full_card, self.stop_relay())

    def test_token_shown_once_and_stored_nowhere(self):
        action = self.relay.with_user(self.pos_manager).action_new_token()
        token = action["context"]["default_token"]
        # The dialog shows it (from the action's context) ...
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.pos_manager)
            .with_context(**action["context"])
        )
        self.assertEqual(wizard.token, token)
        # The token goes in the environment file, never on a command line.
        self.assertEqual(wizard.environment, f"CAISSE_AP_RELAY_TOKEN={token}")
        self.assertNotIn(token, wizard.command)
        self.assertNotIn("--token", wizard.command)
        self.assertEqual(wizard.relay_id, self.relay)
        # ... but no table holds it: only its hash is stored.
        self.assertFalse(
            sql.table_exists(self.env.cr, self.env[action["res_model"]]._table)
        )
        self.assertNotIn("res_id", action)
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT token_hash, token_prefix FROM pos_caisse_ap_relay WHERE id = %s",
            (self.relay.id,),
        )
        self.assertEqual(self.env.cr.fetchone(), (hash_token(token), token[:6]))
        status, _answer = self.post(PATH_POLL, {"wait": 0, **SEEN}, token=token)
        self.assertEqual(status, 200)

    def test_relay_restarting_takes_the_waiting_payment(self):
        self.start_relay(self.token, self.relay)
        self.stop_relay()
        # Seen a moment ago: the payment waits for it (up to its send deadline).
        started = self.start(7.0)
        self.assertEqual(started["state"], "pending")
        self.start_relay(self.token, self.relay)
        self.wait_final(started["transaction_id"])
        self.assertEqual(self.state(started["transaction_id"]), "success")
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_relay_offline_is_not_sent(self):
        with self.assertRaisesRegex(UserError, "offline"):
            self.start(3.0)
        self.assertFalse(self.transactions())
        # Seen recently but gone: nobody takes the payment before its send deadline.
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(3.0)
        transaction = self.env["pos.caisse.ap.transaction"].browse(
            started["transaction_id"]
        )
        transaction.sudo().relay_send_deadline = fields.Datetime.now() - timedelta(
            seconds=1
        )
        status = self.rpc("caisse_ap_status", started["payment_uuid"])
        self.assertEqual(status["state"], "error")
        self.assertIn("relay", status["message"])
        self.assertIn("not sent", status["message"])
        self.assertEqual(self.simulator.exchanges, [])

    # ------------------------------------------------------------------
    # The endpoints, called like a relay would
    # ------------------------------------------------------------------
    def _claimed(self, claim="c" * 32):
        """Start a payment and claim it by hand: (start dict, claim answer)."""
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(9.0)
        status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN})
        self.assertEqual(status, 200)
        self.assertEqual(
            [job["transaction_id"] for job in jobs["jobs"]],
            [started["transaction_id"]],
        )
        status, answer = self.post(
            PATH_CLAIM,
            {"transaction_id": started["transaction_id"], "claim": claim},
        )
        self.assertEqual(status, 200)
        return started, answer

    def test_claim_only_once(self):
        started, answer = self._claimed()
        self.assertTrue(answer["send"])
        # The same relay retrying its claim (lost answer) may still send ...
        _status, again = self.post(
            PATH_CLAIM,
            {"transaction_id": started["transaction_id"], "claim": "c" * 32},
        )
        self.assertTrue(again["send"])
        # ... but nobody else, and a poll no longer brings it.
        _status, other = self.post(
            PATH_CLAIM,
            {"transaction_id": started["transaction_id"], "claim": "d" * 32},
        )
        self.assertFalse(other["send"])
        _status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN})
        self.assertEqual(jobs["jobs"], [])

    def test_jobs_carry_the_address_policy(self):
        """The relay applies the server's policy to what the host resolves to."""
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(4.0)
        _status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN})
        self.assertEqual([job["allow_local"] for job in jobs["jobs"]], [True])
        # A saved address stays; a relay polling later is told local is refused.
        allow_local_terminals(self.env, allowed=False)
        _status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN})
        self.assertEqual(
            [(job["transaction_id"], job["allow_local"]) for job in jobs["jobs"]],
            [(started["transaction_id"], False)],
        )

    def test_repeated_result_post_is_recorded_once(self):
        started, _answer = self._claimed()
        transaction_id = started["transaction_id"]
        request = self.env["pos.caisse.ap.transaction"].sudo().browse(transaction_id)
        payment_request = relay_wire.request_from_json(
            json.loads(request.relay_request)
        )
        result = exchange(
            "127.0.0.1",
            self.simulator.port,
            payment_request,
            answer_timeout=10,
            allow_local=True,  # as the relay does when the server allows it
        )
        body = {
            "transaction_id": transaction_id,
            "claim": "c" * 32,
            "exchange": relay_wire.to_json(result),
        }
        status, first = self.post(PATH_RESULT, body)
        self.assertEqual((status, first["recorded"]), (200, True))
        self.assertEqual(self.state(transaction_id), "success")
        # The same post again (the relay did not get the first answer), or
        # another outcome with the same key, changes nothing.
        for again in (body, dict(body, exchange=failure(900))):
            status, second = self.post(PATH_RESULT, again)
            self.assertEqual((status, second["duplicate"]), (200, True))
            self.assertEqual(self.state(transaction_id), "success")
        messages = [m for m in self.bus_messages() if m["state"] == "success"]
        self.assertEqual(len(messages), 1)

    def test_result_for_unclaimed_or_invalid_is_refused(self):
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(9.0)
        transaction_id = started["transaction_id"]
        body = {
            "transaction_id": transaction_id,
            "claim": "c" * 32,
            "exchange": {"x": 1},
        }
        # Not claimed: no key can prove an outcome.
        self.assertResultRefused(body, 409, "pending")
        # Claimed with this key, but not an outcome.
        self.post(PATH_CLAIM, {"transaction_id": transaction_id, "claim": "c" * 32})
        self.assertResultRefused(body, 400, "sent")

    def assertResultRefused(self, body, status, state):
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
            answered, _answer = self.post(PATH_RESULT, body)
        self.assertEqual(answered, status)
        self.assertEqual(self.state(body["transaction_id"]), state)

    def test_wrong_and_revoked_tokens_are_refused_and_logged(self):
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING") as logs:
            status, answer = self.post(
                PATH_POLL, {"wait": 0, **SEEN}, token="not-a-token"
            )
        self.assertEqual(status, 401)
        self.assertIn("invalid or revoked token", answer["error"])
        self.assertIn("wrong or revoked token", logs.output[0])
        self.assertNotIn("not-a-token", logs.output[0])
        old_token = self.token
        rotated = new_token(self.relay)
        status, _answer = self.post(PATH_POLL, {"wait": 0, **SEEN}, token=old_token)
        self.assertEqual(status, 401)
        status, _answer = self.post(PATH_POLL, {"wait": 0, **SEEN}, token=rotated)
        self.assertEqual(status, 200)
        self.relay.active = False
        self.env.flush_all()
        status, _answer = self.post(PATH_POLL, {"wait": 0, **SEEN}, token=rotated)
        self.assertEqual(status, 401)
        # A relay started with a refused token says so and keeps retrying.
        self.start_relay(old_token)
        time.sleep(2)
        self.assertIn("refused this relay's token", self.stop_relay())

    def test_neutralized_copy_refuses_the_tokens(self):
        for query in neutralize.get_neutralization_queries(
            ["l10n_fr_pos_caisse_ap_ip"]
        ):
            self.env.cr.execute(query)
        self.env.invalidate_all()
        status, _answer = self.post(PATH_POLL, {"wait": 0, **SEEN})
        self.assertEqual(status, 401)

    def test_only_the_controllers_not_ours_makes_a_relay_forget(self):
        """The relay drops a kept outcome on the controller's own 404 only:
        Odoo's 404 page for a route it does not serve is no such answer."""
        _relay_b, token_b = new_relay(self.env, "Relay B")
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(9.0)
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
            status, answer = self.post(
                PATH_RESULT,
                {"transaction_id": started["transaction_id"], "exchange": {}},
                token=token_b,
            )
        self.assertEqual(answer["code"], relay_wire.UNKNOWN_TRANSACTION)
        self.assertTrue(relay_wire.is_unknown_transaction(status, answer))
        response = self.url_open(
            PATH_RESULT + "-missing",
            data=json.dumps({"transaction_id": started["transaction_id"]}),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        self.assertEqual(response.status_code, 404)
        try:
            page = response.json()
        except ValueError:
            page = None
        self.assertFalse(relay_wire.is_unknown_transaction(404, page))
        self.assertEqual(self.state(started["transaction_id"]), "pending")

    def test_other_company_token_gets_nothing(self):
        company_b = self.env["res.company"].create({"name": "Company B"})
        relay_b, token_b = new_relay(self.env, "Relay B", company_id=company_b.id)
        self.relay.sudo()._caisse_ap_seen(SEEN, "127.0.0.1")
        started = self.start(9.0)
        transaction_id = started["transaction_id"]
        status, jobs = self.post(PATH_POLL, {"wait": 0, **SEEN}, token=token_b)
        self.assertEqual((status, jobs["jobs"]), (200, []))
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
            status, _answer = self.post(
                PATH_CLAIM,
                {"transaction_id": transaction_id, "claim": "e" * 32},
                token=token_b,
            )
        self.assertEqual(status, 404)
        status, _answer = self.post(
            PATH_RESULT,
            {"transaction_id": transaction_id, "exchange": {}},
            token=token_b,
        )
        self.assertEqual(status, 404)
        self.assertEqual(self.state(transaction_id), "pending")
        # Nor can company B's relay be chosen for company A's method.
        with self.assertRaisesRegex(ValidationError, "another company"):
            self.method.fr_caisse_ap_relay_id = relay_b
