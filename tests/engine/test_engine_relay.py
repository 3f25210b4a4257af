"""The shop relay program against a fake Odoo on localhost and the simulator."""

from __future__ import annotations

import itertools
import json
import logging
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from caisse_ap import Outcome, PaymentRequest, relay_wire
from caisse_ap import relay as relay_module
from caisse_ap.relay import (
    Client,
    Relay,
    ServerError,
    Spool,
    check_server_url,
    default_state_dir,
)
from caisse_ap.simulator import Scenario, TerminalSimulator

TOKEN = "t0k3n-for-tests"
LIVENESS = 10.0  # bounds only: every wait below normally takes well under a second


class FakeOdoo:
    """Scripted relay endpoints: a job list, claims granted once, results kept."""

    def __init__(self, port: int = 0) -> None:
        self.jobs: list[dict] = []
        self.claims: dict[int, str] = {}
        # Like this version's Odoo: a poll with a claim key claims its payments
        # (False: like a server of protocol 2, which ignores the key).
        self.claims_in_poll = True
        # Payments claimed by a poll, by its key, handed again to that key
        # until their outcome comes.
        self.poll_claimed: dict[str, list[dict]] = {}
        # Claim in that many polls, then answer 502 (the answer lost on its way).
        self.lose_poll_answers = 0
        self.results: list[dict] = []
        self.probes: list[dict] = []
        self.calls: list[str] = []
        self.fail_results = 0  # answer 500 to that many result posts first
        self.result_status = 500
        # The body of those answers: JSON, or bytes sent as an HTML page.
        self.result_answer: dict | bytes = {"error": "busy"}
        self.refuse_token = False
        self.redirect_to = ""  # answer every call with a redirect there
        self.hold = 0.0  # seconds a poll is held (a long poll with no work)
        self.held = 0  # polls that came in while ``hold`` was set
        self.protocol = relay_wire.PROTOCOL
        self.retry_after: object = None  # in poll answers, when set
        self.polls: list[dict] = []
        self.poll_times: list[float] = []
        self.slow = 0.0  # seconds a claim or a result post takes
        self.in_flight = 0
        self.most_at_once = 0  # claims and result posts served at the same time
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeOdoo:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def answer(
        self, path: str, headers: object, body: dict
    ) -> tuple[int, dict | bytes]:
        with self.lock:
            self.calls.append(path)
            if headers.get("Authorization") != f"Bearer {TOKEN}" or self.refuse_token:
                return 401, {"error": "invalid or revoked token"}
            if path == relay_wire.PATH_POLL:
                self.polls.append(body)
                self.poll_times.append(time.monotonic())
                if self.claims_in_poll and body.get("claim"):
                    return self._claiming_poll(body["claim"])
                jobs = list(self.jobs)
                # Like Odoo: a probe is handed out once (payments until claimed).
                self.jobs = [j for j in jobs if j.get("kind") not in ("probe", "scan")]
                answer = {"jobs": jobs, "wait": 25, "protocol": self.protocol}
                if self.retry_after is not None:
                    answer["retry_after"] = self.retry_after
                return 200, answer
            if path == relay_wire.PATH_CLAIM:
                transaction_id = body["transaction_id"]
                owner = self.claims.setdefault(transaction_id, body["claim"])
                self.jobs = [
                    j for j in self.jobs if j.get("transaction_id") != transaction_id
                ]
                return 200, {"send": owner == body["claim"], "reason": ""}
            if path == relay_wire.PATH_RESULT:
                if self.claims.get(body.get("transaction_id")) != body.get("claim"):
                    return 409, {"error": "not claimed with this key"}
                if self.fail_results:
                    self.fail_results -= 1
                    return self.result_status, self.result_answer
                self.results.append(body)
                for claimed in self.poll_claimed.values():
                    claimed[:] = [
                        job
                        for job in claimed
                        if job["transaction_id"] != body["transaction_id"]
                    ]
                return 200, {"recorded": True}
            if path == relay_wire.PATH_PROBE:
                self.probes.append(body)
                return 200, {"recorded": True}
        return 404, {"error": "no such endpoint"}

    def _claiming_poll(self, claim: str) -> tuple[int, dict]:
        """A poll that claims the payments it hands out with its key."""
        again = self.poll_claimed.setdefault(claim, [])
        for job in self.jobs:
            if job.get("kind") == "payment":
                owner = self.claims.setdefault(job["transaction_id"], claim)
                if owner == claim:
                    again.append({**job, "claim": claim})
        others = [j for j in self.jobs if j.get("kind") not in ("probe", "scan")]
        probes = [j for j in self.jobs if j.get("kind") in ("probe", "scan")]
        self.jobs = [j for j in others if j.get("kind") != "payment"]
        if self.lose_poll_answers:
            self.lose_poll_answers -= 1
            return 502, {"error": "bad gateway"}
        answer = {"jobs": list(again) + probes, "wait": 25, "protocol": self.protocol}
        if self.retry_after is not None:
            answer["retry_after"] = self.retry_after
        return 200, answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if fake.redirect_to:
                    with fake.lock:
                        fake.calls.append(self.path)
                    self.send_response(302)
                    self.send_header("Location", fake.redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == relay_wire.PATH_POLL and fake.hold:
                    fake.held += 1
                    time.sleep(fake.hold)
                counted = self.path in (relay_wire.PATH_CLAIM, relay_wire.PATH_RESULT)
                if counted:
                    with fake.lock:
                        fake.in_flight += 1
                        fake.most_at_once = max(fake.most_at_once, fake.in_flight)
                    time.sleep(fake.slow)
                try:
                    status, answer = fake.answer(self.path, self.headers, body)
                finally:
                    if counted:
                        with fake.lock:
                            fake.in_flight -= 1
                page = isinstance(answer, bytes)
                data = answer if page else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/html" if page else "application/json"
                )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo().start()
    yield fake
    fake.stop()


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed posts tried again within a tenth of a second."""
    monkeypatch.setattr(relay_module, "BACKOFF_FIRST", 0.05)
    monkeypatch.setattr(relay_module, "BACKOFF_MAX", 0.1)


@pytest.fixture
def run_relay() -> Iterator[Callable[..., Relay]]:
    """Start a relay's poll loop in a thread; stopped and joined at teardown."""
    running: list[tuple[Relay, threading.Thread]] = []

    def run(
        url: str, token: str = TOKEN, spool: Spool | None = None, parallel: int = 4
    ) -> Relay:
        client = Client(url, token, parallel=parallel)
        relay = Relay(client, wait=0, interval=0.05, spool=spool)
        thread = threading.Thread(target=relay.run)
        thread.start()
        running.append((relay, thread))
        return relay

    yield run
    for relay, thread in running:
        relay.stop()
        thread.join(LIVENESS)


