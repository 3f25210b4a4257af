"""The one check every outcome passes before a journal keeps it.

Two sides: whatever a legal terminal of any profile answers passes it (an
approval must never turn "unknown" because the check was stricter than the
protocol), and an outcome that cannot be true is refused, each rule alone."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from caisse_ap import (
    Outcome,
    PaymentMode,
    PaymentRequest,
    exchange,
    relay_wire,
)
from caisse_ap.journal import OutcomeRejected, checked_record, outcome_record
from caisse_ap.simulator import PROFILES, Scenario, TerminalSimulator

Factory = Callable[..., TerminalSimulator]
REQUEST = PaymentRequest(amount=1250, currency_numeric=978, request_receipt=True)
SCENARIOS = (
    Scenario(delay=0),
    Scenario(kind="decline", delay=0, af_code="05"),
    Scenario(kind="red_button", delay=0),
    Scenario(kind="partial", delay=0, partial_amount=1000),
    Scenario(kind="accepted", delay=0),
    Scenario(kind="garbage", delay=0),
    Scenario(kind="close", delay=0),
    Scenario(kind="wrong_echo", delay=0, echo_tag="CA"),
    Scenario(kind="approve", delay=0, masked_card="4970101234561234"),
)


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.to_spec())
def test_every_terminal_outcome_passes(
    make_simulator: Factory, profile: str, scenario: Scenario
) -> None:
    simulator = make_simulator(scenario, profile=profile)
    result = exchange(
        "127.0.0.1",
        simulator.port,
        REQUEST,
        answer_timeout=5,
        quiet_period=0.1,
        allow_local=True,
    )
    record = outcome_record(result)
    assert checked_record(record, REQUEST.amount) == record


def test_cheque_and_not_sent_outcomes_pass(make_simulator: Factory) -> None:
    cheque = PaymentRequest(amount=3000, currency_numeric=978, mode=PaymentMode.CHECK)
    simulator = make_simulator(Scenario(delay=0))
    result = exchange(
        "127.0.0.1", simulator.port, cheque, quiet_period=0.1, allow_local=True
    )
    assert checked_record(outcome_record(result), 3000)["outcome"] == result.outcome
    refused = exchange("169.254.169.254", 80, cheque)
    record = checked_record(outcome_record(refused), 3000)
    assert record["refusal"]["kind"] == "metadata"


@pytest.fixture
def approval(make_simulator: Factory) -> dict:
    simulator = make_simulator(Scenario(delay=0))
    result = exchange(
        "127.0.0.1", simulator.port, REQUEST, quiet_period=0.1, allow_local=True
    )
    assert result.outcome is Outcome.SUCCESS
    return outcome_record(result)


def changed(record: dict, path: tuple, value: object) -> dict:
    record = copy.deepcopy(record)
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


@pytest.mark.parametrize(
    ("path", "value", "why"),
    [
        (("outcome",), "paid", "unknown outcome"),
        (("outcome",), "failure", "with a 'success' result"),
        (("outcome",), "no_answer", "carries no result"),
        (("result",), None, "needs the terminal's result"),
        (("result", "status"), "failure", "with a 'failure' result"),
        (("result", "authorised_amount"), 1251, "not between 1 and the 1250"),
        (("result", "authorised_amount"), 0, "not between 1"),
        (("result", "authorised_amount"), -5, "not between 1"),
        (("result", "authorised_amount"), None, "needs its authorised amount"),
        (("result", "authorised_amount"), 12.5, "needs its authorised amount"),
        (("result", "authorised_amount"), True, "needs its authorised amount"),
        (("result", "partial"), True, "partial does not match"),
        (("result", "partial"), "no", "true or false"),
        (("result", "card_last4"), "4970101234561234", "longer than 4"),
        (("result", "card_last4"), "12a4", "4 digits"),
        (("result", "auth_code"), "1" * 4001, "longer than 4000"),
        (("result", "auth_code"), 123456, "a text expected"),
        (("duration",), float("nan"), "duration"),
        (("duration",), float("inf"), "duration"),
        (("duration",), -1, "duration"),
        (("duration",), "1.5", "duration"),
        (
            ("refusal",),
            {"host": "x", "address": "1.2.3.4", "kind": "outside"},
            "not_sent",
        ),
        (("error",), ["x"], "a text expected"),
    ],
)
def test_impossible_outcomes_are_refused(
    approval: dict, path: tuple, value: object, why: str
) -> None:
    with pytest.raises(OutcomeRejected, match=why):
        checked_record(changed(approval, path, value), REQUEST.amount)


def test_a_failure_authorises_nothing(make_simulator: Factory) -> None:
    simulator = make_simulator(Scenario(kind="decline", delay=0))
    record = outcome_record(
        exchange(
            "127.0.0.1", simulator.port, REQUEST, quiet_period=0.1, allow_local=True
        )
    )
    checked_record(record, REQUEST.amount)
    with pytest.raises(OutcomeRejected, match="authorises no amount"):
        checked_record(
            changed(record, ("result", "authorised_amount"), 1250), REQUEST.amount
        )


def test_control_characters_are_escaped_not_refused(approval: dict) -> None:
    record = changed(approval, ("result", "receipt_text"), "TICKET\x00\nMERCI\x1b")
    record = changed(record, ("error",), "bad\r\nline")
    clean = checked_record(record, REQUEST.amount)
    assert clean["result"]["receipt_text"] == "TICKET\\x00\nMERCI\\x1b"
    assert clean["error"] == "bad\\x0d\\x0aline"


def test_older_spool_records_without_status_pass(approval: dict) -> None:
    record = copy.deepcopy(approval)
    del record["result"]["status"]
    assert checked_record(record, REQUEST.amount)["result"]["status"] == "success"


def test_an_exchange_rebuilt_from_the_wire_gives_the_same_record(
    make_simulator: Factory,
) -> None:
    """The relay path builds the record from the ExchangeResult it posted."""
    simulator = make_simulator(Scenario(kind="partial", delay=0, partial_amount=900))
    result = exchange(
        "127.0.0.1", simulator.port, REQUEST, quiet_period=0.1, allow_local=True
    )
    rebuilt = relay_wire.exchange_from_json(relay_wire.to_json(result))
    assert outcome_record(rebuilt) == outcome_record(result)
    assert checked_record(outcome_record(rebuilt), REQUEST.amount)["result"]["partial"]
