"""Terminal profiles: each one answers like the terminal it models, on the wire."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable

import pytest

from caisse_ap import (
    Outcome,
    PaymentMode,
    PaymentRequest,
    decode_fields,
    encode_fields,
    exchange,
)
from caisse_ap.simulator import (
    DEFAULT_PROFILE,
    PROFILES,
    Scenario,
    TerminalSimulator,
    get_profile,
)

Factory = Callable[..., TerminalSimulator]
CARD_REQUEST = PaymentRequest(amount=1250, currency_numeric=978)


def raw_exchange(simulator: TerminalSimulator, frame: bytes) -> tuple[bytes, bool]:
    """Send ``frame``; (answer bytes, whether the terminal closed after answering)."""
    with socket.create_connection(simulator.address, timeout=10) as sock:
        sock.sendall(frame)
        data = b""
        sock.settimeout(5)
        while not data:
            data = sock.recv(4096)
        # Whole answer: keep reading until 0.3 s of silence or the close.
        sock.settimeout(0.3)
        closed = False
        try:
            while chunk := sock.recv(4096):
                data += chunk
            closed = True
        except TimeoutError:
            pass
    return data, closed


def test_the_default_profile_is_the_ingenico_one() -> None:
    assert DEFAULT_PROFILE == "ingenico"
    assert TerminalSimulator().profile is PROFILES["ingenico"]
    with pytest.raises(ValueError, match="unknown terminal profile"):
        get_profile("verifone")


def test_ingenico_approval(make_simulator: Factory) -> None:
    simulator = make_simulator(Scenario(delay=0))
    request = PaymentRequest(amount=1250, currency_numeric=978, correlation_id="MINE")
    answer, closed = raw_exchange(simulator, request.encode())
    fields = decode_fields(answer)
    assert next(iter(fields)) == "CZ"
    for tag, value in request.fields():
        if tag != "CF":
            assert fields[tag] == value, tag
    assert fields["AE"] == "10"
    assert fields["CF"] == "1010000000"  # replaces the request's CF
    assert re.fullmatch(r"\d{6}#{6}\d{4}", fields["AA"])
    assert re.fullmatch(r"\d{6}", fields["AC"])
    for tag in ("CC", "CI", "AI", "AB", "CG"):
        assert fields[tag], tag
    assert not closed  # the point of sale must decide the answer is complete


def test_ingenico_check_failures_are_always_af_04(make_simulator: Factory) -> None:
    simulator = make_simulator(Scenario(kind="red_button", af_code="11", delay=0))
    request = PaymentRequest(amount=4200, currency_numeric=978, mode=PaymentMode.CHECK)
    answer, _closed = raw_exchange(simulator, request.encode())
    fields = decode_fields(answer)
    assert (fields["AE"], fields["AF"], fields["CC"]) == ("01", "04", "00C")


@pytest.mark.parametrize("missing", ["CZ", "CJ", "CA", "CB", "CD", "CE"])
def test_ingenico_answers_a_missing_mandatory_tag_at_once(
    make_simulator: Factory, missing: str
) -> None:
    simulator = make_simulator(Scenario(delay=5))
    frame = encode_fields(
        [(tag, value) for tag, value in CARD_REQUEST.fields() if tag != missing]
    )
    started = time.monotonic()
    answer, _closed = raw_exchange(simulator, frame)
    fields = decode_fields(answer)
    assert (fields["AE"], fields["AF"]) == ("01", "09")
    assert time.monotonic() - started < 2  # not after the customer's 5 s


def test_ingenico_answers_ba_1_at_once_with_ae_11(make_simulator: Factory) -> None:
    simulator = make_simulator(Scenario(delay=5))
    frame = CARD_REQUEST.encode() + b"BA0011"
    started = time.monotonic()
    answer, _closed = raw_exchange(simulator, frame)
    fields = decode_fields(answer)
    assert fields["AE"] == "11"
    assert "AF" not in fields
    assert time.monotonic() - started < 2


def test_minimal_approval_holds_only_the_essentials(make_simulator: Factory) -> None:
    simulator = make_simulator(Scenario(delay=0), profile="minimal")
    answer, closed = raw_exchange(
        simulator, PaymentRequest(1250, 978, correlation_id="MINE").encode()
    )
    assert set(decode_fields(answer)) == {"AE", "CA", "CB", "CD", "CE", "AC"}
    assert closed


def test_strict_echo_repeats_the_requests_cf(make_simulator: Factory) -> None:
    simulator = make_simulator(Scenario(delay=0), profile="strict_echo")
    answer, closed = raw_exchange(
        simulator, PaymentRequest(1250, 978, correlation_id="MINE").encode()
    )
    assert decode_fields(answer)["CF"] == "MINE"
    assert closed


# What the engine must make of each profile's answers (card data included).
@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("mode", list(PaymentMode))
@pytest.mark.parametrize("amount", [1250, -320])
def test_every_profile_approves_every_mode(
    make_simulator: Factory, profile: str, mode: PaymentMode, amount: int
) -> None:
    simulator = make_simulator(Scenario(delay=0), profile=profile)
    request = PaymentRequest(
        amount=abs(amount),
        currency_numeric=978,
        direction="1" if amount < 0 else "0",
        mode=mode,
    )
    result = exchange(
        simulator.host,
        simulator.port,
        request,
        answer_timeout=10,
        quiet_period=0.1,
        allow_local=True,
    )
    assert result.outcome is Outcome.SUCCESS, result.error
    answer = result.result
    assert answer.authorised_amount == abs(amount)
    profile_data = PROFILES[profile]
    tags = (
        profile_data.card_tags
        if mode is PaymentMode.CARD
        else profile_data.forced_application_tags
    )
    assert answer.auth_code == ("123456" if "AC" in tags else "")
    assert answer.card_last4 == ("1234" if "AA" in tags else "")
    assert answer.private_data == profile_data.private_data


# How long the engine reads an answer on a connection the terminal keeps open.
LONG_QUIET = 1.0


def timed_exchange(simulator: TerminalSimulator, request: PaymentRequest) -> object:
    return exchange(
        simulator.host,
        simulator.port,
        request,
        answer_timeout=10,
        quiet_period=LONG_QUIET,
        settle_period=0.02,
        allow_local=True,
    )


@pytest.mark.parametrize("mode", list(PaymentMode))
@pytest.mark.parametrize(
    ("kind", "outcome"), [("approve", "success"), ("decline", "failure")]
)
def test_ingenico_answers_end_without_the_quiet_period(
    make_simulator: Factory, mode: PaymentMode, kind: str, outcome: str
) -> None:
    # They repeat the whole request and hold what the status needs: once
    # they are in, nothing that may still come can change the outcome.
    simulator = make_simulator(Scenario(kind=kind, delay=0))
    result = timed_exchange(simulator, PaymentRequest(1250, 978, mode=mode))
    assert result.outcome.value == outcome, result.error
    assert result.duration < LONG_QUIET


@pytest.mark.parametrize(
    ("profile", "scenario"),
    [
        # Red button: CB left out, the answer may not be all there.
        ("ingenico", Scenario(kind="red_button", delay=0)),
        # The most different legal terminal, keeping the connection open.
        ("minimal", Scenario(delay=0, keep_open=True)),
        ("strict_echo", Scenario(delay=0, keep_open=True)),
    ],
)
def test_answers_not_repeating_the_request_wait_the_quiet_period(
    make_simulator: Factory, profile: str, scenario: Scenario
) -> None:
    simulator = make_simulator(scenario, profile=profile)
    result = timed_exchange(simulator, CARD_REQUEST)
    assert result.outcome in (Outcome.SUCCESS, Outcome.FAILURE), result.error
    assert result.duration >= LONG_QUIET