def payment_job(transaction_id: int, simulator: TerminalSimulator) -> dict:
    request = PaymentRequest(amount=1250, currency_numeric=978, correlation_id="R-1")
    return {
        "kind": "payment",
        "transaction_id": transaction_id,
        "host": "127.0.0.1",
        "port": simulator.port,
        "request": relay_wire.to_json(request),
        "answer_timeout": 10.0,
        "allow_local": True,  # the simulator is on loopback
    }


def until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + LIVENESS
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# ----------------------------------------------------------------------
def test_https_required_except_localhost() -> None:
    assert check_server_url("https://example.odoo.com/") == "https://example.odoo.com"
    assert check_server_url("http://localhost:8069") == "http://localhost:8069"
    assert check_server_url("http://127.0.0.1:8069")
    with pytest.raises(ValueError, match="HTTPS"):
        check_server_url("http://example.odoo.com")
    with pytest.raises(ValueError):
        check_server_url("ftp://example.odoo.com")


def test_payment_claimed_sent_once_and_posted(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    odoo.claims_in_poll = False  # a server of protocol 2: the claim call
    odoo.jobs = [payment_job(7, simulator)]
    run_relay(odoo.url)
    until(lambda: odoo.results)
    (posted,) = odoo.results
    exchange = relay_wire.exchange_from_json(posted["exchange"])
    assert posted["transaction_id"] == 7
    assert exchange.outcome is Outcome.SUCCESS
    assert exchange.result.card_last4 == "1234"
    # The simulator records its exchange once its answer is out, which may be
    # after the relay has read it and posted it.
    assert simulator.wait_for_exchanges(1, 5)
    assert len(simulator.exchanges) == 1
    # Claimed before sending, and never a full card number in the logs.
    assert odoo.calls.index(relay_wire.PATH_CLAIM) < odoo.calls.index(
        relay_wire.PATH_RESULT
    )
    assert "497010" not in caplog.text
    assert "497010" not in json.dumps(posted)


def test_relay_refuses_loopback_unless_the_server_allows_it(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay]
) -> None:
    """The server's address policy travels with the job: without
    ``allow_local``, the relay's own loopback is refused after resolution."""
    job = {**payment_job(12, simulator), "host": "localhost"}
    del job["allow_local"]
    probe_job = {"kind": "probe", "probe_id": 4, "host": "localhost"}
    odoo.jobs = [job, {**probe_job, "port": simulator.port}]
    run_relay(odoo.url)
    until(lambda: odoo.results and odoo.probes)
    exchange = relay_wire.exchange_from_json(odoo.results[0]["exchange"])
    assert exchange.outcome is Outcome.NOT_SENT
    assert exchange.refusal is not None and exchange.refusal.kind == "loopback"
    assert odoo.probes[0]["ok"] is False and "loopback" in odoo.probes[0]["reason"]
    assert simulator.exchanges == []


