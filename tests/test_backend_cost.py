"""What a start and a status cost the server: the statements they send.

The POS asks for the status of a running payment; the cashier starts one. Both
run in an HTTP worker that every till shares: a status that is still within
its deadline only reads, a start writes its attempt and nothing it does not
need. Upper bounds on the statements, so that a change that makes them
heavier is seen (a lighter one only lowers the bounds).
"""

import contextlib
from unittest.mock import patch

from odoo import fields
from odoo.sql_db import Cursor
from odoo.tests import tagged

from ..runtime import worker
from .common import CaisseApCommon

WRITES = ("INSERT", "UPDATE", "DELETE")
# Measured with the POS user, one Caisse-AP method, a debit: a status reads the
# method (its record rules in the same query), the fields of the latest attempt
# it answers with, and the session with its POS and the offered methods in one
# query (3 statements, no write, whatever the attempt's state); a start also
# reads the journal and currency and inserts the attempt, the busy index
# telling whether the terminal is free (16 with the user's groups, access
# rights and defaults loaded on first use).
STATUS_STATEMENTS = 3
START_STATEMENTS = 16
START_WRITES = 1


@contextlib.contextmanager
def statements():
    """The SQL statements sent meanwhile (savepoints aside), as a list."""
    seen = []
    real = Cursor.execute

    def spy(cr, query, params=None, log_exceptions=True):
        text = str(getattr(query, "code", query)).lstrip().upper()
        if not text.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
            seen.append(text)
        return real(cr, query, params, log_exceptions)

    with patch.object(Cursor, "execute", spy):
        yield seen


@tagged("post_install", "-at_install")
class TestBackendCost(CaisseApCommon):
    def _start_without_exchange(self):
        # The exchange never runs: the attempt stays pending, within its deadline.
        started, _job = self.start_without_worker()
        self.env.flush_all()
        self.env.invalidate_all()
        return started

    def test_status_of_a_running_payment_only_reads(self):
        started = self._start_without_exchange()
        with statements() as sent:
            status = self.rpc("caisse_ap_status", started["payment_uuid"])
            self.env.flush_all()
        self.assertEqual(status["state"], "pending")
        self.assertEqual([s for s in sent if s.startswith(WRITES)], [])
        self.assertLessEqual(len(sent), STATUS_STATEMENTS, sent)

    def test_status_of_an_ended_payment_reads_no_more(self):
        # Each ending words its message from other fields of the attempt.
        endings = {
            "success": {"auth_code": "123456", "card_last4": "4242"},
            "failure": {"failure_code": "01"},
            "unknown": {"sent_at": fields.Datetime.now()},
            "error": {"error_message": "connection refused"},
        }
        for state, values in endings.items():
            with self.subTest(state=state):
                payment_uuid = self.make_transaction(state, **values).payment_uuid
                # Once to load the user's groups and rules, as any first RPC does.
                self.rpc("caisse_ap_status", payment_uuid)
                self.env.flush_all()
                self.env.invalidate_all()
                with statements() as sent:
                    status = self.rpc("caisse_ap_status", payment_uuid)
                self.assertEqual(status["state"], state)
                self.assertTrue(status["message"] or state == "success")
                self.assertLessEqual(len(sent), STATUS_STATEMENTS, sent)

    def test_start_writes_its_attempt_and_little_else(self):
        self.env.flush_all()
        with statements() as sent, patch.object(worker, "launch") as launched:
            started = self.start()
            self.env.flush_all()
        self.assertEqual(started["state"], "pending")
        launched.assert_called_once()
        writes = [s.split("(")[0] for s in sent if s.startswith(WRITES)]
        self.assertLessEqual(len(writes), START_WRITES, writes)
        self.assertLessEqual(len(sent), START_STATEMENTS, sent)
