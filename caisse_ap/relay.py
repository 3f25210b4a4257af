"""Shop relay: lets a cloud-hosted Odoo use the shop's terminals, outbound only.

Run it on any machine of the shop's network, the token in the environment
(never on a command line, where ``ps`` and the shell history show it)::

    CAISSE_AP_RELAY_TOKEN=... python -m caisse_ap.relay --server https://example.odoo.com

``python -m caisse_ap.relay pair`` writes that environment from a pairing
code shown in Odoo (:mod:`caisse_ap.relay_pairing`).

It listens on Odoo's bus (a websocket) to be told at once when work waits,
and polls Odoo over HTTPS for the exchanges of the terminals it serves (at
once when told, else rarely; often when the bus cannot be reached), claims
each payment before sending it (so that it is never sent twice: woken by the
bus, its poll claims them in the same request), runs
it with the engine's transport on the shop's network and posts the outcome
back. An outcome is kept in a small file until Odoo has acknowledged it, so
that a relay killed in between posts it at its next start (:class:`Spool`).
See :mod:`caisse_ap.relay_wire` for the protocol. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from . import exchange, probe
from .address import AddressPolicy, parse_networks
from .discovery import ScanRefused, scan
from .exchange import ExchangeResult, Outcome
from .relay_bus import BusListener
from .relay_wire import (
    AUTH_HEADER,
    AUTH_SCHEME,
    BUS_SAFETY_POLL,
    MAX_WAIT,
    PATH_CLAIM,
    PATH_POLL,
    PATH_PROBE,
    PATH_RESULT,
    PROTOCOL,
    WireError,
    is_local_host,
    is_unknown_transaction,
    request_from_json,
    to_json,
)
from .spool import Spool

_logger = logging.getLogger("caisse_ap.relay")

VERSION = "2.1"
CONNECT_TIMEOUT = 5.0
PROBE_TIMEOUT = 3.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
# An outcome kept in a file is posted until Odoo has it; one that could not be
# kept (no disk) and a connection test's result are tried this long.
RESULT_PATIENCE = 3600.0
# How often the poll loop looks at the stop flag while a poll is out.
STOP_CHECK = 0.1
# An empty poll answer that came back early (a server that does not hold
# polls: a prefork worker) is followed by this pause before the next poll.
POLL_INTERVAL = 1.0
STATE_FOLDER = "caisse-ap-relay"
# Claims and outcome posts at once towards Odoo (polls excluded): a burst of
# payments waits here rather than in the queue of Odoo's few HTTP workers,
# where it would delay the cashiers' own requests.
PARALLEL_POSTS = 4


class ServerError(Exception):
    """Odoo answered, but not with 200: ``status`` says why.

    ``not_ours``: the relay controller itself said the transaction is not this
    relay's (or no longer exists), in its own JSON words; a bare 404 is not
    that (see :func:`relay_wire.is_unknown_transaction`).
    """

    def __init__(self, status: int, message: str, not_ours: bool = False) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.not_ours = not_ours

    @property
    def final(self) -> bool:
        """Retrying the same call cannot help (refused or unknown)."""
        return 400 <= self.status < 500 and self.status != 429


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the error it is: following it would hand the
    token to whoever the ``Location`` names, over any scheme."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def check_server_url(url: str) -> str:
    """The server's base URL; HTTPS unless it is this very machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"invalid server URL {url!r}: https://host expected")
    if parts.scheme == "http" and not is_local_host(parts.hostname):
        raise ValueError(
            f"refusing plain HTTP to {parts.hostname}: the token and the payments "
            "must travel over HTTPS (http is accepted for localhost only)"
        )
    return url.rstrip("/")


class Client:
    """JSON over HTTP(S) to Odoo's relay endpoints, token in a header."""

    def __init__(self, server: str, token: str, parallel: int = PARALLEL_POSTS) -> None:
        self.server = check_server_url(server)
        self.token = token
        self._opener = urllib.request.build_opener(
            _NoRedirect(),
            urllib.request.HTTPSHandler(context=ssl.create_default_context()),
        )
        self._slots = threading.BoundedSemaphore(max(parallel, 1))

    def post(self, path: str, body: dict, timeout: float, queued: bool = True) -> dict:
        """``queued``: wait for one of the ``parallel`` slots first (a held
        poll never takes one: it would block the posts for its whole wait)."""
        if not queued:
            return self._post(path, body, timeout)
        with self._slots:
            return self._post(path, body, timeout)

    def _post(self, path: str, body: dict, timeout: float) -> dict:
        request = urllib.request.Request(
            self.server + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                AUTH_HEADER: f"{AUTH_SCHEME} {self.token}",
                "User-Agent": f"caisse-ap-relay/{VERSION}",
            },
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            if 300 <= error.code < 400:
                location = error.headers.get("Location", "?")
                raise ServerError(
                    error.code,
                    f"the server redirects to {location}: give that address as "
                    "--server (no redirect is followed, the token stays here)",
                ) from None
            raise _server_error(error) from None
        except ValueError as error:
            raise ServerError(502, f"invalid JSON answer: {error}") from None
        if not isinstance(answer, dict):
            raise ServerError(502, "invalid answer: an object expected")
        return answer