@pytest.mark.parametrize("claims_in_poll", [False, True])
def test_claim_refused_sends_nothing(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    claims_in_poll: bool,
) -> None:
    """Another relay process claimed it first: by its claim call (a server of
    protocol 2), or by its poll (this relay's poll does not bring it)."""
    odoo.claims_in_poll = claims_in_poll
    odoo.claims[8] = "somebody else"
    odoo.jobs = [payment_job(8, simulator)]
    run_relay(odoo.url)
    if claims_in_poll:
        until(lambda: len(odoo.polls) >= 3)
        assert relay_wire.PATH_CLAIM not in odoo.calls
    else:
        until(lambda: odoo.calls.count(relay_wire.PATH_CLAIM) >= 1)
    time.sleep(0.5)
    assert simulator.exchanges == []
    assert odoo.results == []


def test_job_brought_by_two_polls_runs_once(
    odoo: FakeOdoo,
    make_simulator: Callable[..., TerminalSimulator],
    run_relay: Callable[..., Relay],
) -> None:
    simulator = make_simulator(Scenario(kind="approve", delay=0.5))
    job = payment_job(9, simulator)
    odoo.claims_in_poll = False  # the claim call is what a second poll meets
    odoo.jobs = [job]
    relay = run_relay(odoo.url)
    relay.dispatch(job)  # as if a second poll had brought it while it runs
    until(lambda: odoo.results)
    time.sleep(0.3)
    assert len(simulator.exchanges) == 1
    assert odoo.calls.count(relay_wire.PATH_CLAIM) == 1


def test_result_post_retried_until_delivered(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_module, "BACKOFF_FIRST", 0.05)
    odoo.fail_results = 2
    odoo.jobs = [payment_job(10, simulator)]
    run_relay(odoo.url)
    until(lambda: odoo.results)
    assert odoo.calls.count(relay_wire.PATH_RESULT) == 3
    assert len(simulator.exchanges) == 1


def test_reconnects_after_the_server_comes_back(
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_module, "BACKOFF_MAX", 0.3)
    odoo = FakeOdoo()
    port = odoo.server.server_address[1]
    odoo.server.server_close()  # nothing listens yet: the relay backs off
    relay = run_relay(f"http://127.0.0.1:{port}")
    time.sleep(0.8)
    second = FakeOdoo(port)
    second.jobs = [payment_job(11, simulator)]
    second.start()
    try:
        until(lambda: second.results)
        assert relay.client.server.endswith(str(port))
        assert len(simulator.exchanges) == 1
    finally:
        relay.stop()
        second.stop()


def test_refused_token_is_logged_and_retried(
    odoo: FakeOdoo,
    run_relay: Callable[..., Relay],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_module, "BACKOFF_MAX", 0.1)
    run_relay(odoo.url, token="s3cr3t-but-revoked")
    until(lambda: odoo.calls.count(relay_wire.PATH_POLL) >= 2)
    assert "refused this relay's token" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_probe_job(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay]
) -> None:
    odoo.jobs = [
        {
            "kind": "probe",
            "probe_id": 3,
            "host": "127.0.0.1",
            "port": simulator.port,
            "allow_local": True,
        }
    ]
    run_relay(odoo.url)
    until(lambda: odoo.probes)
    assert odoo.probes == [{"probe_id": 3, "ok": True, "reason": ""}]
    assert simulator.exchanges == []


