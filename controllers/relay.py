"""The shop relay's endpoints (protocol: caisse_ap/relay_wire.py).

They do nothing else than serve the relayed exchanges of the token's own
relay: every transaction or probe is looked up by id AND relay, an outcome
is recorded only with the key that won the claim, and only once it passed the
journal's check. A wrong or revoked token gets 401 and a warning in the log
(never the token itself). Plain HTTP is refused except from this machine
(tests, demo) when no proxy stands between.
What the caller controls, and what is checked: ``relay_arguments.py``.
"""

import ipaddress
import json
import logging
import math
import threading
import time

from werkzeug.exceptions import RequestEntityTooLarge

import odoo
from odoo import SUPERUSER_ID, api, http
from odoo.exceptions import UserError
from odoo.http import request
from odoo.tools import config

from odoo.addons.bus.models.bus import dispatch

from ..caisse_ap import MAX_SCAN_ADDRESSES, OutcomeRejected, outcome_record, relay_wire

_logger = logging.getLogger(__name__)

# A held poll looks for work when the bus says some waits for its relay, and
# also this often (a notification lost, Odoo's bus listener restarting): two
# indexed queries on a connection borrowed for the look only. Only a threaded
# or gevent server holds polls (never a prefork worker), one per relay.
POLL_STEP = 5.0
LEASE_END_PAUSES = (0.01, 0.05, 0.1, 0.2, 0)


