"""The shop relay's endpoints (protocol: caisse_ap/relay_wire.py).

They do nothing else than serve the relayed exchanges of the token's own
relay: every transaction or probe is looked up by id AND relay. A wrong or
revoked token gets 401 and a warning in the log (never the token itself).
Plain HTTP is refused except from this machine (tests, demo).
"""

import ipaddress
import json
import logging
import time

import odoo
from odoo import SUPERUSER_ID, http
from odoo.http import request
from odoo.tools import config

from ..caisse_ap import relay_wire

_logger = logging.getLogger(__name__)

# How often a held poll looks for work. Each look is two indexed queries:
# measured with one idle relay, ~8 queries/s and under 1 % of a CPU (Odoo and
# PostgreSQL). Only a threaded or gevent server holds polls (never a prefork
# worker), so a LISTEN/NOTIFY wake-up (a connection and a thread per process,
# a path the tests cannot hold) is not worth its risk; the database stays the
# only thing a poll reads.
POLL_STEP = 0.25


class _Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _json(data, status=200):
    return request.make_response(
        json.dumps(data),
        headers=[("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        status=status,
    )


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _can_hold():
    """Whether a poll may wait here for work (long polling).

    Not in a prefork HTTP worker: holding one per relay would take a worker
    from the shop's cashiers (Odoo.sh has a few); the relay then polls again
    after its interval (short polling, a few milliseconds of work each).
    Not under tests either: their cursors are serialised, holding one would
    block every other request. Yes in a threaded server (one thread) and in
    the gevent process (one greenlet).
    """
    if request.env.registry.in_test_mode():
        return False
    return bool(odoo.evented or not config["workers"])


def _relay_route(path):
    """POST only, no session, no CSRF token (the relay is no browser), the
    token checked by the handler; read-write (``auth="none"`` is read-only by
    default)."""
    return http.route(
        path,
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
    )


def _remote():
    return request.httprequest.remote_addr or "?"


class CaisseApRelayController(http.Controller):
    def _serve(self, handler):
        """Authenticate, parse, run ``handler(relay, body)``; errors as JSON."""
        # auth="none": no user; the relay acts as the system, scoped below.
        request.update_env(user=SUPERUSER_ID)
        try:
            relay = self._authenticate()
            body = self._body()
            return _json(handler(relay, body))
        except _Refused as refused:
            return _json({"error": str(refused)}, refused.status)

    def _authenticate(self):
        httprequest = request.httprequest
        if httprequest.scheme != "https" and not _is_loopback(_remote()):
            _logger.warning(
                "Caisse-AP relay: plain HTTP request from %s refused", _remote()
            )
            raise _Refused(403, "HTTPS required")
        scheme, _sep, token = httprequest.headers.get(
            relay_wire.AUTH_HEADER, ""
        ).partition(" ")
        relays = request.env["pos.caisse.ap.relay"].sudo()
        relay = relays.browse()
        if scheme == relay_wire.AUTH_SCHEME:
            relay = relays._caisse_ap_authenticate(token.strip())
        if not relay:
            _logger.warning(
                "Caisse-AP relay: wrong or revoked token from %s refused (%s)",
                _remote(),
                httprequest.path,
            )
            raise _Refused(401, "invalid or revoked token")
        return relay

    def _body(self):
        data = request.httprequest.get_data(cache=False)
        if len(data) > relay_wire.MAX_BODY:
            raise _Refused(413, "request too large")
        try:
            body = json.loads(data or b"{}")
        except ValueError:
            raise _Refused(400, "invalid JSON") from None
        if not isinstance(body, dict):
            raise _Refused(400, "a JSON object expected")
        return body

    def _transaction(self, relay, body):
        """The transaction of ``body``, only if it is this relay's."""
        transaction_id = body.get("transaction_id")
        transaction = request.env["pos.caisse.ap.transaction"].sudo()
        if isinstance(transaction_id, int) and not isinstance(transaction_id, bool):
            transaction = transaction.search(
                [("id", "=", transaction_id), ("relay_id", "=", relay.id)]
            )
        if not transaction:
            _logger.warning(
                "Caisse-AP relay %s (%s): transaction %r is not its own: refused",
                relay.id,
                relay.name,
                transaction_id,
            )
            raise _Refused(404, "no such transaction for this relay")
        return transaction

    # ------------------------------------------------------------------
    @_relay_route(relay_wire.PATH_POLL)
    def caisse_ap_relay_poll(self):
        return self._serve(self._poll)

    def _poll(self, relay, body):
        wait = body.get("wait", 0)
        if not isinstance(wait, (int, float)) or isinstance(wait, bool):
            raise _Refused(400, "invalid wait")
        wait = min(max(float(wait), 0.0), relay_wire.MAX_WAIT)
        if not _can_hold():
            wait = 0.0
        # Seen now, in a transaction of its own: online while its poll waits.
        with request.env.registry.cursor() as cr:
            relay.with_env(relay.env(cr=cr))._caisse_ap_seen(
                body.get("version", "?"), _remote()
            )
        give_up = time.monotonic() + wait
        while True:
            jobs = request.env["pos.caisse.ap.transaction"]._caisse_ap_relay_jobs(
                relay
            ) + request.env["pos.caisse.ap.relay.probe"]._caisse_ap_take(relay)
            if jobs or time.monotonic() >= give_up:
                return {"jobs": jobs, "wait": relay_wire.MAX_WAIT}
            # Nothing was written: ending the snapshot lets the next look see
            # new payments; the cursor is held idle, no lock is kept.
            request.env.cr.rollback()
            time.sleep(POLL_STEP)

    @_relay_route(relay_wire.PATH_CLAIM)
    def caisse_ap_relay_claim(self):
        return self._serve(self._claim)

    def _claim(self, relay, body):
        claim = body.get("claim")
        if not isinstance(claim, str) or not 16 <= len(claim) <= 64:
            raise _Refused(400, "invalid claim key")
        transaction = self._transaction(relay, body)
        send, reason = transaction._caisse_ap_relay_claim(claim)
        return {"send": send, "reason": reason}

    @_relay_route(relay_wire.PATH_RESULT)
    def caisse_ap_relay_result(self):
        return self._serve(self._result)

    def _result(self, relay, body):
        transaction = self._transaction(relay, body)
        try:
            exchange = relay_wire.exchange_from_json(body.get("exchange"))
        except relay_wire.WireError as error:
            _logger.warning(
                "Caisse-AP relay %s: invalid outcome for transaction %s: %s",
                relay.id,
                transaction.id,
                error,
            )
            raise _Refused(400, f"invalid outcome: {error}") from None
        if not transaction.sent_at or not transaction.sudo().relay_claim:
            raise _Refused(409, "this transaction was not claimed")
        recorded = transaction._caisse_ap_relay_record(exchange)
        return {"recorded": recorded, "duplicate": not recorded}

    @_relay_route(relay_wire.PATH_PROBE)
    def caisse_ap_relay_probe(self):
        return self._serve(self._probe)

    def _probe(self, relay, body):
        probe_id = body.get("probe_id")
        probe = request.env["pos.caisse.ap.relay.probe"].sudo()
        if isinstance(probe_id, int) and not isinstance(probe_id, bool):
            probe = probe.search([("id", "=", probe_id), ("relay_id", "=", relay.id)])
        if not probe:
            raise _Refused(404, "no such connection test for this relay")
        reason = body.get("reason")
        probe.write(
            {
                "state": "done",
                "ok": body.get("ok") is True,
                "reason": reason[:500] if isinstance(reason, str) else False,
            }
        )
        return {"recorded": True}
