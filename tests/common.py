"""Shared set-up for the back-end tests: a POS with a Caisse-AP method whose
terminal is the simulator on 127.0.0.1, and RPC helpers that behave like HTTP
requests in test mode (one TestCursor each, serialised with the worker thread)."""

import json
import socket
import threading
import time
import uuid
from datetime import timedelta
from unittest.mock import patch

from odoo import api, fields
from odoo.tests import TransactionCase, new_test_user

from ..caisse_ap.simulator import Scenario, TerminalSimulator
from ..models.pos_payment_method import ALLOW_LOCAL_PARAM, TERMINAL_KEY
from ..runtime import worker as caisse_ap_worker
from .worker_support import running_workers, wait_for_worker

WORKER_TIMEOUT = 60  # liveness only: every exchange in these tests takes about a second
TRANSACTION_KEYS = {
    "transaction_id",
    "payment_uuid",
    "attempt",
    "state",
    "final",
    "amount",
    "amount_authorised",
    "partial",
    "auth_code",
    "card_last4",
    "application_label",
    "read_mode_label",
    "receipt_text",
    "failure_code",
    "message",
    "cancel_requested",
}


def allow_local_terminals(env, allowed=True):
    """Allow (or refuse again) loopback terminal addresses: the simulator runs on
    127.0.0.1, an address the payment methods refuse by default."""
    env["ir.config_parameter"].sudo().set_param(
        ALLOW_LOCAL_PARAM, "1" if allowed else False
    )


def caisse_ap_method_values(journal, name, **values):
    """A Caisse-AP card method whose terminal is the simulator on 127.0.0.1."""
    return {
        "name": name,
        "journal_id": journal.id,
        "payment_method_type": "terminal",
        "use_payment_terminal": TERMINAL_KEY,
        "fr_caisse_ap_ip_address": "127.0.0.1",
        "fr_caisse_ap_ip_port": 8888,
        "fr_caisse_ap_ip_timeout": 30,
        "company_id": journal.company_id.id,
        **values,
    }


def journal_entry(env, method, session, state="success", amount=10.0, ago=10, **values):
    """A finished journal entry, ended ``ago`` minutes ago, as the worker writes one
    (an approval comes with the simulator's card data)."""
    ended = fields.Datetime.now() - timedelta(minutes=ago)
    payment_uuid = values.pop("payment_uuid", None) or str(uuid.uuid4())
    attempt = values.pop("attempt", 1)
    vals = {
        "payment_method_id": method.id,
        "config_id": session.config_id.id,
        "session_id": session.id,
        "order_uuid": str(uuid.uuid4()),
        "payment_uuid": payment_uuid,
        "attempt": attempt,
        "terminal_key": f"127.0.0.1:{method.fr_caisse_ap_ip_port}",
        "correlation_id": f"{payment_uuid[:8]}-{attempt}",
        "currency_id": session.config_id.currency_id.id,
        "amount": amount,
        "state": state,
        "started_at": ended - timedelta(seconds=20),
        "sent_at": ended - timedelta(seconds=19),
        "ended_at": ended,
        "deadline": ended + timedelta(minutes=5),
        "company_id": session.config_id.company_id.id,
        "user_id": env.uid,
    }
    if state == "success":
        vals.update(
            auth_code="123456",
            card_last4="1234",
            application_code="00B",
            application_label="CB (contactless)",
            read_mode_code="2",
            read_mode_label="Contactless",
        )
    vals.update(values)
    return env["pos.caisse.ap.transaction"].sudo().create(vals)


def join_workers(test, *simulators):
    """Release the simulators' hanging payments, then wait for every payment
    worker of the test's database: no thread may outlive the test mode."""
    for simulator in simulators:
        simulator.release_hang()
    for payment_uuid in running_workers(test.cr.dbname):
        test.assertTrue(
            wait_for_worker(test.cr.dbname, payment_uuid, WORKER_TIMEOUT),
            f"worker of payment {payment_uuid} still running",
        )


def wait_all_workers(dbname):
    """Wait for every payment worker of a database (a failed test may leave
    payments running, which write to its records)."""
    for payment_uuid in running_workers(dbname):
        wait_for_worker(dbname, payment_uuid, WORKER_TIMEOUT)