def test_scan_job(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay]
) -> None:
    odoo.jobs = [
        {
            "kind": "scan",
            "probe_id": 4,
            "network": "127.0.0.0/30",
            "port": simulator.port,
            "allow_local": True,
        }
    ]
    run_relay(odoo.url)
    until(lambda: odoo.probes)
    assert odoo.probes == [
        {
            "probe_id": 4,
            "ok": True,
            "found": ["127.0.0.1"],
            "complete": True,
            "reason": "",
        }
    ]
    assert simulator.exchanges == []


def test_scan_job_the_policy_refuses(
    odoo: FakeOdoo, run_relay: Callable[..., Relay]
) -> None:
    odoo.jobs = [
        {"kind": "scan", "probe_id": 5, "network": "127.0.0.0/30", "port": 8888},
        {"kind": "scan", "probe_id": 6, "network": "10.0.0.0/8", "port": 8888},
        {"kind": "scan", "probe_id": 7, "port": 8888},
    ]
    run_relay(odoo.url)
    until(lambda: len(odoo.probes) == 3)
    answers = {probe["probe_id"]: probe for probe in odoo.probes}
    assert not any(answer["ok"] or answer["found"] for answer in answers.values())
    assert "loopback" in answers[5]["reason"]
    assert "too_wide" in answers[6]["reason"]
    assert answers[7]["reason"].startswith("invalid scan job")


def test_client_reports_http_errors(odoo: FakeOdoo) -> None:
    with pytest.raises(ServerError) as error:
        Client(odoo.url, "wrong").post(relay_wire.PATH_POLL, {}, timeout=5)
    assert error.value.status == 401
    assert error.value.final


def test_wire_refuses_malformed_outcomes() -> None:
    with pytest.raises(relay_wire.WireError):
        relay_wire.exchange_from_json({"outcome": "paid"})
    with pytest.raises(relay_wire.WireError):
        relay_wire.request_from_json({"amount": True, "currency_numeric": 978})
    with pytest.raises(relay_wire.WireError):
        relay_wire.request_from_json(
            {"amount": 1, "currency_numeric": 978, "correlation_id": "x", "evil": 1}
        )