def _server_error(error: urllib.error.HTTPError) -> ServerError:
    """The error Odoo's answer ``error`` is, with the controller's message
    when the body is its JSON (a proxy's or Odoo's own page is not)."""
    try:
        answer = json.loads(error.read())
    except (ValueError, OSError):
        answer = None
    message = answer.get("error") if isinstance(answer, dict) else None
    return ServerError(
        error.code,
        message if isinstance(message, str) else str(error.reason),
        not_ours=is_unknown_transaction(error.code, answer),
    )


def retry_after(answer: dict) -> float:
    """How long the server asked to wait before the next poll (0 to 60 s)."""
    value = answer.get("retry_after", 0)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return 0.0
    return min(max(float(value), 0.0), 60.0) if value == value else 0.0


def interval_pause(interval: float) -> float:
    """The pause after a poll answered early: ``interval``, give or take a
    fifth, so that relays started together (a server restart) drift apart
    instead of polling in the same millisecond."""
    return interval * random.uniform(0.8, 1.2)


def safety_pause() -> float:
    """The pause between two polls while the bus is heard: a minute or a
    little more (never more than a poll a minute), drifting apart as above."""
    return BUS_SAFETY_POLL * random.uniform(1.0, 1.2)


class Backoff:
    """Growing waits with jitter between failed attempts; reset on success."""

    def __init__(self, first: float | None = None, most: float | None = None):
        # The module's values as they are now (tests shorten them).
        self.first = BACKOFF_FIRST if first is None else first
        self.most = BACKOFF_MAX if most is None else most
        self.current = 0.0

    def next(self) -> float:
        self.current = min(self.most, self.current * 2 if self.current else self.first)
        return self.current * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.current = 0.0


def default_state_dir() -> Path:
    """systemd's ``StateDirectory=``, else the user's XDG state folder."""
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / STATE_FOLDER


