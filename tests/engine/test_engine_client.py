"""The asyncio client against the simulator: every ending is classified
(fault matrix, on every terminal profile). The blocking ``exchange`` is
``asyncio.run(exchange_async(...))``; what only a shared loop shows is in
test_engine_client_loop.py.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from caisse_ap import ExchangeResult, Outcome, PaymentRequest, Status, exchange, probe
from caisse_ap.simulator import PROFILES, Scenario, TerminalSimulator

Factory = Callable[..., TerminalSimulator]
# Generous bounds: they only make sure a broken test cannot hang the suite.
ANSWER_TIMEOUT = 10.0


def run(
    simulator: TerminalSimulator, request: PaymentRequest, **options: object
) -> ExchangeResult:
    options.setdefault("answer_timeout", ANSWER_TIMEOUT)
    options.setdefault("quiet_period", 0.1)
    # The simulator listens on loopback, which the address policy refuses.
    options.setdefault("allow_local", True)
    return exchange(simulator.host, simulator.port, request, **options)  # type: ignore[arg-type]


@pytest.fixture
def closed_port() -> int:
    """A port on which nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: connecting to it times out (Linux)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    for _ in range(3):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        held.append(client)
    yield port
    for client in held:
        client.close()
    server.close()


# (scenario, outcome, check of the ExchangeResult)
FAULT_MATRIX: list[tuple[str, Outcome, Callable[[ExchangeResult], bool]]] = [
    ("approve", Outcome.SUCCESS, lambda r: r.result.authorised_amount == 1250),
    ("approve:delay=0.3", Outcome.SUCCESS, lambda r: r.result.auth_code == "123456"),
    ("approve:keep_open=yes", Outcome.SUCCESS, lambda r: r.result.auth_code != ""),
    (
        "approve:receipt=Merci",
        Outcome.SUCCESS,
        lambda r: r.result.receipt_text == "Merci",
    ),
    ("decline:af=05", Outcome.FAILURE, lambda r: r.result.failure_code == "05"),
    ("decline:af=04XYZ", Outcome.FAILURE, lambda r: r.result.failure_detail == "XYZ"),
    ("red_button:af=11", Outcome.FAILURE, lambda r: "CB" not in r.result.fields),
    ("close", Outcome.NO_ANSWER, lambda r: "without answering" in r.error),
    (
        "garbage",
        Outcome.MALFORMED,
        lambda r: r.result is None and "invalid answer" in r.error,
    ),
    ("split:segments=5", Outcome.SUCCESS, lambda r: r.result.partial is False),
    ("split:segments=3,keep_open=yes", Outcome.SUCCESS, lambda r: r.result is not None),
    ("drip", Outcome.SUCCESS, lambda r: r.result.authorised_amount == 1250),
    ("oversize", Outcome.MALFORMED, lambda r: "larger than 65536" in r.error),
    ("wrong_echo:echo=CA", Outcome.MALFORMED, lambda r: "CA" in r.error),
    ("wrong_echo:echo=CB", Outcome.MALFORMED, lambda r: "CB" in r.error),
    ("wrong_echo:echo=CD", Outcome.MALFORMED, lambda r: "CD" in r.error),
    ("wrong_echo:echo=CE", Outcome.MALFORMED, lambda r: "CE" in r.error),
    (
        "partial",
        Outcome.SUCCESS,
        lambda r: (r.result.partial, r.result.authorised_amount) == (True, 625),
    ),
    (
        "partial:amount=1000",
        Outcome.SUCCESS,
        lambda r: r.result.authorised_amount == 1000,
    ),
    ("accepted", Outcome.ACCEPTED, lambda r: r.result.status is Status.ACCEPTED),
    ("reset", Outcome.MALFORMED, lambda r: "reset" in r.error),
    # Bytes after a complete answer end it; they do not spoil it.
    (
        "approve:trailing=crlf",
        Outcome.SUCCESS,
        lambda r: r.answer_frame[-2:] == b"\r\n",
    ),
    ("approve:trailing=nul", Outcome.SUCCESS, lambda r: "\\x00" in r.answer_text),
    ("approve:trailing=frame", Outcome.SUCCESS, lambda r: r.result.auth_code != ""),
    ("split:trailing=crlf", Outcome.SUCCESS, lambda r: r.result is not None),
    ("decline:trailing=nul", Outcome.FAILURE, lambda r: r.result.failure_code == "04"),
    # A NUL in a value is escaped, never stored or logged as it is.
    (
        "approve:ac=12\x0034",
        Outcome.SUCCESS,
        lambda r: r.result.auth_code == "12\\x0034" and "\x00" not in r.answer_text,
    ),
]


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize(
    ("spec", "outcome", "check"), FAULT_MATRIX, ids=[row[0] for row in FAULT_MATRIX]
)
def test_fault_matrix(
    make_simulator: Factory,
    request_1250: PaymentRequest,
    profile: str,
    spec: str,
    outcome: Outcome,
    check: Callable[[ExchangeResult], bool],
) -> None:
    scenario = Scenario.parse(spec)
    if "delay=" not in spec:
        scenario.delay = 0
    simulator = make_simulator(scenario, profile=profile)
    result = run(simulator, request_1250)
    assert result.outcome is outcome, result.error
    assert result.sent is True
    assert (result.result is not None) == (
        outcome in (Outcome.SUCCESS, Outcome.FAILURE, Outcome.ACCEPTED)
    )
    assert check(result)
    assert result.request_frame == request_1250.encode()
    assert simulator.wait_for_exchanges(1, 5)


