"""The transaction lifecycle table and the one method that applies it."""

from unittest.mock import patch

from odoo.tests import tagged

from ..models import pos_caisse_ap_transaction as lifecycle
from .common import CaisseApCommon


def logged(logger_mock):
    """``(level, message)`` of each call made to a mocked module logger."""
    return [
        (level, args[0] % args[1:]) for level, args, _kwargs in logger_mock.method_calls
    ]


@tagged("post_install", "-at_install")
class TestBackendLifecycle(CaisseApCommon):
    def states(self):
        return [
            state
            for state, _label in self.env["pos.caisse.ap.transaction"]
            ._fields["state"]
            .selection
        ]

    def test_the_table_covers_every_state(self):
        self.assertEqual(set(lifecycle.TRANSITIONS), set(self.states()))
        self.assertEqual(
            set(lifecycle.ACTIVE_STATES) | set(lifecycle.FINAL_STATES),
            set(self.states()),
        )
        for state in lifecycle.FINAL_STATES:
            with self.subTest(state=state):
                # Only a real answer may replace the sweep's "unknown".
                expected = {"success", "failure"} if state == "unknown" else set()
                self.assertEqual(lifecycle.TRANSITIONS[state], expected)

    def test_every_transition_is_checked(self):
        for previous in self.states():
            for state in self.states():
                with self.subTest(previous=previous, state=state):
                    transaction = self.make_transaction(previous)
                    notified = len(self.bus_messages())
                    if state in lifecycle.TRANSITIONS[previous]:
                        transaction._transition(state)
                        self.assertEqual(transaction.state, state)
                        self.assertEqual(len(self.bus_messages()), notified + 1)
                    else:
                        with self.assertRaises(lifecycle.IllegalTransition):
                            transaction._transition(state)
                        self.assertEqual(transaction.state, previous)
                        self.assertEqual(
                            len(self.bus_messages()), notified, "nothing notified"
                        )

    def test_a_transition_stamps_logs_and_notifies(self):
        transaction = self.make_transaction("pending")
        with patch.object(lifecycle, "_logger") as logger:
            transaction._transition("sent")
            transaction._transition("cancel_requested", "by the cashier")
            transaction._transition("unknown", "lost", error_message="lost")
            transaction._transition("success", "late answer")
        self.assertTrue(transaction.sent_at)
        self.assertTrue(transaction.cancel_requested)
        self.assertTrue(transaction.cancel_requested_at)
        self.assertTrue(transaction.ended_at)
        self.assertEqual(transaction.error_message, "lost")
        where = (
            f"Caisse-AP {transaction.terminal_key}: payment "
            f"{transaction.payment_uuid} attempt 1: "
        )
        self.assertEqual(
            logged(logger),
            [
                ("info", where + "pending -> sent"),
                ("info", where + "sent -> cancel_requested; by the cashier"),
                ("warning", where + "cancel_requested -> unknown; lost"),
                ("info", where + "unknown -> success; late answer"),
            ],
        )
        self.assertEqual(
            [message["state"] for message in self.bus_messages()],
            ["sent", "cancel_requested", "unknown", "success"],
        )

    def test_cancel_when_the_table_refuses_it_changes_nothing(self):
        for state in ("cancel_requested", *lifecycle.FINAL_STATES):
            with self.subTest(state=state):
                transaction = self.make_transaction(state)
                transaction._request_cancel()
                self.assertEqual(transaction.state, state)
                self.assertFalse(transaction.cancel_requested_at)
