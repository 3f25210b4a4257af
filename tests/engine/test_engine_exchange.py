"""The exchange state without sockets nor clocks: bytes and times are made up."""

from __future__ import annotations

import pytest

from caisse_ap import Exchange, Outcome, PaymentRequest, decode_fields, encode_fields
from caisse_ap.exchange import Ending
from caisse_ap.receipt import encode_receipt

REQUEST = PaymentRequest(amount=1250, currency_numeric=978)
APPROVAL = encode_fields(
    [
        ("CZ", "0300"),
        ("CA", "01"),
        ("CB", "1250"),
        ("CD", "0"),
        ("CE", "978"),
        ("AE", "10"),
        ("AC", "123456"),
        ("AA", "497010######1234"),
        ("CF", "1010000000"),
    ]
)
TIMEOUT, QUIET = 60.0, 0.25  # exact in binary: no rounding at the edges


def sent(at: float = 100.0) -> Exchange:
    state = Exchange(REQUEST, TIMEOUT, QUIET, where="T1")
    state.request_sent(at)
    return state


def test_waits_for_the_answer_until_the_deadline() -> None:
    state = sent()
    assert state.wait_time(100.0) == TIMEOUT
    assert state.wait_time(130.0) == TIMEOUT - 30
    assert state.wait_time(160.0) is None
    assert state.ending is Ending.DEADLINE
    outcome, result, error = state.conclude()
    assert (outcome, result) == (Outcome.NO_ANSWER, None)
    assert "no answer from T1 within 60 s" in error


def test_a_whole_answer_ends_after_the_quiet_period() -> None:
    state = sent()
    state.receive(APPROVAL[:20], 101.0)
    assert state.wait_time(101.0) == TIMEOUT - 1  # not whole yet
    state.receive(APPROVAL[20:], 102.0)
    assert state.wait_time(102.1) == pytest.approx(QUIET - 0.1)
    assert state.wait_time(102.0 + QUIET) is None
    assert state.ending is Ending.QUIET
    outcome, result, error = state.conclude()
    assert (outcome, error) == (Outcome.SUCCESS, "")
    assert (result.auth_code, result.card_last4, result.private_data) == (
        "123456",
        "1234",
        "1010000000",
    )


def test_more_fields_within_the_quiet_period_belong_to_the_answer() -> None:
    state = sent()
    state.receive(APPROVAL, 101.0)
    state.receive(b"CG0071234567", 101.2)
    assert state.wait_time(101.3) == pytest.approx(0.15)
    assert state.wait_time(101.5) is None
    _outcome, result, _error = state.conclude()
    assert result.fields["CG"] == "1234567"


def test_close_right_after_the_answer() -> None:
    state = sent()
    state.receive(APPROVAL, 101.0)
    state.receive(b"", 101.0)
    assert state.wait_time(101.0) is None
    assert state.conclude()[0] is Outcome.SUCCESS


@pytest.mark.parametrize(
    ("events", "outcome", "words"),
    [
        ([b""], Outcome.NO_ANSWER, "closed the connection without answering"),
        ([APPROVAL[:30], b""], Outcome.MALFORMED, "peer closed mid-field"),
        ([b"HTTP/1.1 400"], Outcome.MALFORMED, "invalid answer"),
        (["reset"], Outcome.NO_ANSWER, "reset by T1 without an answer"),
        ([APPROVAL[:30], "reset"], Outcome.MALFORMED, "reset after 30 bytes"),
    ],
)
def test_every_ending_is_classified(
    events: list[bytes | str], outcome: Outcome, words: str
) -> None:
    state = sent()
    for event in events:
        if event == "reset":
            state.connection_broken("Connection reset by peer")
        else:
            state.receive(event, 101.0)
    assert state.wait_time(101.0) is None
    got, _result, error = state.conclude()
    assert got is outcome
    assert words in error


def test_answer_cut_at_the_deadline_is_malformed() -> None:
    state = sent()
    state.receive(APPROVAL[:30], 101.0)
    assert state.wait_time(160.0) is None
    outcome, _result, error = state.conclude()
    assert outcome is Outcome.MALFORMED
    assert "incomplete answer (30 bytes) after 60 s" in error


def test_trailing_bytes_are_noted_not_fatal() -> None:
    state = sent()
    state.receive(APPROVAL + b"\r\n\x00", 101.0)
    assert state.wait_time(101.0 + QUIET) is None
    assert state.conclude()[0] is Outcome.SUCCESS
    assert "3 byte(s) after the complete answer ignored: \\x0d\\x0a\\x00" in (
        state.trailing_note()
    )
    assert state.received.endswith(b"\r\n\x00")


def test_nothing_counts_once_the_reading_is_over() -> None:
    state = sent()
    state.receive(APPROVAL, 101.0)
    assert state.wait_time(102.0) is None
    state.receive(b"garbage", 102.0)
    state.connection_broken("late")
    assert state.ending is Ending.QUIET
    assert state.conclude()[0] is Outcome.SUCCESS