def race(registry, uid, *calls):
    """Run each ``call(env)`` in a thread, each on a cursor of its own whose
    snapshot is taken before any call runs, as requests arriving together:
    their results, or the exceptions they raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index):
        try:
            with registry.cursor() as cr:
                # The snapshot is taken now: none sees another's work.
                cr.execute("SELECT 1")
                barrier.wait(WORKER_TIMEOUT)
                results[index] = calls[index](api.Environment(cr, uid, {}))
        except Exception as error:  # noqa: BLE001 - the caller inspects it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WORKER_TIMEOUT)
    return results


def open_session(config):
    """Open a session of POS ``config`` as a cashier does (no cash counted)."""
    config.open_ui()
    session = config.current_session_id
    session.set_opening_control(0, None)
    return session


def started_simulator(add_cleanup, kind="approve", delay=0, **options):
    """A simulated terminal on a free local port, stopped by ``add_cleanup``
    (a test's ``addCleanup`` or a class's ``addClassCleanup``)."""
    simulator = TerminalSimulator(
        "127.0.0.1", 0, Scenario(kind=kind, delay=delay), **options
    )
    simulator.start()
    add_cleanup(simulator.stop)
    return simulator


def free_port():
    """A local TCP port on which nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CaisseApCommon(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        allow_local_terminals(cls.env)
        cls.bank_journal = cls.env["account.journal"].create(
            {
                "name": "Caisse-AP Bank",
                "type": "bank",
                "code": "CAPB",
                "company_id": cls.company.id,
            }
        )
        cls.method = cls._create_method("TPE Carte")
        cls.config = cls.env["pos.config"].create(
            {
                "name": "Caisse-AP Shop",
                "payment_method_ids": [
                    (6, 0, (cls.method | cls._create_extra_methods()).ids)
                ],
            }
        )
        cls.session = open_session(cls.config)
        cls.pos_user = new_test_user(
            cls.env,
            login="caisse_ap_cashier",
            groups="base.group_user,point_of_sale.group_pos_user",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.pos_manager = new_test_user(
            cls.env,
            login="caisse_ap_manager",
            groups="base.group_user,point_of_sale.group_pos_manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )

    @classmethod
    def _create_extra_methods(cls):
        """More payment methods for the POS (its session opens in setUpClass)."""
        return cls.env["pos.payment.method"]

    @classmethod
    def _create_method(cls, name, **values):
        return cls.env["pos.payment.method"].create(
            caisse_ap_method_values(cls.bank_journal, name, **values)
        )

    def setUp(self):
        super().setUp()
        # Cursors opened by the worker thread share this test's transaction
        # (an HttpCase has entered the test mode already, for its server).
        if not self.registry.in_test_mode():
            self.registry.enter_test_mode(self.cr)
            self.addCleanup(self.registry.leave_test_mode)
        self.simulator = started_simulator(self.addCleanup)
        # Registered last, so it runs first: no thread may outlive the test mode.
        self.addCleanup(self._join_workers)
        self.method.fr_caisse_ap_ip_port = self.simulator.port

    def _join_workers(self):
        join_workers(self, self.simulator)

    def wait_until(self, predicate, timeout=WORKER_TIMEOUT):
        """Poll ``predicate`` (no database access in it) until it is true."""
        deadline = time.monotonic() + timeout
        while not predicate():
            self.assertLess(time.monotonic(), deadline, "condition not reached in time")
            time.sleep(0.02)

    # ------------------------------------------------------------------
    # RPC helpers
    # ------------------------------------------------------------------
    def rpc(self, name, *args, user=None, method=None, context=None):
        """Call an RPC of the payment method like the POS does (own test cursor)."""
        self.env.flush_all()
        user = user or self.pos_user
        method = method or self.method
        with self.registry.cursor() as cr:
            env = api.Environment(cr, user.id, context or {})
            result = getattr(env["pos.payment.method"].browse(method.id), name)(*args)
        self.env.invalidate_all()
        return result

    def start(
        self,
        amount=12.34,
        payment_uuid=None,
        retry=False,
        session=None,
        order_uuid=None,
        refunded_orders=None,
        start_key=None,
        **kwargs,
    ):
        data = {
            "payment_uuid": payment_uuid or str(uuid.uuid4()),
            "order_uuid": order_uuid or str(uuid.uuid4()),
            "amount": amount,
            "pos_session_id": (session or self.session).id,
            "retry": retry,
        }
        if refunded_orders is not None:
            data["refunded_order_ids"] = refunded_orders.ids
        if start_key is not None:
            data["start_key"] = start_key
        return self.rpc("caisse_ap_start", data, **kwargs)

    def start_without_worker(self, **kwargs):
        """A start whose worker never runs, as when its process dies right after
        the commit: the attempt stays pending. The start's answer and the job
        the worker would have run."""
        with patch.object(caisse_ap_worker, "launch") as launch:
            started = self.start(**kwargs)
        (_env, job), _kwargs = launch.call_args
        return started, job

    def wait(self, payment_uuid):
        """Wait for the payment's worker; return the latest transaction record."""
        self.assertTrue(
            wait_for_worker(self.cr.dbname, payment_uuid, WORKER_TIMEOUT),
            "the worker thread did not finish",
        )
        self.env.invalidate_all()
        return self.transactions(payment_uuid)[:1]

    def pay(self, amount=12.34, **kwargs):
        """Start a payment, wait for its end: (start dict, transaction, status)."""
        started = self.start(amount, **kwargs)
        transaction = self.wait(started["payment_uuid"])
        caller = {
            key: kwargs[key] for key in ("user", "method", "context") if key in kwargs
        }
        return (
            started,
            transaction,
            self.rpc("caisse_ap_status", started["payment_uuid"], **caller),
        )

    def transactions(self, payment_uuid=None):
        domain = [("payment_uuid", "=", payment_uuid)] if payment_uuid else []
        return self.env["pos.caisse.ap.transaction"].search(
            domain, order="attempt desc"
        )

    def make_transaction(self, state="pending", **values):
        """A transaction written directly in ``state`` (no worker behind it)."""
        now = fields.Datetime.now()
        return self.env["pos.caisse.ap.transaction"].create(
            {
                "payment_method_id": self.method.id,
                "config_id": self.config.id,
                "session_id": self.session.id,
                "payment_uuid": str(uuid.uuid4()),
                # A terminal of its own: the busy index allows one active each.
                "terminal_key": f"{uuid.uuid4().hex[:12]}.test:8888",
                "currency_id": self.config.currency_id.id,
                "amount": 10,
                "state": state,
                "started_at": now,
                "deadline": now + timedelta(seconds=600),
                "company_id": self.company.id,
                **values,
            }
        )

    def bus_messages(self, config=None):
        """Payloads of the CAISSE_AP_TRANSACTION messages sent to a POS config."""
        config = config or self.config
        # Bus messages are created when the transaction commits: now, in a test.
        self.env.cr.precommit.run()
        token = config.access_token
        messages = self.env["bus.bus"].search([("channel", "like", token)], order="id")
        payloads = []
        for message in messages:
            data = json.loads(message.message)
            if data.get("type") == f"{token}-CAISSE_AP_TRANSACTION":
                payloads.append(data["payload"])
        return payloads
