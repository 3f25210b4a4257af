"""Outcomes the worker kept in the spool while the database was unavailable.

The sweep records them before it declares anything lost (a spooled answer is
real); a server that starts with files waiting triggers the sweep soon.
"""

import logging
from functools import partial

from . import transaction_calls as calls
from .worker import outcome_spool

_logger = logging.getLogger(__name__)


def replay(env):
    """Record the spooled outcomes; each file goes once its write is committed."""
    spool = outcome_spool(env.cr.dbname)
    transactions = env["pos.caisse.ap.transaction"].sudo()
    for transaction_id, record in spool.pending():
        path = spool.path(transaction_id)
        transaction = transactions.browse(transaction_id).exists()
        if not transaction or (
            transaction.payment_uuid,
            transaction.attempt,
        ) != (record.get("payment_uuid"), record.get("attempt")):
            _logger.error(
                "Caisse-AP: spool file %s matches no transaction of this "
                "database: left in place",
                path,
            )
            continue
        try:
            with env.cr.savepoint():
                calls.record_outcome(transaction, record["outcome"])
        except Exception:
            _logger.exception(
                "Caisse-AP: cannot record spool file %s: left in place", path
            )
            continue
        _logger.info(
            "Caisse-AP %s: payment %s attempt %s: outcome recorded from %s",
            transaction.terminal_key,
            transaction.payment_uuid,
            transaction.attempt,
            path,
        )
        env.cr.postcommit.add(partial(spool.discard, transaction_id))