# ----------------------------------------------------------------------
# Outcomes kept until Odoo has them
# ----------------------------------------------------------------------
def test_outcome_kept_until_delivered(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(relay_module, "BACKOFF_FIRST", 0.3)
    spool = Spool.for_server(tmp_path, odoo.url)
    odoo.fail_results = 2
    odoo.jobs = [payment_job(12, simulator)]
    run_relay(odoo.url, spool=spool)
    until(lambda: spool.path(12).exists())
    kept = json.loads(spool.path(12).read_text())
    assert kept["transaction_id"] == 12
    assert stat.S_IMODE(spool.path(12).stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.folder.stat().st_mode) == 0o700
    until(lambda: odoo.results)
    # Exactly what was posted, and gone once Odoo has it.
    assert odoo.results == [kept]
    until(lambda: not spool.path(12).exists())
    assert list(spool.folder.iterdir()) == []


def test_kept_outcome_posted_at_next_start(
    odoo: FakeOdoo, run_relay: Callable[..., Relay], tmp_path: Path
) -> None:
    body = {"transaction_id": 13, "exchange": {"outcome": "success"}}
    Spool.for_server(tmp_path, odoo.url).keep(13, body)
    # Kept for another server: never posted to this one.
    Spool.for_server(tmp_path, "https://other.example.com").keep(
        14, dict(body, transaction_id=14)
    )
    spool = Spool.for_server(tmp_path, odoo.url)
    run_relay(odoo.url, spool=spool)
    until(lambda: odoo.results)
    until(lambda: not spool.path(13).exists())
    time.sleep(0.2)
    assert odoo.results == [body]
    assert Spool.for_server(tmp_path, "https://other.example.com").path(14).exists()


def test_stopping_relay_keeps_what_it_could_not_post(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    tmp_path: Path,
) -> None:
    spool = Spool.for_server(tmp_path, odoo.url)
    odoo.fail_results = 1000
    odoo.jobs = [payment_job(15, simulator)]
    relay = run_relay(odoo.url, spool=spool)
    until(lambda: odoo.calls.count(relay_wire.PATH_RESULT) >= 1)
    started = time.monotonic()
    relay.stop()
    relay.join(LIVENESS)
    # It does not wait an hour for the server: the file is there for next time.
    assert time.monotonic() - started < 5
    assert spool.path(15).exists()
    assert len(simulator.exchanges) == 1


def test_refused_token_keeps_the_outcome_for_the_new_one(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    spool = Spool.for_server(tmp_path, odoo.url)
    odoo.fail_results = 1000
    odoo.result_status = 401
    odoo.jobs = [payment_job(16, simulator)]
    relay = run_relay(odoo.url, spool=spool)
    # Retried (the token may come back), never dropped.
    until(lambda: odoo.calls.count(relay_wire.PATH_RESULT) >= 3)
    assert spool.path(16).exists()
    relay.stop()
    relay.join(LIVENESS)
    assert spool.path(16).exists()
    assert odoo.results == []
    # Odoo saying the transaction is not this relay's forgets it.
    odoo.result_status = 404
    odoo.result_answer = {
        "error": relay_wire.UNKNOWN_TRANSACTION_TEXT,
        "code": relay_wire.UNKNOWN_TRANSACTION,
    }
    run_relay(odoo.url, spool=Spool.for_server(tmp_path, odoo.url))
    until(lambda: not spool.path(16).exists())
    assert odoo.results == []


# What answers 404 without being Odoo's relay controller: a proxy in front of
# Odoo, an Odoo that has not selected the database (or runs without the addon).
FOREIGN_404 = {
    "a proxy's page": b"<html><body><h1>404 Not Found</h1><hr>nginx</body></html>",
    "Odoo's page without the database": (
        b"<!DOCTYPE html><html><head><title>404 | Page not found</title></head>"
        b"<body>The page you were looking for could not be found</body></html>"
    ),
    "an empty body": b"",
    "another JSON error": {"error": "Not Found"},
}
REFUSALS = {
    **{str(status): (status, {"error": "busy"}) for status in (400, 409, 413, 422)},
    **{f"404, {name}": (404, answer) for name, answer in FOREIGN_404.items()},
}


@pytest.mark.parametrize(("status", "answer"), REFUSALS.values(), ids=REFUSALS.keys())
def test_any_other_refusal_keeps_the_approval_and_retries(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    tmp_path: Path,
    fast_backoff: None,
    status: int,
    answer: dict | bytes,
) -> None:
    """A server of another version answering 400, a proxy's 413, a 404 that
    is not the relay controller's own "not this relay's" (a proxy's page, an
    Odoo without the database): the approval stays in its file and is posted
    again until Odoo has it."""
    spool = Spool.for_server(tmp_path, odoo.url)
    odoo.fail_results = 6
    odoo.result_status = status
    odoo.result_answer = answer
    odoo.jobs = [payment_job(17, simulator)]
    relay = run_relay(odoo.url, spool=spool)
    until(lambda: odoo.calls.count(relay_wire.PATH_RESULT) >= 2)
    assert spool.path(17).exists()
    assert f"HTTP {status}" in relay.last_error
    until(lambda: odoo.results)
    until(lambda: not spool.path(17).exists())
    (posted,) = odoo.results
    assert posted["claim"] == odoo.claims[17]
    assert len(simulator.exchanges) == 1


def test_only_the_controllers_own_404_says_not_ours() -> None:
    ours = {"error": relay_wire.UNKNOWN_TRANSACTION_TEXT}
    coded = dict(ours, code=relay_wire.UNKNOWN_TRANSACTION)
    assert relay_wire.is_unknown_transaction(404, coded)
    # A server from before the code says it in these words alone.
    assert relay_wire.is_unknown_transaction(404, ours)
    assert not relay_wire.is_unknown_transaction(409, coded)
    assert not relay_wire.is_unknown_transaction(404, dict(ours, code="other"))
    assert not relay_wire.is_unknown_transaction(404, {"error": "Not Found"})
    assert not relay_wire.is_unknown_transaction(404, None)
    assert not relay_wire.is_unknown_transaction(404, [coded])


def test_an_older_servers_not_ours_forgets_the_outcome(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    """Relays are updated before Odoo: the words of a server without the code
    still say "not this relay's"."""
    spool = Spool.for_server(tmp_path, odoo.url)
    odoo.fail_results = 1000
    odoo.result_status = 404
    odoo.result_answer = {"error": relay_wire.UNKNOWN_TRANSACTION_TEXT}
    odoo.jobs = [payment_job(20, simulator)]
    run_relay(odoo.url, spool=spool)
    until(lambda: odoo.calls.count(relay_wire.PATH_RESULT) >= 1)
    until(lambda: not spool.path(20).exists())
    assert odoo.calls.count(relay_wire.PATH_RESULT) == 1
    assert odoo.results == []


def test_waiting_outcomes_and_protocol_are_reported_with_each_poll(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    odoo.fail_results = 1000
    odoo.result_status = 503
    odoo.jobs = [payment_job(18, simulator)]
    run_relay(odoo.url, spool=Spool.for_server(tmp_path, odoo.url))
    # Kept before its first post: a poll may say "waiting" before any error.
    until(lambda: odoo.polls and odoo.polls[-1].get("last_error"))
    last = odoo.polls[-1]
    assert last["waiting"] == 1
    assert last["protocol"] == relay_wire.PROTOCOL
    assert last["version"] == relay_module.VERSION
    assert "HTTP 503" in last["last_error"]
    odoo.fail_results = 0
    until(lambda: odoo.results)
    until(lambda: odoo.polls[-1].get("waiting") == 0)
    assert odoo.polls[-1]["last_error"] == ""


def test_another_protocol_is_said_once(
    odoo: FakeOdoo,
    run_relay: Callable[..., Relay],
    caplog: pytest.LogCaptureFixture,
) -> None:
    odoo.protocol = relay_wire.PROTOCOL + 1
    run_relay(odoo.url)
    until(lambda: len(odoo.polls) >= 3)
    warnings = [r for r in caplog.records if "relay protocol" in r.getMessage()]
    assert len(warnings) == 1
    assert "update this relay" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("retry_after", "least"), [(0.6, 0.45), ("soon", 0.0), (float("nan"), 0.0)]
)
def test_the_servers_retry_after_is_honoured(
    odoo: FakeOdoo,
    run_relay: Callable[..., Relay],
    retry_after: object,
    least: float,
) -> None:
    """Another poll of this relay is held (a second process with the same
    token): the server asks this one to come back later."""
    odoo.retry_after = retry_after
    run_relay(odoo.url)
    until(lambda: len(odoo.poll_times) >= 3)
    times = list(odoo.poll_times)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= least
    if not least:  # invalid hints are ignored: the interval (50 ms) stays
        assert min(gaps) < 0.3
    assert relay_module.retry_after({"retry_after": 1e9}) == 60.0
    assert relay_module.retry_after({"retry_after": -3}) == 0.0


def test_retry_after_is_honoured_after_a_slow_poll(
    odoo: FakeOdoo, run_relay: Callable[..., Relay]
) -> None:
    """A poll slower than the relay's interval (a busy server) is no reason to
    poll again at once when the server asked for a pause."""
    odoo.retry_after = 0.6
    odoo.hold = 0.1  # longer than the 50 ms interval
    run_relay(odoo.url)
    until(lambda: len(odoo.poll_times) >= 3)
    times = list(odoo.poll_times)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.45


def test_redirect_is_not_followed_and_the_token_stays(
    odoo: FakeOdoo, run_relay: Callable[..., Relay], caplog: pytest.LogCaptureFixture
) -> None:
    """A server (or whoever took its name) that redirects elsewhere never gets
    the token there: the relay says where it was sent, and stays."""
    thief = FakeOdoo().start()
    try:
        odoo.redirect_to = thief.url
        run_relay(odoo.url)
        until(lambda: "redirects to" in caplog.text)
        time.sleep(0.2)
        assert thief.calls == []
        assert f"redirects to {thief.url}{relay_wire.PATH_POLL}" in caplog.text
        assert "--server" in caplog.text
    finally:
        thief.stop()


def test_stop_is_immediate_while_a_poll_is_held(odoo: FakeOdoo) -> None:
    """Ctrl-C on an idle relay: no waiting for the held poll to end."""
    odoo.hold = 2.0
    relay = Relay(Client(odoo.url, TOKEN), wait=20, interval=0.05)
    thread = threading.Thread(target=relay.run)
    thread.start()
    until(lambda: odoo.held)
    started = time.monotonic()
    relay.stop()
    thread.join(LIVENESS)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0


def test_stop_waits_for_an_exchange_in_flight(
    odoo: FakeOdoo, simulator: TerminalSimulator, tmp_path: Path
) -> None:
    simulator.set_scenario(Scenario(kind="approve", delay=1.0))
    odoo.jobs = [payment_job(19, simulator)]
    relay = Relay(Client(odoo.url, TOKEN), wait=0, interval=0.05, spool=None)
    thread = threading.Thread(target=relay.run)
    thread.start()
    until(lambda: simulator.busy)
    relay.stop()
    thread.join(LIVENESS)
    # The customer's answer was read and posted before the relay ended.
    assert [r["transaction_id"] for r in odoo.results] == [19]


def test_jobs_carry_the_allowed_networks(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay]
) -> None:
    refused = dict(payment_job(20, simulator), allow_local=False)
    refused["networks"] = ["192.168.1.0/24"]
    invalid = dict(payment_job(21, simulator), networks=["not a network"])
    odoo.claims_in_poll = False  # a server of protocol 2
    odoo.jobs = [refused, invalid]
    run_relay(odoo.url)
    until(lambda: len(odoo.results) == 1)
    exchange = relay_wire.exchange_from_json(odoo.results[0]["exchange"])
    assert exchange.outcome is Outcome.NOT_SENT
    assert exchange.refusal is not None and exchange.refusal.kind == "loopback"
    time.sleep(0.2)
    # The invalid policy is not guessed: nothing claimed, nothing sent.
    assert 21 not in odoo.claims
    assert simulator.exchanges == []


def test_an_invalid_job_its_poll_claimed_is_said_not_sent(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay]
) -> None:
    """Claimed by the poll, a job the relay cannot run is posted "not sent"
    with the key at once: left without an outcome it would end "unknown"."""
    invalid = dict(payment_job(21, simulator), networks=["not a network"])
    odoo.jobs = [invalid]
    run_relay(odoo.url)
    until(lambda: odoo.results)
    (posted,) = odoo.results
    assert posted["claim"] == odoo.claims[21]
    exchange = relay_wire.exchange_from_json(posted["exchange"])
    assert exchange.outcome is Outcome.NOT_SENT and not exchange.sent
    assert "invalid job" in exchange.error
    assert simulator.exchanges == []


def test_a_woken_poll_claims_its_payments_without_a_claim_call(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay]
) -> None:
    """Heard by the bus, the relay polls without waiting and with a claim key:
    the payment comes claimed, one round trip instead of two."""
    odoo.jobs = [payment_job(30, simulator)]
    run_relay(odoo.url)  # wait=0, as when the bus is heard
    until(lambda: odoo.results)
    assert simulator.wait_for_exchanges(1, 5)
    assert len(simulator.exchanges) == 1
    assert relay_wire.PATH_CLAIM not in odoo.calls
    key = odoo.polls[0]["claim"]
    assert 16 <= len(key) <= 64
    assert odoo.claims[30] == key == odoo.results[0]["claim"]


