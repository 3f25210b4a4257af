"""Shop relay: lets a cloud-hosted Odoo use the shop's terminals, outbound only.

Run it on any machine of the shop's network::

    python -m caisse_ap.relay --server https://example.odoo.com --token TOKEN

It long-polls Odoo over HTTPS for the exchanges of the terminals it serves,
claims each payment before sending it (so that it is never sent twice), runs
it with the engine's transport on the shop's network and posts the outcome
back. See :mod:`caisse_ap.relay_wire` for the protocol. Standard library only.
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

from . import exchange, probe
from .relay_wire import (
    AUTH_HEADER,
    AUTH_SCHEME,
    MAX_WAIT,
    PATH_CLAIM,
    PATH_POLL,
    PATH_PROBE,
    PATH_RESULT,
    WireError,
    is_local_host,
    request_from_json,
    to_json,
)

_logger = logging.getLogger("caisse_ap.relay")

VERSION = "1.0"
CONNECT_TIMEOUT = 5.0
PROBE_TIMEOUT = 3.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
# A result that cannot be delivered is retried this long (Odoo records late ones).
RESULT_PATIENCE = 3600.0
# An empty poll answer that came back early (a server that does not hold
# polls: a prefork worker) is followed by this pause before the next poll.
POLL_INTERVAL = 1.0


class ServerError(Exception):
    """Odoo answered, but not with 200: ``status`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status

    @property
    def final(self) -> bool:
        """Retrying the same call cannot help (refused or unknown)."""
        return 400 <= self.status < 500 and self.status != 429


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

    def __init__(self, server: str, token: str) -> None:
        self.server = check_server_url(server)
        self._token = token
        self._ssl = ssl.create_default_context()

    def post(self, path: str, body: dict, timeout: float) -> dict:
        request = urllib.request.Request(
            self.server + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                AUTH_HEADER: f"{AUTH_SCHEME} {self._token}",
                "User-Agent": f"caisse-ap-relay/{VERSION}",
            },
        )
        try:
            with urllib.request.urlopen(
                request, timeout=timeout, context=self._ssl
            ) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise ServerError(error.code, _error_text(error)) from None
        except ValueError as error:
            raise ServerError(502, f"invalid JSON answer: {error}") from None
        if not isinstance(answer, dict):
            raise ServerError(502, "invalid answer: an object expected")
        return answer


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return json.loads(error.read()).get("error", error.reason)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)


class Backoff:
    """Growing waits with jitter between failed attempts; reset on success."""

    def __init__(self, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX):
        self.first = first
        self.most = most
        self.current = 0.0

    def next(self) -> float:
        self.current = min(self.most, self.current * 2 if self.current else self.first)
        return self.current * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.current = 0.0


class Relay:
    """The poll loop and one thread per running exchange."""

    def __init__(
        self,
        client: Client,
        wait: float = 20.0,
        interval: float = POLL_INTERVAL,
        exchange_func: Callable = exchange,
        probe_func: Callable = probe,
    ) -> None:
        self.client = client
        self.wait = min(max(wait, 0.0), MAX_WAIT)
        self.interval = max(interval, 0.05)
        self.exchange = exchange_func
        self.probe = probe_func
        self.stopping = threading.Event()
        self._running: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------
    # Poll loop
    # ------------------------------------------------------------------
    def run(self) -> None:
        """Poll until :meth:`stop`; then let the running exchanges finish."""
        backoff = Backoff()
        _logger.info("relay %s polling %s", VERSION, self.client.server)
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                jobs = self.poll()
            except (OSError, ServerError) as error:
                delay = backoff.next()
                self._log_poll_error(error, delay)
                self.stopping.wait(delay)
                continue
            if backoff.current:
                _logger.info("connected again to %s", self.client.server)
            backoff.reset()
            for job in jobs:
                self.dispatch(job)
            if not jobs and time.monotonic() - started < self.interval:
                self.stopping.wait(self.interval)
        self.join()

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

    def poll(self) -> list[dict]:
        answer = self.client.post(
            PATH_POLL,
            {"version": VERSION, "wait": self.wait},
            timeout=self.wait + 30,
        )
        jobs = answer.get("jobs", [])
        if not isinstance(jobs, list):
            raise ServerError(502, "invalid poll answer")
        return [job for job in jobs if isinstance(job, dict)]

    def dispatch(self, job: dict) -> None:
        kind = job.get("kind")
        if kind == "payment":
            key = job.get("transaction_id")
            target = self.run_payment
        elif kind == "probe":
            key = ("probe", job.get("probe_id"))
            target = self.run_probe
        else:
            _logger.warning("ignoring a job of unknown kind %r", kind)
            return
        with self._lock:
            if key in self._running:
                return  # already running: a poll may bring it twice
            thread = threading.Thread(
                target=self._run_job, args=(key, target, job), name=f"relay-{key}"
            )
            self._running[key] = thread
        thread.start()

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

    # ------------------------------------------------------------------
    # One payment: claim, exchange, post
    # ------------------------------------------------------------------
    def run_payment(self, job: dict) -> None:
        transaction_id = job.get("transaction_id")
        where = f"transaction {transaction_id}"
        try:
            host, port = job["host"], job["port"]
            request = request_from_json(job["request"])
            answer_timeout = float(job["answer_timeout"])
            allow_local = _allow_local(job)
        except (KeyError, TypeError, ValueError, WireError) as error:
            _logger.error("%s: invalid job (%s): not sent", where, error)
            return
        if not self.claim(transaction_id, where):
            return
        _logger.info("%s: claimed, sending to %s:%s", where, host, port)
        result = self.exchange(
            host,
            port,
            request,
            connect_timeout=CONNECT_TIMEOUT,
            answer_timeout=answer_timeout,
            allow_local=allow_local,
        )
        self.deliver(
            PATH_RESULT,
            {"transaction_id": transaction_id, "exchange": to_json(result)},
            where,
        )

    def claim(self, transaction_id: object, where: str) -> bool:
        """True when this relay, and only it, may send the request.

        The claim key makes a retried claim (lost answer) succeed again for
        this relay only; a claim that stays unanswered sends nothing.
        """
        body = {"transaction_id": transaction_id, "claim": secrets.token_hex(16)}
        backoff = Backoff(0.2, 2.0)
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                answer = self.client.post(PATH_CLAIM, body, timeout=CONNECT_TIMEOUT)
            except (OSError, ServerError) as error:
                final = isinstance(error, ServerError) and error.final
                if final or time.monotonic() > deadline:
                    _logger.warning("%s: claim failed (%s): not sent", where, error)
                    return False
                time.sleep(backoff.next())
                continue
            if not answer.get("send"):
                _logger.info(
                    "%s: not sent (%s)", where, answer.get("reason") or "not ours"
                )
                return False
            return True

    def run_probe(self, job: dict) -> None:
        probe_id = job.get("probe_id")
        try:
            ok, reason, _refusal = self.probe(
                job["host"],
                job["port"],
                timeout=PROBE_TIMEOUT,
                allow_local=_allow_local(job),
            )
        except (KeyError, TypeError, ValueError) as error:
            ok, reason = False, f"invalid probe job: {error}"
        _logger.info(
            "connection test %s: %s %s", probe_id, "ok" if ok else "failed", reason
        )
        self.deliver(
            PATH_PROBE, {"probe_id": probe_id, "ok": ok, "reason": reason}, "probe"
        )

    def deliver(self, path: str, body: dict, where: str) -> None:
        """Post until Odoo has it (a repeated post is harmless: idempotent)."""
        backoff = Backoff()
        give_up = time.monotonic() + RESULT_PATIENCE
        while True:
            try:
                answer = self.client.post(path, body, timeout=30)
            except (OSError, ServerError) as error:
                final = isinstance(error, ServerError) and error.final
                if final or time.monotonic() > give_up:
                    _logger.error(
                        "%s: outcome NOT delivered (%s): %s",
                        where,
                        error,
                        json.dumps(body.get("exchange", body))[:2000],
                    )
                    return
                delay = backoff.next()
                _logger.warning(
                    "%s: cannot deliver the outcome (%s); again in %.1f s",
                    where,
                    error,
                    delay,
                )
                time.sleep(delay)
                continue
            _logger.info("%s: outcome delivered %s", where, answer)
            return


def _allow_local(job: dict) -> bool:
    """The server's address policy for this job (``allow_local``, default no).

    In the shop, private LAN addresses are the terminals' own; loopback and
    link-local ones reach the relay's machine itself, refused as on the
    server unless Odoo's system parameter allows them (terminal simulators).
    """
    allow = job.get("allow_local", False)
    if not isinstance(allow, bool):
        raise ValueError(f"allow_local must be a boolean, not {allow!r}")
    return allow


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m caisse_ap.relay",
        description="Shop relay between a cloud-hosted Odoo and the shop's "
        "Caisse-AP terminals (outbound HTTPS only).",
    )
    parser.add_argument(
        "--server", required=True, help="Odoo's URL, e.g. https://example.odoo.com"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("CAISSE_AP_RELAY_TOKEN"),
        help="the relay's token (default: $CAISSE_AP_RELAY_TOKEN; the environment "
        "keeps it out of the process list)",
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
        help="pause after a poll answered early with no work, seconds (default 1)",
    )
    parser.add_argument("--quiet", action="store_true", help="warnings only")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a token is required (--token or $CAISSE_AP_RELAY_TOKEN)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    try:
        client = Client(args.server, args.token)
    except ValueError as error:
        _logger.error("%s", error)
        return 2
    relay = Relay(client, wait=args.wait, interval=args.interval)

    def stop(signum: int, _frame: object) -> None:
        _logger.info("signal %s: finishing the running exchanges", signum)
        relay.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    relay.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
