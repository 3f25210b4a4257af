"""Payment requests: typed inputs, validated, encoded with CZ first and never BF."""

from __future__ import annotations

import dataclasses

import pytest

from caisse_ap import (
    PROTOCOL_VERSIONS,
    AnswerError,
    Direction,
    PaymentMode,
    PaymentRequest,
    ProtocolError,
    RequestError,
    decode_fields,
    encode_fields,
    interpret_answer,
)


def make(**changes: object) -> PaymentRequest:
    values: dict[str, object] = {
        "amount": 1250,
        "currency_numeric": 978,
    }
    values.update(changes)
    return PaymentRequest(**values)  # type: ignore[arg-type]


def test_encodes_the_fact_sheet_example_without_cf_by_default() -> None:
    example = b"CZ0040300CJ012012345678901CA00201CB0041250CD0010CE003978"
    assert make().encode() == example


def test_cf_only_when_a_correlation_id_is_given() -> None:
    example = b"CZ0040300CJ012012345678901CA00201CB0041250CD0010CE003978"
    assert make(correlation_id="POS1-0042").encode() == example + b"CF009POS1-0042"


def test_cz_comes_first_and_bf_is_never_sent() -> None:
    for mode in PaymentMode:
        for version in PROTOCOL_VERSIONS:
            request = make(mode=mode, protocol_version=version, request_receipt=True)
            fields = request.fields()
            assert fields[0] == ("CZ", version)
            assert "BF" not in dict(fields)
            assert "BF" not in decode_fields(request.encode())


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (5, "05"),
        (1, "01"),
        (10, "10"),
        (1250, "1250"),
        (999_999_999_999, "999999999999"),
    ],
)
def test_amount_is_zero_padded_to_two_digits(amount: int, field: str) -> None:
    assert dict(make(amount=amount).fields())["CB"] == field


def test_currency_is_three_digits() -> None:
    assert dict(make(currency_numeric=36).fields())["CE"] == "036"
    assert dict(make(currency_numeric=953).fields())["CE"] == "953"


@pytest.mark.parametrize(
    ("mode", "cc"),
    [(PaymentMode.CARD, None), (PaymentMode.CHECK, "00C"), (PaymentMode.ANCV, "00V")],
)
def test_mode_sets_the_forced_application(mode: PaymentMode, cc: str | None) -> None:
    assert dict(make(mode=mode).fields()).get("CC") == cc


def test_credit_and_receipt_request() -> None:
    fields = dict(make(direction=Direction.CREDIT, request_receipt=True).fields())
    assert fields["CD"] == "1"
    assert fields["CK"] == "100"
    assert "CK" not in dict(make().fields())


def test_plain_strings_become_enum_members() -> None:
    request = make(direction="1", mode="check")
    assert request.direction is Direction.CREDIT
    assert request.mode is PaymentMode.CHECK


def test_request_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().amount = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"amount": 0}, "invalid amount"),
        ({"amount": -5}, "invalid amount"),
        ({"amount": 1_000_000_000_000}, "invalid amount"),
        ({"amount": 12.5}, "invalid amount"),
        ({"amount": True}, "invalid amount"),
        ({"amount": "1250"}, "invalid amount"),
        ({"currency_numeric": 0}, "invalid currency"),
        ({"currency_numeric": 1000}, "invalid currency"),
        ({"currency_numeric": "978"}, "invalid currency"),
        ({"correlation_id": "x" * 100}, "invalid correlation id"),
        ({"correlation_id": "a\tb"}, "printable ASCII"),
        ({"correlation_id": "réf"}, "printable ASCII"),
        ({"correlation_id": 42}, "invalid correlation id"),
        ({"pos_number": "1"}, "invalid POS number"),
        ({"pos_number": "001"}, "invalid POS number"),
        ({"pos_number": "ab"}, "invalid POS number"),
        ({"pos_number": "²1"}, "invalid POS number"),
        ({"protocol_version": "0400"}, "invalid protocol version"),
        ({"protocol_version": 300}, "invalid protocol version"),
        ({"direction": "2"}, "invalid direction"),
        ({"mode": "cash"}, "invalid payment mode"),
        ({"request_receipt": "yes"}, "request_receipt must be a bool"),
    ],
)
def test_every_input_is_validated(changes: dict, words: str) -> None:
    with pytest.raises(ProtocolError, match=words):
        make(**changes)


def test_correlation_id_of_99_printable_characters_is_fine() -> None:
    value = "".join(chr(32 + i % 95) for i in range(99))
    assert decode_fields(make(correlation_id=value).encode())["CF"] == value


def test_errors_say_whose_fault_it_is() -> None:
    """Bad local input is a RequestError; a bad answer is an AnswerError."""
    with pytest.raises(RequestError):
        make(amount=0)
    with pytest.raises(RequestError):
        encode_fields([("CA", "")])
    with pytest.raises(AnswerError):
        decode_fields(b"CA00")
    with pytest.raises(AnswerError):
        interpret_answer(make(), b"AE00210CA00202CB0041250CD0010CE003978")
    assert issubclass(RequestError, ProtocolError)
    assert issubclass(AnswerError, ProtocolError)
