"""The simulated terminal: scenarios, queue, records, several terminals, CLI."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from caisse_ap import Outcome, PaymentMode, PaymentRequest, decode_fields, exchange
from caisse_ap.simulator import (
    PROFILES,
    MultiTerminalSimulator,
    Scenario,
    TerminalSimulator,
)
from caisse_ap.simulator.server import REQUEST_QUIET

ROOT = Path(__file__).resolve().parents[2]
Factory = Callable[..., TerminalSimulator]


def pay(simulator: TerminalSimulator, request: PaymentRequest, **options: object):
    options.setdefault("answer_timeout", 10)
    options.setdefault("quiet_period", 0.05)
    options.setdefault("allow_local", True)  # the simulator is on loopback
    return exchange(simulator.host, simulator.port, request, **options)  # type: ignore[arg-type]


# -- scenarios ---------------------------------------------------------------
def test_parse_scenarios() -> None:
    assert Scenario.parse("approve") == Scenario()
    assert Scenario.parse("") == Scenario()
    parsed = Scenario.parse("decline:af=05,delay=1")
    assert (parsed.kind, parsed.af_code, parsed.delay) == ("decline", "05", 1.0)
    parsed = Scenario.parse(" red-button : af=11 ")
    assert (parsed.kind, parsed.af_code) == ("red_button", "11")
    parsed = Scenario.parse("wrong_echo:echo=ce,keep_open=yes,amount=10")
    assert (parsed.echo_tag, parsed.keep_open, parsed.partial_amount) == (
        "CE",
        True,
        10,
    )


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("refund", "unknown scenario"),
        ("decline:af", "bad scenario option"),
        ("decline:colour=red", "bad scenario option"),
        ("approve:delay=soon", "delay needs a number"),
        ("approve:delay=-1", "delay must be a number >= 0"),
        ("split:segments=0", "segments must be an int >= 1"),
        ("wrong_echo:echo=AE", "echo_tag must be one of"),
        ("wrong_echo:echo=CF", "echo_tag must be one of"),
        ("approve:keep_open=maybe", "keep_open needs yes/no"),
        ("approve:receipt=" + "x" * 800, "receipt too long"),
        ("approve:ac=é", "non-ASCII"),
    ],
)
def test_bad_scenarios_are_rejected(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Scenario.parse(spec)


def test_describe_hides_card_data() -> None:
    scenario = Scenario(masked_card="123456######9999", expiry="3001", delay=2)
    assert scenario.describe() == "approve:delay=2"
    assert "123456" in scenario.to_spec()


# -- transactions ------------------------------------------------------------
def test_default_scenario_approves_and_echoes_the_request(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    result = pay(simulator, request_1250)
    assert result.outcome is Outcome.SUCCESS
    assert simulator.wait_for_exchanges(1, 5)
    (record,) = simulator.exchanges
    assert record["request"] == request_1250.encode()
    assert record["request_fields"] == dict(request_1250.fields())
    answer = decode_fields(record["answer"])
    for tag in ("CZ", "CJ", "CA", "CB", "CD", "CE"):
        assert answer[tag] == record["request_fields"][tag]
    assert answer["CF"] == "1010000000"  # the default profile is the Ingenico one
    assert record["scenario"].kind == "approve"
    assert record["started_at"] <= record["ended_at"]
    assert record["error"] == ""


def test_answer_time_is_recorded_apart_from_the_end_of_the_connection(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    # The default profile keeps the socket open after answering: the
    # transaction ends when the client closes, long after the answer.
    simulator = make_simulator()
    with socket.create_connection(simulator.address, timeout=5) as sock:
        sock.sendall(request_1250.encode())
        assert sock.recv(4096)
        received = time.time()
        time.sleep(0.3)
    assert simulator.wait_for_exchanges(1, 5)
    (record,) = simulator.exchanges
    assert record["started_at"] <= record["answered_at"] <= received
    assert record["ended_at"] - record["answered_at"] >= 0.25


def test_receive_time_is_when_the_request_arrived(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    # The terminal shows the amount once the request is whole, before the
    # short silence that tells the simulator nothing more comes.
    simulator = make_simulator(Scenario(kind="approve", delay=0))
    with socket.create_connection(simulator.address, timeout=5) as sock:
        sent = time.time()
        sock.sendall(request_1250.encode())
        assert sock.recv(4096)
    assert simulator.wait_for_exchanges(1, 5)
    (record,) = simulator.exchanges
    assert sent <= record["received_at"] < record["started_at"]
    assert record["started_at"] - record["received_at"] >= REQUEST_QUIET * 0.9


def test_no_answer_time_without_an_answer(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulator = make_simulator(Scenario(kind="close", delay=0))
    assert pay(simulator, request_1250).outcome is Outcome.NO_ANSWER
    assert simulator.wait_for_exchanges(1, 5)
    assert simulator.exchanges[0]["answered_at"] is None


def test_queue_is_first_in_first_out_then_default(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    simulator.queue(
        Scenario(kind="decline", af_code="05", delay=0),
        Scenario(kind="accepted", delay=0),
    )
    simulator.set_scenario(Scenario(kind="red_button", af_code="06", delay=0))
    outcomes = [pay(simulator, request_1250) for _ in range(3)]
    assert [o.outcome for o in outcomes] == [
        Outcome.FAILURE,
        Outcome.ACCEPTED,
        Outcome.FAILURE,
    ]
    assert outcomes[0].result.failure_code == "05"
    assert outcomes[2].result.failure_code == "06"
    assert simulator.wait_for_exchanges(3, 5)
    assert [r["scenario"].kind for r in simulator.exchanges] == [
        "decline",
        "accepted",
        "red_button",
    ]


def test_queued_scenario_is_a_copy(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    scenario = Scenario(kind="decline", delay=0)
    simulator.queue(scenario)
    scenario.kind = "approve"
    assert pay(simulator, request_1250).outcome is Outcome.FAILURE


def test_exchanges_is_a_snapshot(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    pay(simulator, request_1250)
    assert simulator.wait_for_exchanges(1, 5)
    snapshot = simulator.exchanges
    snapshot.clear()
    assert len(simulator.exchanges) == 1


def test_exchanges_can_be_read_from_other_threads(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            seen.append(len(simulator.exchanges))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(5):
            pay(simulator, request_1250)
        assert simulator.wait_for_exchanges(5, 5)
    finally:
        stop.set()
        thread.join()
    assert seen == sorted(seen)


def test_wait_for_exchanges_times_out(simulator: TerminalSimulator) -> None:
    assert simulator.wait_for_exchanges(1, 0.05) is False


def test_connection_without_request_is_not_a_transaction(
    simulator: TerminalSimulator, request_1250: PaymentRequest
) -> None:
    simulator.queue(Scenario(kind="decline", delay=0))
    with socket.create_connection(simulator.address):
        pass
    # The queued scenario is still there for the real transaction.
    assert pay(simulator, request_1250).outcome is Outcome.FAILURE
    assert simulator.wait_for_exchanges(1, 5)
    assert len(simulator.exchanges) == 1


def test_unreadable_request_gets_a_format_error(simulator: TerminalSimulator) -> None:
    with socket.create_connection(simulator.address, timeout=10) as sock:
        sock.sendall(b"CZ0040300CA00201CB00412,0CD0010CE003978")
        sock.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: sock.recv(4096), b""))
    assert decode_fields(answer)["AF"] == "09"


def test_check_payment_has_no_card_data(simulator: TerminalSimulator) -> None:
    request = PaymentRequest(
        amount=3000,
        currency_numeric=978,
        mode=PaymentMode.CHECK,
    )
    result = pay(simulator, request)
    assert result.outcome is Outcome.SUCCESS
    assert result.result.application_code == "00C"
    assert result.result.card_last4 == ""


def test_customer_delay(make_simulator: Factory, request_1250: PaymentRequest) -> None:
    simulator = make_simulator(Scenario(delay=0.3))
    result = pay(simulator, request_1250)
    assert result.outcome is Outcome.SUCCESS
    assert result.duration >= 0.3


def test_hold_answers_only_once_released(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulator = make_simulator(Scenario(delay=0, hold=True))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(pay, simulator, request_1250)
        for _ in range(500):  # the request reaches the terminal (at most 5 s)
            if simulator.busy:
                break
            threading.Event().wait(0.01)
        assert simulator.busy
        # Held: still no answer however long we look (bounded by the pay timeout).
        with pytest.raises(concurrent.futures.TimeoutError):
            future.result(timeout=0.3)
        simulator.release()
        result = future.result(timeout=10)
    assert result.outcome is Outcome.SUCCESS
    assert Scenario.parse("approve:hold=yes").hold is True


def test_stop_ends_a_hang_and_is_idempotent(request_1250: PaymentRequest) -> None:
    simulator = TerminalSimulator(scenario=Scenario(kind="hang", delay=0))
    simulator.start()
    client = threading.Thread(target=pay, args=(simulator, request_1250))
    client.start()
    assert _eventually(lambda: simulator.busy)
    simulator.stop()
    simulator.stop()
    client.join()
    assert simulator.exchanges[0]["error"] == "simulator stopped"


def test_restart_after_stop(request_1250: PaymentRequest) -> None:
    simulator = TerminalSimulator(scenario=Scenario(delay=0))
    with simulator:
        assert pay(simulator, request_1250).outcome is Outcome.SUCCESS
        port = simulator.port
    with simulator:
        assert simulator.port == port
        assert pay(simulator, request_1250).outcome is Outcome.SUCCESS
    assert len(simulator.exchanges) == 2


def test_busy_behaviour_is_validated() -> None:
    with pytest.raises(ValueError, match="busy_behaviour"):
        TerminalSimulator(busy_behaviour="queue")


def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    waiter = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        waiter.wait(0.01)
    return False


# -- several terminals -------------------------------------------------------
def test_many_terminals_share_one_thread(request_1250: PaymentRequest) -> None:
    before = threading.active_count()
    with MultiTerminalSimulator(8, scenario=Scenario(delay=0.2)) as group:
        assert len(set(group.ports)) == 8
        assert threading.active_count() == before + 1
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda t: pay(t, request_1250), group))
    assert [r.outcome for r in results] == [Outcome.SUCCESS] * 8
    assert all(len(terminal.exchanges) == 1 for terminal in group)


# -- command line ------------------------------------------------------------
def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "caisse_ap.simulator", *args]


def test_cli_help() -> None:
    done = subprocess.run(
        _cli("--help"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    for option in ("--port", "--scenario", "--delay", "--busy", "--keep-open"):
        assert option in done.stdout


def test_cli_profile_option() -> None:
    done = subprocess.run(
        _cli("--help"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    for name in ("--profile", *PROFILES):
        assert name in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [(("--scenario", "refund"), "unknown scenario"), (("--profile", "x"), "invalid")],
)
def test_cli_rejects_a_bad_scenario_or_profile(
    args: tuple[str, ...], words: str
) -> None:
    done = subprocess.run(
        _cli(*args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert words in done.stderr


def test_cli_serves_then_stops_on_ctrl_c(request_1250: PaymentRequest) -> None:
    process = subprocess.Popen(
        _cli("--port", "0", "--scenario", "decline:af=05", "--delay", "0", "--quiet"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        assert "listening on 127.0.0.1:" in line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        result = exchange(
            "127.0.0.1",
            port,
            request_1250,
            answer_timeout=10,
            quiet_period=0.05,
            allow_local=True,
        )
        assert result.outcome is Outcome.FAILURE
        assert result.result.failure_code == "05"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Simulator stopped." in out
    assert "Traceback" not in err