def test_hang_is_no_answer_never_a_failure(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulator = make_simulator(Scenario(kind="hang", delay=0))
    result = run(simulator, request_1250, answer_timeout=0.5)
    assert result.outcome is Outcome.NO_ANSWER
    assert result.outcome.is_unknown
    assert result.sent is True
    assert "no answer" in result.error and "0.5 s" in result.error
    simulator.release_hang()
    assert simulator.wait_for_exchanges(1, 5)


def test_answer_too_slow_for_the_deadline_is_malformed(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulator = make_simulator(Scenario(kind="drip", delay=0, byte_delay=0.05))
    result = run(simulator, request_1250, answer_timeout=0.4)
    assert result.outcome is Outcome.MALFORMED
    assert "incomplete answer" in result.error
    assert 0 < len(result.answer_frame)


def test_refused_connection_is_not_sent(
    request_1250: PaymentRequest, closed_port: int
) -> None:
    result = exchange("127.0.0.1", closed_port, request_1250, allow_local=True)
    assert result.outcome is Outcome.NOT_SENT
    assert not result.outcome.is_unknown
    assert result.sent is False
    assert "refused" in result.error


def test_connect_timeout_is_not_sent(
    request_1250: PaymentRequest, full_backlog: int
) -> None:
    result = exchange(
        "127.0.0.1", full_backlog, request_1250, connect_timeout=0.3, allow_local=True
    )
    assert result.outcome is Outcome.NOT_SENT
    assert "timed out after 0.3 s" in result.error


@pytest.mark.parametrize(
    ("host", "port", "words"),
    [
        ("host.invalid", 8888, "cannot resolve host"),
        ("", 8888, "no terminal host"),
        ("127.0.0.1", 0, "invalid port"),
        ("127.0.0.1", 70000, "invalid port"),
    ],
)
def test_bad_address_is_not_sent(
    request_1250: PaymentRequest, host: str, port: int, words: str
) -> None:
    result = exchange(host, port, request_1250, allow_local=True)
    assert result.outcome is Outcome.NOT_SENT
    assert words in result.error


def test_programming_errors_raise(request_1250: PaymentRequest) -> None:
    with pytest.raises(TypeError):
        exchange("127.0.0.1", 8888, b"CZ0040300")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        exchange("127.0.0.1", "8888", request_1250)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        exchange("127.0.0.1", 8888, request_1250, answer_timeout=-1)


def test_busy_terminal_ignoring_a_second_connection(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulator = make_simulator(Scenario(kind="hang", delay=0), busy_behaviour="ignore")
    first = threading.Thread(
        target=run, args=(simulator, request_1250), kwargs={"answer_timeout": 3}
    )
    first.start()
    try:
        assert _wait_until(lambda: simulator.busy)
        result = run(simulator, request_1250, answer_timeout=0.5)
    finally:
        simulator.release_hang()
        first.join()
    assert result.outcome is Outcome.NO_ANSWER
    assert result.sent is True
    assert simulator.busy_connections == 1


def test_busy_terminal_refusing_a_second_connection(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulator = make_simulator(Scenario(kind="hang", delay=0), busy_behaviour="refuse")
    first = threading.Thread(
        target=run, args=(simulator, request_1250), kwargs={"answer_timeout": 3}
    )
    first.start()
    try:
        assert _wait_until(lambda: simulator.busy)
        result = run(simulator, request_1250)
    finally:
        simulator.release_hang()
        first.join()
    assert result.outcome is Outcome.NO_ANSWER
    assert "closed the connection" in result.error or "reset" in result.error
    assert simulator.busy_connections == 1


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if condition():
                return True
            done.wait(0.01)
        return False
    finally:
        deadline.cancel()
        deadline.join()


def test_logs_and_results_never_show_card_data(
    make_simulator: Factory,
    request_1250: PaymentRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator = make_simulator(
        Scenario(delay=0, masked_card="497010######9876", expiry="2911")
    )
    with caplog.at_level(logging.DEBUG):
        result = run(simulator, request_1250)
        simulator.wait_for_exchanges(1, 5)
    assert result.outcome is Outcome.SUCCESS
    assert result.result.card_last4 == "9876"
    stored = repr(result) + str(result.as_dict()) + caplog.text
    assert "497010" not in stored
    assert "2911" not in stored
    assert b"AA0049876" in result.answer_frame


def test_probe(simulator: TerminalSimulator, closed_port: int) -> None:
    assert probe(simulator.host, simulator.port, allow_local=True) == (True, "", None)
    ok, reason, refusal = probe("127.0.0.1", closed_port, allow_local=True)
    assert not ok and "refused" in reason and refusal is None
    assert probe("", 8888) == (False, "no terminal host configured", None)
    assert simulator.exchanges == []  # a probe is not a transaction