def test_a_lost_poll_answer_brings_its_payments_again_sent_once(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    fast_backoff: None,
) -> None:
    """The poll claimed, its answer was lost: the next poll says the same key
    and brings the payment again; it is sent once, and the keys of polls that
    got their answer are never said again."""
    odoo.lose_poll_answers = 2
    odoo.jobs = [payment_job(31, simulator)]
    run_relay(odoo.url)
    until(lambda: odoo.results)
    until(lambda: len(odoo.polls) >= 6)
    keys = [poll["claim"] for poll in odoo.polls]
    assert keys[0] == keys[1] == keys[2] == odoo.claims[31]
    assert len(set(keys[2:])) == len(keys[2:])
    assert simulator.wait_for_exchanges(1, 5)
    time.sleep(0.2)
    assert len(simulator.exchanges) == 1
    assert relay_wire.PATH_CLAIM not in odoo.calls


def test_a_lost_answers_key_is_said_again_when_the_bus_went_away(
    odoo: FakeOdoo, simulator: TerminalSimulator
) -> None:
    """The claiming poll's answer was lost and the bus is gone meanwhile: the
    next poll still says the key, at once (not held), and gets the payment."""
    key = "k" * 32
    job = payment_job(34, simulator)
    odoo.claims[34] = key
    odoo.poll_claimed[key] = [{**job, "claim": key}]
    relay = Relay(Client(odoo.url, TOKEN), wait=5, interval=0.05, bus=False)
    relay._poll_claim = key  # as left by the poll whose answer was lost
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        until(lambda: odoo.results)
    finally:
        relay.stop()
        thread.join(LIVENESS)
    assert (odoo.polls[0]["claim"], odoo.polls[0]["wait"]) == (key, 0)
    assert [r["transaction_id"] for r in odoo.results] == [34]
    assert len(simulator.exchanges) == 1