class _Refused(Exception):
    def __init__(self, status, message, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


def _json(data, status=200):
    return request.make_response(
        json.dumps(data),
        headers=[("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        status=status,
    )


class _BusWaiter:
    """What Odoo's bus dispatcher (``dispatch``) expects of a websocket, for a
    held poll: the dispatcher's thread calls
    :meth:`trigger_notification_dispatching` when a notification is committed
    on one of its channels; the poll then looks for work."""

    def __init__(self):
        self._channels = set()
        self.event = threading.Event()

    def subscribe(self, channels, last):
        self._channels = channels

    def trigger_notification_dispatching(self):
        self.event.set()


def _can_hold():
    """Whether a poll may wait here for work (long polling).

    Not in a prefork HTTP worker: holding one per relay would take a worker
    from the shop's cashiers (Odoo.sh has a few); the relay then polls again
    after its interval (short polling, a few milliseconds of work each). Yes
    in a threaded server (one thread, no database connection while it waits)
    and in the gevent process (one greenlet). Not under tests: their requests
    share the test's connection, which a poll looking for work on its own
    schedule would use under the test's feet.
    """
    if request.env.registry.in_test_mode():
        return False
    return bool(odoo.evented or not config["workers"])


def _relay_route(path):
    """POST only, no session, no CSRF token (the relay is no browser), the
    token checked by the handler; read-write (``auth="none"`` is read-only by
    default). No ``max_content_length``: werkzeug would read a larger body
    whole (to discard it) before the handler; the handler refuses it from its
    length instead."""
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


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


# PostgreSQL's integer: a larger id is no record (and no query error).
MAX_ID = 2**31 - 1


def _integer(body, key):
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


def _is_claim_key(value):
    return isinstance(value, str) and 16 <= len(value) <= 64


def _text(body, key, limit):
    value = body.get(key)
    return value[:limit] if isinstance(value, str) else ""


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
            answer = {"error": str(refused)}
            if refused.code:
                answer["code"] = refused.code
            return _json(answer, refused.status)

    def _authenticate(self):
        httprequest = request.httprequest
        if httprequest.scheme != "https" and not relay_wire.is_loopback_request(
            httprequest.remote_addr, httprequest.headers.get
        ):
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
        httprequest = request.httprequest
        # Said too large by its length: refused before a byte is read.
        if (httprequest.content_length or 0) > relay_wire.MAX_BODY:
            raise _Refused(413, "request too large")
        try:
            # Kept: when another request wrote the same row, Odoo runs this one
            # again, which must read the same body (an empty one would tell
            # the relay its transaction is not its own, and it would drop it).
            data = httprequest.get_data(cache=True)
        except RequestEntityTooLarge:  # Odoo's own limit (128 MiB by default)
            raise _Refused(413, "request too large") from None
        try:
            # NaN and Infinity are no JSON: a NaN wait would never end.
            body = json.loads(data or b"{}", parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise _Refused(400, "invalid JSON") from None
        if not isinstance(body, dict):
            raise _Refused(400, "a JSON object expected")
        return body

    def _transaction(self, relay, body):
        """The transaction of ``body``, only if it is this relay's."""
        transaction_id = _integer(body, "transaction_id")
        transaction = request.env["pos.caisse.ap.transaction"].sudo()
        if transaction_id is not None:
            transaction = transaction.search(
                [("id", "=", transaction_id), ("relay_id", "=", relay.id)]
            )
        if not transaction:
            _logger.warning(
                "Caisse-AP relay %s (%s): transaction %r is not its own: refused",
                relay.id,
                relay.name,
                body.get("transaction_id"),
            )
            # In the words the relay recognises: only this 404 makes it
            # forget an outcome (a proxy's 404 page does not).
            raise _Refused(
                404,
                relay_wire.UNKNOWN_TRANSACTION_TEXT,
                relay_wire.UNKNOWN_TRANSACTION,
            )
        return transaction

    # ------------------------------------------------------------------
    @_relay_route(relay_wire.PATH_POLL)
    def caisse_ap_relay_poll(self):
        return self._serve(self._poll)

    def _poll(self, relay, body):
        wait = body.get("wait", 0)
        if (
            not isinstance(wait, (int, float))
            or isinstance(wait, bool)
            or not math.isfinite(wait)
        ):
            raise _Refused(400, "invalid wait")
        wait = min(max(float(wait), 0.0), relay_wire.MAX_WAIT)
        claim = body.get("claim")
        if claim is not None and not _is_claim_key(claim):
            raise _Refused(400, "invalid claim key")
        status = relay_wire.relay_status(body)
        protocol = status["protocol"]
        # One connection per poll at a time: the request's (the row updates
        # skip when another poll of the relay holds the row).
        relay._caisse_ap_seen(status, _remote())
        # Claimed in the request's own transaction, which Odoo runs again
        # (same body, same key) when another request wrote the same rows.
        jobs = self._jobs(request.env, relay, protocol, claim)
        if jobs or not wait or not _can_hold():
            return self._poll_answer(jobs)
        lease = relay._caisse_ap_take_poll_lease(wait)
        if not lease:
            # Another poll of this relay is held: this one is answered now,
            # and told to come back later (the held one brings the work).
            return dict(self._poll_answer([]), retry_after=relay_wire.BUSY_RETRY)
        channel = relay._caisse_ap_bus_channel()
        return self._poll_answer(self._hold(relay.id, protocol, lease, wait, channel))

    def _hold(self, relay_id, protocol, lease, wait, channel):
        """Look for work until ``wait`` has passed, whenever the bus says some
        waits on the relay's ``channel`` (and every POLL_STEP), holding no
        database connection while asleep: many relays cannot exhaust the pool
        that the cashiers' requests draw from."""
        registry = request.env.registry
        waiter = _BusWaiter()
        # Heard from now on: work committed after the look below wakes it.
        dispatch.subscribe([channel], 0, registry.db_name, waiter)
        # The lease and the relay's news are kept; then the request's cursor is
        # closed and its connection goes back to the pool (Odoo's request
        # handling knows a closed cursor: nothing more is committed).
        request.env.cr.commit()  # pylint: disable=invalid-commit
        request.env.cr.close()
        give_up = time.monotonic() + wait
        try:
            while True:
                with registry.cursor() as look:
                    env = api.Environment(look, SUPERUSER_ID, {})
                    relay = env["pos.caisse.ap.relay"].browse(relay_id)
                    jobs = self._jobs(env, relay, protocol)
                left = give_up - time.monotonic()
                if jobs or left <= 0:
                    return jobs
                waiter.event.wait(min(POLL_STEP, left))
                waiter.event.clear()
        finally:
            dispatch.unsubscribe(waiter)
            # Each try in a transaction of its own (a fresh view of the row);
            # a lease not given back runs out a few seconds later anyway.
            for pause in LEASE_END_PAUSES:
                with registry.cursor() as end:
                    relays = api.Environment(end, SUPERUSER_ID, {})[
                        "pos.caisse.ap.relay"
                    ]
                    if relays.browse(relay_id)._caisse_ap_end_poll_lease(lease):
                        break
                time.sleep(pause)

    @staticmethod
    def _jobs(env, relay, protocol, claim=None):
        """The work for ``relay``, which speaks relay ``protocol``; its
        payments claimed with ``claim`` when given. A held poll's later looks
        claim nothing (their own short transactions are not run again on a
        conflict): their jobs are claimed by the relay's claim call."""
        try:
            payments = env["pos.caisse.ap.transaction"]._caisse_ap_relay_jobs(
                relay, protocol, claim
            )
            return payments + env["pos.caisse.ap.relay.probe"]._caisse_ap_take(relay)
        except UserError as error:
            # The address policy's settings do not read: nothing may be sent
            # (the payments waiting end "not sent" at their send deadline).
            _logger.error("Caisse-AP relay %s: no job handed out: %s", relay.id, error)
            return []

    @staticmethod
    def _poll_answer(jobs):
        return {
            "jobs": jobs,
            "wait": relay_wire.MAX_WAIT,
            "protocol": relay_wire.PROTOCOL,
        }

    @_relay_route(relay_wire.PATH_CLAIM)
    def caisse_ap_relay_claim(self):
        return self._serve(self._claim)

    def _claim(self, relay, body):
        claim = body.get("claim")
        if not _is_claim_key(claim):
            raise _Refused(400, "invalid claim key")
        transaction = self._transaction(relay, body)
        send, reason = transaction._caisse_ap_relay_claim(claim)
        return {"send": send, "reason": reason}

    @_relay_route(relay_wire.PATH_RESULT)
    def caisse_ap_relay_result(self):
        return self._serve(self._result)

    def _result(self, relay, body):
        transaction = self._transaction(relay, body)
        if not transaction._caisse_ap_relay_claimed_by(body.get("claim")):
            _logger.warning(
                "Caisse-AP relay %s (%s) from %s: outcome for transaction %s "
                "without the key that claimed it: refused, nothing changed",
                relay.id,
                relay.name,
                _remote(),
                transaction.id,
            )
            raise _Refused(409, "this transaction was not claimed with this key")
        try:
            exchange = relay_wire.exchange_from_json(body.get("exchange"))
            record = transaction._checked_record(outcome_record(exchange))
        except (relay_wire.WireError, OutcomeRejected) as error:
            _logger.warning(
                "Caisse-AP relay %s: invalid outcome for transaction %s: %s",
                relay.id,
                transaction.id,
                error,
            )
            raise _Refused(400, f"invalid outcome: {error}") from None
        recorded = transaction._caisse_ap_relay_record(record)
        return {"recorded": recorded, "duplicate": not recorded}

    @_relay_route(relay_wire.PATH_PROBE)
    def caisse_ap_relay_probe(self):
        return self._serve(self._probe)

    def _probe(self, relay, body):
        probe_id = _integer(body, "probe_id")
        probe = request.env["pos.caisse.ap.relay.probe"].sudo()
        if probe_id is not None:
            probe = probe.search([("id", "=", probe_id), ("relay_id", "=", relay.id)])
        if not probe:
            raise _Refused(404, "no such connection test for this relay")
        ok = body.get("ok")
        if not isinstance(ok, bool):
            raise _Refused(400, "ok: true or false expected")
        found = _found(body, probe.network) if probe.network else ()
        complete = body.get("complete", True)
        if not isinstance(complete, bool):
            raise _Refused(400, "complete: true or false expected")
        probe._caisse_ap_done(ok, _text(body, "reason", 500), found, complete)
        return {"recorded": True}


def _found(body, network):
    """A terminal search's answer: addresses of the searched network only, each
    once, at most as many as a search may try."""
    found = body.get("found", [])
    if not isinstance(found, list) or len(found) > MAX_SCAN_ADDRESSES:
        raise _Refused(400, "found: a list of addresses expected")
    searched = ipaddress.ip_network(network, strict=False)
    addresses = []
    for text in found:
        try:
            address = ipaddress.ip_address(text if isinstance(text, str) else "")
        except ValueError:
            raise _Refused(400, "found: a list of addresses expected") from None
        if getattr(address, "scope_id", None) is not None:
            # An IPv6 zone may hold any text: no scan ever answers one.
            raise _Refused(400, "found: an address without a zone expected")
        if address not in searched:
            raise _Refused(400, f"found: {address} is not in {searched}")
        addresses.append(str(address))
    return sorted(set(addresses), key=ipaddress.ip_address)