class Relay:
    """The poll loop, the bus listener that wakes it, and one thread per
    running exchange."""

    def __init__(
        self,
        client: Client,
        wait: float = 20.0,
        interval: float = POLL_INTERVAL,
        exchange_func: Callable = exchange,
        probe_func: Callable = probe,
        spool: Spool | None = None,
        bus: bool = True,
    ) -> None:
        self.client = client
        self.spool = spool
        self.wait = min(max(wait, 0.0), MAX_WAIT)
        self.interval = max(interval, 0.05)
        self.exchange = exchange_func
        self.probe = probe_func
        self.stopping = threading.Event()
        # Set to end a pause early: work waits, the bus came or went, a stop.
        self.wake = threading.Event()
        self.bus = (
            BusListener(
                client.server,
                client.token,
                self.status,
                self.wake,
                self.stopping,
                user_agent=f"caisse-ap-relay/{VERSION}",
            )
            if bus
            else None
        )
        self._running: dict[object, threading.Thread] = {}
        self._lock = threading.Lock()
        # Why the last delivery failed, shown in Odoo while outcomes wait.
        self.last_error = ""
        self._server_protocol: object = None
        self._retry_after = 0.0
        # The key of a claiming poll that got no answer: the next poll says it
        # again, and the server hands again what that poll claimed.
        self._poll_claim: str | None = None

    # ------------------------------------------------------------------
    # Poll loop
    # ------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        """Whether Odoo's bus will wake this relay when work waits."""
        return bool(self.bus and self.bus.listening)

    def run(self) -> None:
        """Poll until :meth:`stop`; then let the running exchanges finish."""
        backoff = Backoff()
        _logger.info("relay %s polling %s", VERSION, self.client.server)
        self.deliver_kept()
        if self.bus:
            self.bus.start()
        while not self.stopping.is_set():
            started = time.monotonic()
            listening = self.listening
            # A wake-up from now on means a poll after this one.
            self.wake.clear()
            try:
                # A key whose answer was lost is said again at once, even if
                # the bus went away meanwhile: its payments wait for it.
                held = not listening and not self._poll_claim
                jobs = self._poll_unless_stopped(self.wait if held else 0.0)
            except (OSError, ServerError) as error:
                delay = backoff.next()
                self._log_poll_error(error, delay)
                self.stopping.wait(delay)
                continue
            if jobs is None:
                break  # stopped while a poll that claims nothing was out
            if backoff.current:
                _logger.info("connected again to %s", self.client.server)
            backoff.reset()
            for job in jobs:
                self.dispatch(job)
            pause = self._pause(jobs, time.monotonic() - started, listening)
            if pause:
                self.wake.wait(pause)
        if self.bus:
            self.bus.join(CONNECT_TIMEOUT)
        self.join()

    def _pause(self, jobs: list[dict], took: float, listening: bool) -> float:
        """How long to wait (unless woken) before the next poll.

        Heard by the bus, a poll is a safety net: once a minute. Else a poll
        that came back early waits the interval, and one the server asked to
        come back later waits that long, however slow it was; after work, or
        a held poll that ended, the next poll goes at once.
        """
        if listening:
            return max(safety_pause(), self._retry_after)
        quick = took < self.interval
        if not jobs and (quick or self._retry_after):
            return interval_pause(max(self.interval, self._retry_after))
        return 0.0

    def _poll_unless_stopped(self, wait: float) -> list[dict] | None:
        """:meth:`poll` in a thread of its own: a stop does not wait for a
        held poll to end (None then; a poll asked to wait claims nothing, so
        abandoning its answer loses nothing). A claiming poll (``wait`` 0) is
        waited for: the payments it claimed are sent before the relay stops,
        and only those."""
        outcome: dict[str, object] = {}

        def poll() -> None:
            try:
                outcome["jobs"] = self.poll(wait)
            except BaseException as error:  # handed over to the loop
                outcome["error"] = error

        thread = threading.Thread(target=poll, name="relay-poll", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(STOP_CHECK)
            if self.stopping.is_set() and thread.is_alive() and wait:
                return None
        if "error" in outcome:
            if self.stopping.is_set():
                return None
            raise outcome["error"]  # type: ignore[misc]
        jobs: list[dict] = outcome["jobs"]  # type: ignore[assignment]
        if self.stopping.is_set():
            return [job for job in jobs if "claim" in job]
        return jobs

    def _log_poll_error(self, error: Exception, delay: float) -> None:
        if isinstance(error, ServerError) and error.status in (401, 403):
            _logger.error(
                "the server refused this relay's token (%s): ask for a new token; "
                "next try in %.0f s",
                error,
                delay,
            )
        else:
            _logger.warning(
                "cannot reach %s (%s); next try in %.1f s",
                self.client.server,
                error,
                delay,
            )

    def status(self) -> dict:
        """What the relay tells Odoo of itself with each poll."""
        waiting = self.spool.count() if self.spool else 0
        return {
            "version": VERSION,
            "protocol": PROTOCOL,
            "waiting": waiting,
            "last_error": self.last_error[:500] if waiting else "",
        }

    def poll(self, wait: float | None = None) -> list[dict]:
        """One poll; ``wait``: how long Odoo may hold it (default: --wait).

        A poll that is not to be held (the bus wakes the relay) carries a
        claim key: the payments it brings are claimed already (their job
        says so with the key). A key whose poll got no answer is said again
        by the next poll, which brings them again: a poll lost on its way
        back loses no payment, and a payment is never brought twice (a key
        that got its answer is never said again).
        """
        wait = self.wait if wait is None else wait
        body = {**self.status(), "wait": wait}
        claim = None
        if not wait:
            claim = self._poll_claim = self._poll_claim or secrets.token_hex(16)
            body["claim"] = claim
        answer = self.client.post(PATH_POLL, body, timeout=wait + 30, queued=False)
        jobs = answer.get("jobs", [])
        if not isinstance(jobs, list):
            raise ServerError(502, "invalid poll answer")
        self._poll_claim = None
        self._check_protocol(answer.get("protocol", 1))
        self._retry_after = retry_after(answer)
        jobs = [job for job in jobs if isinstance(job, dict)]
        for job in jobs:
            # Only this poll's own key spares the claim (a server of an older
            # protocol claims nothing and sends none).
            if claim is None or job.get("claim") != claim:
                job.pop("claim", None)
        return jobs

    def _check_protocol(self, protocol: object) -> None:
        if protocol == self._server_protocol:
            return
        self._server_protocol = protocol
        if protocol != PROTOCOL:
            _logger.warning(
                "the server speaks relay protocol %s, this relay %s: it works where "
                "the meaning is unchanged; update %s",
                protocol,
                PROTOCOL,
                "this relay"
                if not isinstance(protocol, int) or protocol > PROTOCOL
                else "the Odoo addon",
            )

    def dispatch(self, job: dict) -> None:
        kind = job.get("kind")
        if kind == "payment":
            key = job.get("transaction_id")
            target = self.run_payment
        elif kind == "probe":
            key = ("probe", job.get("probe_id"))
            target = self.run_probe
        elif kind == "scan":
            key = ("probe", job.get("probe_id"))
            target = self.run_scan
        else:
            _logger.warning("ignoring a job of unknown kind %r", kind)
            return
        self._start_job(key, target, job)

    def _start_job(self, key: object, target: Callable, job: dict) -> None:
        with self._lock:
            if key in self._running:
                return  # already running: a poll may bring it twice
            thread = threading.Thread(
                target=self._run_job, args=(key, target, job), name=f"relay-{key}"
            )
            self._running[key] = thread
        thread.start()

    def deliver_kept(self) -> None:
        """Post again the outcomes a previous run could not deliver."""
        if not self.spool:
            return
        for transaction_id, body in self.spool.pending():
            _logger.warning(
                "transaction %s: posting the outcome kept by a previous run",
                transaction_id,
            )
            self._start_job(("result", transaction_id), self.post_result, body)

    def _run_job(self, key: object, target: Callable, job: dict) -> None:
        try:
            target(job)
        except Exception:
            _logger.exception("job %s failed", key)
        finally:
            with self._lock:
                self._running.pop(key, None)

    def join(self, timeout: float | None = None) -> None:
        with self._lock:
            threads = list(self._running.values())
        if threads:
            _logger.info("waiting for %d running exchange(s)", len(threads))
        for thread in threads:
            thread.join(timeout)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    # ------------------------------------------------------------------
    # One payment: claim, exchange, post
    # ------------------------------------------------------------------
    def run_payment(self, job: dict) -> None:
        transaction_id = job.get("transaction_id")
        where = f"transaction {transaction_id}"
        try:
            if not isinstance(transaction_id, int) or isinstance(transaction_id, bool):
                raise TypeError("transaction_id: an integer expected")
            host, port = job["host"], job["port"]
            request = request_from_json(job["request"])
            answer_timeout = float(job["answer_timeout"])
            allow_local, networks = address_policy(job)
        except (KeyError, TypeError, ValueError, WireError) as error:
            _logger.error("%s: invalid job (%s): not sent", where, error)
            if job.get("claim") and type(transaction_id) is int:
                # Claimed by the poll: said not sent now, or it would end
                # "unknown" (claimed, no outcome) instead of safe to retry.
                self.keep_and_post(
                    transaction_id, job["claim"], not_sent(f"invalid job: {error}")
                )
            return
        claim = job.get("claim") or self.claim(transaction_id, where)
        if not claim:
            return
        _logger.info("%s: claimed, sending to %s:%s", where, host, port)
        result = self.exchange(
            host,
            port,
            request,
            connect_timeout=CONNECT_TIMEOUT,
            answer_timeout=answer_timeout,
            allow_local=allow_local,
            networks=networks,
        )
        self.keep_and_post(transaction_id, claim, result)

    def keep_and_post(
        self, transaction_id: int, claim: str, result: ExchangeResult
    ) -> None:
        """Keep an outcome in the spool, then post it until Odoo has it."""
        where = f"transaction {transaction_id}"
        body = {
            "transaction_id": transaction_id,
            "claim": claim,
            "exchange": to_json(result),
        }
        if self.spool:
            try:
                self.spool.keep(transaction_id, body)
            except OSError as error:
                _logger.error(
                    "%s: cannot keep the outcome in %s (%s): it is lost if this "
                    "relay stops before Odoo has it",
                    where,
                    self.spool.folder,
                    error,
                )
        self.post_result(body)

    def post_result(self, body: dict) -> None:
        """Post an outcome; forget its kept copy once Odoo has answered."""
        transaction_id = body["transaction_id"]
        where = f"transaction {transaction_id}"
        kept = bool(self.spool and self.spool.path(transaction_id).exists())
        if self.deliver(PATH_RESULT, body, where, kept=kept, outcome=True) and kept:
            self.spool.discard(transaction_id)

    def claim(self, transaction_id: object, where: str) -> str | None:
        """The claim key when this relay, and only it, may send the request.

        The key makes a retried claim (lost answer) succeed again for this
        relay only, and proves with the outcome that this relay sent it; a
        claim that stays unanswered sends nothing.
        """
        body = {"transaction_id": transaction_id, "claim": secrets.token_hex(16)}
        backoff = Backoff(0.2, 2.0)
        deadline = None  # from the first failure: waiting for a slot is no failure
        while True:
            try:
                answer = self.client.post(PATH_CLAIM, body, timeout=CONNECT_TIMEOUT)
            except (OSError, ServerError) as error:
                final = isinstance(error, ServerError) and error.final
                deadline = deadline or time.monotonic() + CONNECT_TIMEOUT
                if final or time.monotonic() > deadline:
                    _logger.warning("%s: claim failed (%s): not sent", where, error)
                    return None
                time.sleep(backoff.next())
                continue
            if not answer.get("send"):
                _logger.info(
                    "%s: not sent (%s)", where, answer.get("reason") or "not ours"
                )
                return None
            return body["claim"]

    def run_probe(self, job: dict) -> None:
        probe_id = job.get("probe_id")
        try:
            allow_local, networks = address_policy(job)
            ok, reason, _refusal = self.probe(
                job["host"],
                job["port"],
                timeout=PROBE_TIMEOUT,
                allow_local=allow_local,
                networks=networks,
            )
        except (KeyError, TypeError, ValueError) as error:
            ok, reason = False, f"invalid probe job: {error}"
        _logger.info(
            "connection test %s: %s %s", probe_id, "ok" if ok else "failed", reason
        )
        self.deliver(
            PATH_PROBE, {"probe_id": probe_id, "ok": ok, "reason": reason}, "probe"
        )

    def run_scan(self, job: dict) -> None:
        """Find terminals: which addresses of the shop's network accept a
        connection on the port (nothing sent), by the server's policy."""
        probe_id = job.get("probe_id")
        answer: dict = {"probe_id": probe_id, "ok": False, "found": []}
        try:
            allow_local, networks = address_policy(job)
            found = scan(
                job["network"], job["port"], AddressPolicy.of(allow_local, networks)
            )
        except ScanRefused as refused:
            answer["reason"] = f"refused: {refused}"
        except (KeyError, TypeError, ValueError) as error:
            answer["reason"] = f"invalid scan job: {error}"
        else:
            answer.update(ok=True, found=list(found.found), complete=found.complete)
            answer["reason"] = ""
        _logger.info(
            "terminal search %s in %s port %s: %s",
            probe_id,
            job.get("network"),
            job.get("port"),
            ", ".join(answer["found"]) or answer["reason"] or "nothing found",
        )
        self.deliver(PATH_PROBE, answer, "scan")

    def deliver(
        self,
        path: str,
        body: dict,
        where: str,
        kept: bool = False,
        outcome: bool = False,
    ) -> bool:
        """Post until Odoo has it (a repeated post is harmless: idempotent).

        True once Odoo answered 200, or the controller's own 404 (not this
        relay's): a kept copy may then go. An ``outcome`` (the terminal's
        answer: possibly money) is never given up for any other refusal: a
        server of another version, one that is restarting, a proxy's error or
        page (a 404 too), an Odoo that has not selected the database, are all
        retried with backoff.
        Kept in a file, it waits there when the relay stops (posted at the
        next start); in memory only, it is tried :data:`RESULT_PATIENCE` long.
        A connection test's result is given up on a final refusal.
        """
        backoff = Backoff()
        give_up = None if kept else time.monotonic() + RESULT_PATIENCE
        while (error := self._post_once(path, body, where)) is not None:
            self.last_error = f"{where}: {error}"
            if kept and self.stopping.is_set():
                _logger.error(
                    "%s: outcome not delivered (%s): kept in %s, posted at the "
                    "next start",
                    where,
                    error,
                    self.spool.folder,
                )
                return False
            refused = isinstance(error, ServerError) and error.final and not outcome
            if refused or (give_up is not None and time.monotonic() > give_up):
                _logger.error(
                    "%s: NOT delivered (%s): %s",
                    where,
                    error,
                    json.dumps(body.get("exchange", body))[:2000],
                )
                return False
            delay = backoff.next()
            _logger.warning(
                "%s: cannot deliver (%s); again in %.1f s", where, error, delay
            )
            self._wait_to_retry(delay, kept)
        return True

    def _post_once(self, path: str, body: dict, where: str) -> Exception | None:
        """None once Odoo has ``body``, or once its relay controller said the
        transaction is not this relay's (there is nothing to deliver then);
        else why not."""
        try:
            answer = self.client.post(path, body, timeout=30)
        except (OSError, ServerError) as error:
            if isinstance(error, ServerError) and error.not_ours:
                _logger.error("%s: %s: not this relay's, dropped", where, error)
                return None
            return error
        _logger.info("%s: delivered %s", where, answer)
        return None

    def _wait_to_retry(self, delay: float, kept: bool) -> None:
        """A stop cuts the pause short for a kept outcome only (the next start
        posts it); one in memory only would be lost with the process."""
        if kept:
            self.stopping.wait(delay)
        else:
            time.sleep(delay)


def not_sent(reason: str) -> ExchangeResult:
    """The outcome of a payment that was claimed but not sent."""
    return ExchangeResult(
        outcome=Outcome.NOT_SENT,
        result=None,
        error=reason[:500],
        request_frame=b"",
        answer_frame=b"",
        sent=False,
        duration=0.0,
    )


def address_policy(job: dict) -> tuple[bool, tuple[str, ...] | None]:
    """The server's address policy for this job: ``(allow_local, networks)``.

    In the shop, private LAN addresses are the terminals' own; loopback and
    link-local ones, and the relay's machine's own addresses, are refused as
    on the server unless Odoo's system parameter allows them (terminal
    simulators). A server that sends no ``networks`` (an older one) leaves the
    private networks. Raises ValueError for a policy of the wrong shape.
    """
    allow = job.get("allow_local", False)
    if not isinstance(allow, bool):
        raise ValueError(f"allow_local must be a boolean, not {allow!r}")
    networks = job.get("networks")
    if networks is not None and not isinstance(networks, list):
        raise ValueError("networks must be a list of networks")
    return allow, parse_networks(networks)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m caisse_ap.relay",
        description="Shop relay between a cloud-hosted Odoo and the shop's "
        "Caisse-AP terminals (outbound HTTPS only). To give it its token with the "
        "code shown in Odoo: python3 -m caisse_ap.relay pair --help",
    )
    parser.add_argument(
        "--server", required=True, help="Odoo's URL, e.g. https://example.odoo.com"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("CAISSE_AP_RELAY_TOKEN"),
        help="the relay's token; prefer $CAISSE_AP_RELAY_TOKEN (an environment "
        "file of mode 0600): a command line is shown by ps and kept in the shell "
        "history",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=20.0,
        help="how long Odoo may hold a poll when it has no work, seconds "
        "(default 20; Odoo answers at once from a prefork worker)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=POLL_INTERVAL,
        help="pause after a poll answered early with no work while Odoo's bus "
        "is not heard, seconds (default 1; heard, the relay polls once a minute)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where outcomes wait until Odoo has acknowledged them (default: "
        "$STATE_DIRECTORY as set by systemd's StateDirectory=, else "
        f"~/.local/state/{STATE_FOLDER})",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=PARALLEL_POSTS,
        help="claims and outcome posts sent to Odoo at once (default "
        f"{PARALLEL_POSTS}; more wait their turn, polls are not counted)",
    )
    parser.add_argument(
        "--no-bus",
        action="store_true",
        help="never listen on Odoo's bus (/websocket): poll only",
    )
    parser.add_argument("--quiet", action="store_true", help="warnings only")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a token is required (--token or $CAISSE_AP_RELAY_TOKEN)")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pair"]:
        from .relay_pairing import main as pair  # it imports this module

        return pair(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    try:
        client = Client(args.server, args.token, parallel=args.parallel)
    except ValueError as error:
        _logger.error("%s", error)
        return 2
    state_dir = args.state_dir or default_state_dir()
    try:
        spool = Spool.for_server(state_dir, client.server)
    except OSError as error:
        # Without it an approval could be lost with this process: say so now.
        _logger.error(
            "cannot use %s to keep the outcomes (%s): give a writable --state-dir",
            state_dir,
            error,
        )
        return 2
    relay = Relay(
        client,
        wait=args.wait,
        interval=args.interval,
        spool=spool,
        bus=not args.no_bus,
    )

    def stop(signum: int, _frame: object) -> None:
        _logger.info("signal %s: stopping (running exchanges finish first)", signum)
        relay.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    relay.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