def test_a_claim_in_a_job_that_is_not_the_polls_own_is_claimed_again(
    odoo: FakeOdoo, simulator: TerminalSimulator, run_relay: Callable[..., Relay]
) -> None:
    """Only the poll's own key spares the claim call: a job naming another
    key (a confused server) is claimed first, and lost to its owner."""
    odoo.claims_in_poll = False
    odoo.claims[32] = "somebody else's key"
    odoo.jobs = [dict(payment_job(32, simulator), claim="somebody else's key")]
    run_relay(odoo.url)
    until(lambda: relay_wire.PATH_CLAIM in odoo.calls)
    time.sleep(0.3)
    assert simulator.exchanges == []
    assert odoo.results == []


def test_stop_waits_for_a_claiming_poll_and_sends_what_it_claimed(
    odoo: FakeOdoo, simulator: TerminalSimulator
) -> None:
    """Stopped while a claiming poll is out: its answer is waited for and the
    payments it claimed are sent (abandoned, they would end "unknown")."""
    odoo.hold = 0.5
    odoo.jobs = [payment_job(33, simulator)]
    relay = Relay(Client(odoo.url, TOKEN), wait=0, interval=0.05, spool=None)
    thread = threading.Thread(target=relay.run)
    thread.start()
    until(lambda: odoo.held)
    relay.stop()
    thread.join(LIVENESS)
    assert not thread.is_alive()
    assert [r["transaction_id"] for r in odoo.results] == [33]
    assert len(simulator.exchanges) == 1