# -- an answer that holds everything it needs ends after the settle period --
# What an Ingenico Desk/5000 answers (fact sheet): the whole request repeated,
# AE, card data and its own CF, on a connection it keeps open.
INGENICO_APPROVAL = encode_fields(
    [
        ("CZ", "0300"),
        ("CJ", "012345678901"),
        ("CA", "01"),
        ("CB", "1250"),
        ("CD", "0"),
        ("CE", "978"),
        ("AE", "10"),
        ("CC", "001"),
        ("CI", "1"),
        ("AC", "123456"),
        ("AA", "497010######1234"),
        ("CF", "1010000000"),
    ]
)
SETTLE = 0.0625  # exact in binary
RECEIPT_REQUEST = PaymentRequest(
    amount=1250, currency_numeric=978, request_receipt=True
)
RECEIPT = encode_receipt("CARTE BANCAIRE\n12,50 EUR")


def sent_settling(request: PaymentRequest = REQUEST) -> Exchange:
    state = Exchange(request, TIMEOUT, QUIET, where="T1", settle_period=SETTLE)
    state.request_sent(100.0)
    return state


def without(frame: bytes, *tags: str) -> bytes:
    return encode_fields(
        [(t, v) for t, v in decode_fields(frame).items() if t not in tags]
    )


def test_an_answer_repeating_the_whole_request_ends_after_the_settle_period() -> None:
    state = sent_settling()
    state.receive(INGENICO_APPROVAL, 101.0)
    assert state.wait_time(101.0) == SETTLE
    assert state.wait_time(101.0 + SETTLE) is None
    assert state.ending is Ending.SETTLED
    outcome, result, _error = state.conclude()
    assert outcome is Outcome.SUCCESS
    assert result.auth_code == "123456"


def test_fields_within_the_settle_period_still_belong_to_the_answer() -> None:
    state = sent_settling()
    state.receive(INGENICO_APPROVAL, 101.0)
    state.receive(b"CG0071234567", 101.05)
    assert state.wait_time(101.05 + SETTLE) is None
    assert state.conclude()[1].fields["CG"] == "1234567"


def test_the_settle_period_starts_only_once_the_answer_is_settled() -> None:
    # Cut right after AE: the authorisation number is still to come.
    cut = INGENICO_APPROVAL.index(b"CC003")
    state = sent_settling()
    state.receive(INGENICO_APPROVAL[:cut], 101.0)
    assert state.wait_time(101.0) == QUIET
    state.receive(INGENICO_APPROVAL[cut:], 101.2)
    assert state.wait_time(101.2) == SETTLE


@pytest.mark.parametrize(
    ("answer", "request_", "why"),
    [
        (without(INGENICO_APPROVAL, "CJ"), REQUEST, "a request tag not repeated"),
        (without(INGENICO_APPROVAL, "AC"), REQUEST, "a card approval without AC"),
        (
            INGENICO_APPROVAL + b"CK003100",
            RECEIPT_REQUEST,
            "the receipt asked for (CK) and no ZT",
        ),
        (
            without(INGENICO_APPROVAL, "AC", "CC", "CI", "AA").replace(
                b"AE00210", b"AE00201"
            ),
            REQUEST,
            "a failure without a reason (AF)",
        ),
        (
            # Red button: CB left out (fact sheet).
            without(INGENICO_APPROVAL, "CB").replace(b"AE00210", b"AE00201")
            + b"AF00211",
            REQUEST,
            "a failure without CB",
        ),
        (APPROVAL, REQUEST, "the minimal answers of other vendors"),
    ],
)
def test_an_answer_missing_something_waits_the_whole_quiet_period(
    answer: bytes, request_: PaymentRequest, why: str
) -> None:
    state = Exchange(request_, TIMEOUT, QUIET, where="T1", settle_period=SETTLE)
    state.request_sent(100.0)
    state.receive(answer, 101.0)
    assert state.wait_time(101.0) == QUIET, why
    assert state.wait_time(101.0 + SETTLE) == pytest.approx(QUIET - SETTLE), why


@pytest.mark.parametrize(
    ("answer", "request_"),
    [
        # A failure with its reason, as Ingenico answers a refusal.
        (
            without(INGENICO_APPROVAL, "AC", "CC", "CI", "AA").replace(
                b"AE00210", b"AE00201"
            )
            + b"AF00204",
            REQUEST,
        ),
        # A check approval carries no authorisation number.
        (
            without(INGENICO_APPROVAL, "AC", "AA", "CI", "CC") + b"CC00300C",
            PaymentRequest(amount=1250, currency_numeric=978, mode="check"),
        ),
        # The CF of the request is replaced, or left out: never waited for.
        (
            INGENICO_APPROVAL,
            PaymentRequest(amount=1250, currency_numeric=978, correlation_id="X1"),
        ),
        (
            INGENICO_APPROVAL + encode_fields([("CK", "100"), ("ZT", RECEIPT)]),
            RECEIPT_REQUEST,
        ),
    ],
)
def test_answers_holding_what_they_need_settle(
    answer: bytes, request_: PaymentRequest
) -> None:
    state = Exchange(request_, TIMEOUT, QUIET, where="T1", settle_period=SETTLE)
    state.request_sent(100.0)
    state.receive(answer, 101.0)
    assert state.wait_time(101.0) == SETTLE


def test_a_settle_period_longer_than_the_quiet_period_is_the_quiet_period() -> None:
    state = Exchange(REQUEST, TIMEOUT, QUIET, where="T1", settle_period=1.0)
    state.request_sent(100.0)
    state.receive(INGENICO_APPROVAL, 101.0)
    assert state.wait_time(101.0) == QUIET
    assert state.wait_time(101.0 + QUIET) is None
    assert state.ending is Ending.QUIET
