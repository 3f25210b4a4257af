"""The guarantees outside the single test transaction.

Every other back-end test runs inside one uncommitted transaction, where
post-commit hooks never run and there is no real concurrency. These tests
commit their data with cursors of their own: two tills racing for one
terminal, the payment launched after the commit, a process that exits while
a payment is in flight. They remove what they committed.
"""

import json
import os
import subprocess
import sys
import textwrap
import uuid
from functools import partial
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.service.model import retrying
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..caisse_ap.relay_wire import PROTOCOL
from ..caisse_ap.simulator import Scenario
from .common import (
    WORKER_TIMEOUT,
    allow_local_terminals,
    caisse_ap_method_values,
    journal_entry,
    open_session,
    race,
    started_simulator,
    wait_all_workers,
)
from .worker_support import wait_for_worker

ADMIN = "base.user_admin"
# What a relay of this version says of itself when it polls.
RELAY_STATUS = {"version": "test", "protocol": PROTOCOL, "waiting": 0}


@tagged("post_install", "-at_install")
class TestBackendCommitted(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = started_simulator(cls.addClassCleanup)
        # A second till's terminal, for two refunds of one order at once.
        cls.other_simulator = started_simulator(cls.addClassCleanup)
        cls.dbname = cls.cr.dbname
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            allow_local_terminals(env)
            journal = env["account.journal"].create(
                {
                    "name": "Caisse-AP Committed Bank",
                    "type": "bank",
                    "code": "CAPC",
                    "company_id": company.id,
                }
            )
            method = env["pos.payment.method"].create(
                caisse_ap_method_values(
                    journal,
                    "TPE Committed",
                    fr_caisse_ap_ip_port=cls.simulator.port,
                )
            )
            other = env["pos.payment.method"].create(
                caisse_ap_method_values(
                    journal,
                    "TPE Committed 2",
                    fr_caisse_ap_ip_port=cls.other_simulator.port,
                )
            )
            config_ = env["pos.config"].create(
                {
                    "name": "Caisse-AP Committed",
                    "payment_method_ids": [method.id, other.id],
                }
            )
            session = open_session(config_)
            # An order paid 10.00 on the first terminal.
            order = env["pos.order"].create(
                {
                    "session_id": session.id,
                    "amount_tax": 0.0,
                    "amount_total": 10.0,
                    "amount_paid": 10.0,
                    "amount_return": 0.0,
                }
            )
            journal_entry(env, method, session, amount=10.0, order_uuid=order.uuid)
            ids = (journal.id, method.id, other.id, config_.id, session.id, order.id)
            cls.terminal_key = method._caisse_ap_terminal_key()
            cls.admin_id = env.ref(ADMIN).id
        (
            cls.journal_id,
            cls.method_id,
            cls.other_method_id,
            cls.config_id,
            cls.session_id,
            cls.order_id,
        ) = ids
        cls.addClassCleanup(cls._remove_committed)

    @classmethod
    def _remove_committed(cls):
        # A failed test may leave payments running: they write to these records.
        wait_all_workers(cls.dbname)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            methods = [cls.method_id, cls.other_method_id]
            env["pos.caisse.ap.transaction"].search(
                [("payment_method_id", "in", methods)]
            ).unlink()
            env["pos.order"].browse(cls.order_id).unlink()
            env["pos.session"].browse(cls.session_id).unlink()
            env["pos.config"].browse(cls.config_id).unlink()
            env["pos.payment.method"].browse(methods).unlink()
            env["account.journal"].browse(cls.journal_id).unlink()
            allow_local_terminals(env, allowed=False)

    def setUp(self):
        super().setUp()
        self.simulator.set_scenario(Scenario(kind="approve", delay=0))
        self.sent_before = len(self.simulator.exchanges)
        self.other_sent_before = len(self.other_simulator.exchanges)

    def requests_sent(self):
        """Requests the terminal received during this test (one at least)."""
        self.simulator.wait_for_exchanges(self.sent_before + 1, 10)
        return len(self.simulator.exchanges) - self.sent_before

    def start_data(self):
        return {
            "payment_uuid": str(uuid.uuid4()),
            "order_uuid": str(uuid.uuid4()),
            "amount": 4.2,
            "pos_session_id": self.session_id,
            "retry": False,
        }

    def committed(self, payment_uuid):
        """The payment's transactions as committed: ``[(state, attempt)]``."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return [
                (t.state, t.attempt)
                for t in env["pos.caisse.ap.transaction"].search(
                    [("payment_uuid", "=", payment_uuid)]
                )
            ]

    def race(self, *starts):
        """Each ``start(env)`` at once, as the administrator."""
        return race(self.registry, self.admin_id, *starts)

    def start_on(self, method_id, data, env):
        return env["pos.payment.method"].browse(method_id).caisse_ap_start(data)

    def start_as_http(self, method_id, data, env):
        """A start as an HTTP request runs it (``retrying``: a serialization
        failure is tried again with a fresh snapshot)."""
        return retrying(partial(self.start_on, method_id, data, env), env)

    def test_two_tills_one_terminal_one_request(self):
        """Both starts see a free terminal; PostgreSQL lets exactly one through.

        The customer takes a few seconds: the refused start, run again on a
        fresh snapshot, still finds the terminal busy."""
        self.simulator.set_scenario(Scenario(kind="approve", delay=4))
        starts = [self.start_data(), self.start_data()]
        results = self.race(
            *(partial(self.start_as_http, self.method_id, s) for s in starts)
        )
        [started] = [r for r in results if isinstance(r, dict)]
        [refused] = [r for r in results if isinstance(r, Exception)]
        self.assertIsInstance(refused, UserError)
        self.assertIn("busy", str(refused))
        self.assertTrue(
            wait_for_worker(self.dbname, started["payment_uuid"], WORKER_TIMEOUT)
        )
        # Launched after the commit, it ran to the end; the other sent nothing.
        self.assertEqual(self.committed(started["payment_uuid"]), [("success", 1)])
        other = next(s for s in starts if s["payment_uuid"] != started["payment_uuid"])
        self.assertEqual(self.committed(other["payment_uuid"]), [])
        self.assertEqual(self.requests_sent(), 1)

    def test_a_start_and_its_repeat_at_once_one_request(self):
        """The reply to a start is lost while the server still runs it, and the
        POS's repeat arrives before it commits: both get the same attempt, the
        terminal is asked once. Without a key (an older POS) too."""
        for start_key in ("click1", None):
            with self.subTest(start_key=start_key):
                self.sent_before = len(self.simulator.exchanges)
                data = {**self.start_data(), "start_key": start_key}
                first, repeat = self.race(
                    partial(self.start_as_http, self.method_id, dict(data)),
                    partial(self.start_as_http, self.method_id, dict(data)),
                )
                self.assertIsInstance(first, dict, first)
                self.assertIsInstance(repeat, dict, repeat)
                self.assertEqual(first["transaction_id"], repeat["transaction_id"])
                payment_uuid = data["payment_uuid"]
                self.assertTrue(
                    wait_for_worker(self.dbname, payment_uuid, WORKER_TIMEOUT)
                )
                self.assertEqual(self.committed(payment_uuid), [("success", 1)])
                self.assertEqual(self.requests_sent(), 1)

    def test_two_refunds_of_one_order_one_credit(self):
        """Two tills refund the same order (7.00 each of 10.00 paid) at once, on
        two terminals: exactly one credit is sent, the other is refused.

        Both snapshots are taken before either start commits. Each start runs as
        an HTTP request does (``retrying``: a serialization failure is tried
        again with a fresh snapshot), so the second one sees the first credit."""
        methods = [self.method_id, self.other_method_id]
        starts = [
            {**self.start_data(), "amount": -7.0, "refunded_order_ids": [self.order_id]}
            for _ in methods
        ]
        results = self.race(
            *(
                partial(self.start_as_http, m, s)
                for m, s in zip(methods, starts, strict=True)
            )
        )
        started = [r for r in results if isinstance(r, dict)]
        refused = [r for r in results if isinstance(r, Exception)]
        self.assertEqual((len(started), len(refused)), (1, 1), results)
        self.assertIsInstance(refused[0], UserError)
        self.assertIn("more than the terminal can still give back", str(refused[0]))
        # It saw the other till's credit, committed meanwhile.
        self.assertRegex(str(refused[0]), r"7\.00.{0,3} already refunded")
        payment_uuid = started[0]["payment_uuid"]
        self.assertTrue(wait_for_worker(self.dbname, payment_uuid, WORKER_TIMEOUT))
        self.assertEqual(self.committed(payment_uuid), [("success", 1)])
        other = next(s for s in starts if s["payment_uuid"] != payment_uuid)
        self.assertEqual(self.committed(other["payment_uuid"]), [])
        # One credit reached a terminal, none the other.
        sent = (
            len(self.simulator.exchanges) - self.sent_before,
            len(self.other_simulator.exchanges) - self.other_sent_before,
        )
        self.assertEqual(sorted(sent), [0, 1])
        credit = (self.simulator.exchanges + self.other_simulator.exchanges)[-1]
        self.assertEqual(credit["request_fields"]["CD"], "1")

    def test_exit_with_a_payment_in_flight_records_it(self):
        """A process that exits while the terminal is busy still writes the answer."""
        self.simulator.set_scenario(Scenario(kind="approve", delay=2))
        data = self.start_data()
        script = textwrap.dedent(
            """
            import json, sys
            import odoo
            from odoo import SUPERUSER_ID, api
            from odoo.modules.registry import Registry
            odoo.tools.config.parse_config(["-c", sys.argv[1], "--log-level=warn"])
            registry = Registry(sys.argv[2])
            with registry.cursor() as cr:
                env = api.Environment(cr, int(sys.argv[3]), {})
                method = env["pos.payment.method"].browse(int(sys.argv[4]))
                print(method.caisse_ap_start(json.loads(sys.argv[5]))["state"])
            # The payment runs after the commit: exit now, as a recycled worker does.
            sys.exit(0)
            """
        )
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                config.rcfile,
                self.dbname,
                str(self.admin_id),
                str(self.method_id),
                json.dumps(data),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            check=False,
        )
        self.assertEqual(child.returncode, 0, child.stderr[-3000:])
        self.assertEqual(child.stdout.strip().splitlines()[-1], "pending")
        self.assertEqual(self.requests_sent(), 1, "the terminal answered")
        self.assertEqual(self.committed(data["payment_uuid"]), [("success", 1)])

    def test_a_relay_polling_during_a_start_through_it_forces_no_replay(self):
        """The relay polls (and records that it did) while a start through it
        is under way: the start still records its attempt at the first try,
        where a conflict on the relay's row made Odoo replay the request."""
        relay_id = self._committed_relay_serving(self.other_method_id)
        transactions = type(self.env["pos.caisse.ap.transaction"])
        hand_to_relay = transactions._hand_to_relay

        def poll_meanwhile(transaction, method, job):
            # Another request, another connection, committed before the
            # start records the relay on its transaction.
            with self.registry.cursor() as poll_cr:
                relays = api.Environment(poll_cr, SUPERUSER_ID, {})[
                    "pos.caisse.ap.relay"
                ]
                relays.browse(relay_id)._caisse_ap_seen(RELAY_STATUS, "192.0.2.7")
            return hand_to_relay(transaction, method, job)

        data = self.start_data()
        with (
            patch.object(transactions, "_hand_to_relay", poll_meanwhile),
            self.registry.cursor() as cr,
        ):
            env = api.Environment(cr, self.admin_id, {})
            answer = self.start_on(self.other_method_id, data, env)
        self.assertEqual(answer["state"], "pending")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            transaction = env["pos.caisse.ap.transaction"].search(
                [("payment_uuid", "=", data["payment_uuid"])]
            )
            self.assertEqual(transaction.relay_id.id, relay_id)
            self.assertEqual(transaction.relay_id.last_address, "192.0.2.7")

    def _committed_relay_serving(self, method_id):
        """A relay that has just polled, serving ``method_id`` until the test ends."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            relay = env["pos.caisse.ap.relay"].create({"name": "Committed relay"})
            relay._caisse_ap_seen(RELAY_STATUS, "192.0.2.1")
            method = env["pos.payment.method"].browse(method_id)
            method.write(
                {"fr_caisse_ap_ip_connection": "relay", "fr_caisse_ap_relay_id": relay}
            )
        self.addCleanup(self._no_relay, method_id, relay.id)
        return relay.id

    def _no_relay(self, method_id, relay_id):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["pos.caisse.ap.transaction"].search(
                [("relay_id", "=", relay_id)]
            ).unlink()
            env["pos.payment.method"].browse(method_id).write(
                {"fr_caisse_ap_ip_connection": "direct", "fr_caisse_ap_relay_id": False}
            )
            env["pos.caisse.ap.relay"].browse(relay_id).unlink()