def test_refuses_to_start_on_an_old_python() -> None:
    code = (
        "import sys; sys.version_info = (3, 9, 18, 'final', 0); import caisse_ap.relay"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(relay_module.__file__).parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "caisse_ap needs Python 3.10 or newer; this is Python 3.9. Debian 12, "
        "Ubuntu 22.04 and Raspberry Pi OS Bookworm ship a suitable python3."
    ]


def test_invalid_spool_files_are_left_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool.for_server(tmp_path, "https://example.odoo.com")
    spool.path(3).write_text("{not json")
    spool.path(4).write_text(json.dumps({"transaction_id": 5}))
    (spool.folder / "notes.txt").write_text("ignored")
    spool.keep(6, {"transaction_id": 6, "exchange": {}})
    assert list(spool.pending()) == [(6, {"transaction_id": 6, "exchange": {}})]
    assert spool.path(3).exists() and spool.path(4).exists()
    assert "unreadable" in caplog.text
    assert "does not match" in caplog.text


def test_default_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd"))
    assert default_state_dir() == tmp_path / "systemd"
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "caisse-ap-relay"


def test_job_with_an_invalid_transaction_id_is_not_sent(
    odoo: FakeOdoo,
    simulator: TerminalSimulator,
    run_relay: Callable[..., Relay],
    tmp_path: Path,
) -> None:
    job = payment_job(0, simulator)
    job["transaction_id"] = "../../escape"
    odoo.jobs = [job]
    run_relay(odoo.url, spool=Spool.for_server(tmp_path, odoo.url))
    until(lambda: odoo.calls.count(relay_wire.PATH_POLL) >= 3)
    assert relay_wire.PATH_CLAIM not in odoo.calls
    assert simulator.exchanges == []


def test_burst_of_payments_takes_few_server_slots(
    odoo: FakeOdoo,
    make_simulator: Callable[..., TerminalSimulator],
    run_relay: Callable[..., Relay],
) -> None:
    # Six terminals, six payments at once: at most two claims or result posts
    # reach Odoo at the same time; the others wait in the relay, none fails.
    odoo.slow = 0.1
    simulators = [make_simulator() for _ in range(6)]
    odoo.jobs = [payment_job(20 + i, sim) for i, sim in enumerate(simulators)]
    run_relay(odoo.url, parallel=2)
    until(lambda: len(odoo.results) == 6)
    assert odoo.most_at_once == 2
    assert sorted(r["transaction_id"] for r in odoo.results) == list(range(20, 26))
    assert all(len(sim.exchanges) == 1 for sim in simulators)
