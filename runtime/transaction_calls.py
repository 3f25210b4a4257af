"""What the runtime may call on the models: three calls on a journal entry.

The runtime never imports the models (see readme/DEVELOP.rst, the rooms): it
gets a transaction (``pos.caisse.ap.transaction``) from an environment it
opens, makes one of these calls, and commits. They are the whole interface:
the worker uses the three, the spool replay uses ``record_outcome``. On the
model they are private methods (a leading underscore: never reachable by
RPC); each locks the transaction's row first.
"""


def mark_sent(transaction):
    """Record that the request goes to the terminal now, before it goes.

    True when it may be sent: from then on a crash ends the attempt
    "unknown", never in a silent resend. False when the attempt may not be
    sent any more (cancelled, or ended by the sweep meanwhile)."""
    return transaction._mark_sent()


def record_outcome(transaction, outcome):
    """Write an exchange's outcome (``caisse_ap.journal.outcome_record``,
    checked by the journal's one gate) and end the attempt, even after a
    cancel or a sweep."""
    transaction._record_outcome(outcome)


def record_crash(transaction, state, error):
    """End the attempt of a worker that failed unexpectedly: ``state`` is
    "unknown" once the request was sent, "error" before."""
    transaction._record_crash(state, error)
