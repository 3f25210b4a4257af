"""Interpretation of an answer against its request."""

from __future__ import annotations

import base64
import json

import pytest

from caisse_ap import (
    PaymentMode,
    PaymentRequest,
    ProtocolError,
    Status,
    encode_fields,
    encode_receipt,
    interpret_answer,
)

REQUEST = PaymentRequest(amount=1250, currency_numeric=978)
CARD = "497010######1234"


def answer(**changes: str | None) -> bytes:
    """A successful answer to REQUEST; a change to None removes the tag."""
    fields: dict[str, str | None] = {
        "CZ": "0300",
        "AE": "10",
        "CA": "01",
        "CB": "1250",
        "CD": "0",
        "CE": "978",
        "CC": "00B",
        "CI": "2",
        "AA": CARD,
        "AB": "2812",
        "AC": "A1B2C3",
        "CF": "1010000000",  # Ingenico's private data on approvals
    }
    fields.update(changes)
    return encode_fields(
        [(tag, value) for tag, value in fields.items() if value is not None]
    )


def test_success_carries_what_the_cashier_needs() -> None:
    result = interpret_answer(REQUEST, answer())
    assert result.status is Status.SUCCESS
    assert result.requested_amount == 1250
    assert result.authorised_amount == 1250
    assert result.partial is False
    assert result.auth_code == "A1B2C3"
    assert result.card_last4 == "1234"
    assert (result.application_code, result.application_label) == (
        "00B",
        "CB (contactless)",
    )
    assert (result.read_mode_code, result.read_mode_label) == ("2", "Contactless")
    assert result.failure_code == result.failure_detail == result.failure_label == ""
    assert result.receipt_text == ""
    assert result.request_frame == REQUEST.encode()


def test_card_data_never_reaches_the_result() -> None:
    result = interpret_answer(REQUEST, answer())
    stored = json.dumps(result.as_dict())
    assert CARD not in stored
    assert "497010" not in stored
    assert "2812" not in stored
    assert result.fields["AA"] == "1234"
    assert "AB" not in result.fields
    assert b"AB004" not in result.answer_frame
    assert b"AA0041234" in result.answer_frame
    assert CARD not in repr(result)


def test_amount_equal_after_stripping_leading_zeros() -> None:
    result = interpret_answer(REQUEST, answer(CB="000001250"))
    assert (result.authorised_amount, result.partial) == (1250, False)


def test_lower_amount_is_a_partial_authorisation() -> None:
    result = interpret_answer(REQUEST, answer(CB="0600"))
    assert result.status is Status.SUCCESS
    assert (result.authorised_amount, result.partial) == (600, True)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"CB": "1251"}, "more than the 1250 requested"),
        ({"CB": None}, "no amount"),
        ({"CB": "12.50"}, "not a number"),
        ({"CB": "00"}, "amount of 0"),
        ({"CA": "02"}, "answer CA is '02', request had '01'"),
        ({"CA": None}, "does not echo CA"),
        ({"CD": "1"}, "answer CD is '1'"),
        ({"CD": None}, "does not echo CD"),
        ({"CE": "840"}, "answer CE is '840'"),
        ({"CE": "97"}, "answer CE is '97'"),
        ({"CE": None}, "does not echo CE"),
        ({"AE": None}, "no status"),
        ({"AE": "00"}, "unknown status AE='00'"),
        ({"AE": "1"}, "unknown status"),
    ],
)
def test_success_rules_violations_are_protocol_errors(
    changes: dict, words: str
) -> None:
    with pytest.raises(ProtocolError, match=words):
        interpret_answer(REQUEST, answer(**changes))


def test_undecodable_answer_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="bad length digit"):
        interpret_answer(REQUEST, b"HTTP/1.1 200 OK")


def test_failure_keeps_the_reason_and_its_details() -> None:
    result = interpret_answer(REQUEST, answer(AE="01", AF="05ABC123", AC=None))
    assert result.status is Status.FAILURE
    assert result.failure_code == "05"
    assert result.failure_detail == "ABC123"
    assert result.failure_label == "Forbidden"
    assert result.authorised_amount is None
    assert result.partial is False


def test_red_button_without_amount_is_a_failure_not_an_error() -> None:
    frame = answer(
        AE="01", AF="11", CB=None, CC=None, CI=None, AA=None, AB=None, AC=None
    )
    result = interpret_answer(REQUEST, frame)
    assert result.status is Status.FAILURE
    assert (result.failure_code, result.failure_label) == (
        "11",
        "Cancelled by the operator",
    )
    assert result.card_last4 == ""


def test_failure_without_reason() -> None:
    result = interpret_answer(REQUEST, b"AE00201")
    assert result.status is Status.FAILURE
    assert result.failure_code == ""
    assert result.failure_label == "No reason given"


def test_failure_echoes_are_not_checked() -> None:
    assert (
        interpret_answer(REQUEST, answer(AE="01", AF="04", CA="07")).failure_code
        == "04"
    )


@pytest.mark.parametrize("status", ["10", "01", "11"])
@pytest.mark.parametrize("private_data", [None, "1010000000", "POS1-0042", "X"])
@pytest.mark.parametrize("correlation_id", ["", "POS1-0042"])
def test_cf_never_decides_the_outcome(
    status: str, private_data: str | None, correlation_id: str
) -> None:
    """CF is the terminal's private data: sent or not, the answer's CF (missing,
    equal or different) changes nothing but the journal."""
    request = PaymentRequest(
        amount=1250, currency_numeric=978, correlation_id=correlation_id
    )
    result = interpret_answer(request, answer(AE=status, CF=private_data))
    assert (
        result.status.value
        == {"10": "success", "01": "failure", "11": "accepted"}[status]
    )
    assert result.private_data == (private_data or "")
    assert result.fields.get("CF") == private_data
    if private_data:
        assert f"CF{len(private_data):03d}{private_data}".encode() in (
            result.answer_frame
        )


def test_accepted_for_later() -> None:
    result = interpret_answer(REQUEST, answer(AE="11", AA=None, AC=None))
    assert result.status is Status.ACCEPTED
    assert result.authorised_amount is None


def test_check_payment_answer() -> None:
    request = PaymentRequest(amount=3000, currency_numeric=978, mode=PaymentMode.CHECK)
    frame = encode_fields(
        [
            ("AE", "10"),
            ("CA", "01"),
            ("CB", "3000"),
            ("CD", "0"),
            ("CE", "978"),
            ("CC", "00C"),
        ]
    )
    result = interpret_answer(request, frame)
    assert (result.application_code, result.application_label) == ("00C", "Check")
    assert result.card_last4 == ""


def test_receipt_in_zt_ak_is_decoded() -> None:
    text = "CARTE BANCAIRE\r\nMONTANT 12,50 EUR\r\nMerci, à bientôt"
    result = interpret_answer(REQUEST, answer(ZT=encode_receipt(text)))
    assert result.receipt_text == text.replace("\r\n", "\n")


def test_receipt_in_latin1_and_at_top_level() -> None:
    blob = base64.b64encode("Reçu".encode("latin-1")).decode()
    assert interpret_answer(REQUEST, answer(AK=blob)).receipt_text == "Reçu"


@pytest.mark.parametrize("zt", ["AK004!!!!", "XX00212", "not a frame", "AK000"])
def test_unreadable_receipt_does_not_break_the_payment(zt: str) -> None:
    result = interpret_answer(REQUEST, answer(ZT=zt))
    assert result.status is Status.SUCCESS
    assert result.receipt_text == ""


def test_control_characters_are_escaped_in_every_value() -> None:
    """A NUL would make PostgreSQL refuse the journal: escaped, never lost."""
    result = interpret_answer(
        REQUEST, answer(AC="12\x0034", CC="0\n1", ZT=encode_receipt("A\x00B\nC"))
    )
    assert result.status is Status.SUCCESS
    assert result.auth_code == "12\\x0034"
    assert result.application_code == "0\\x0a1"
    assert result.receipt_text == "A\\x00B\nC"  # line ends stay
    assert b"\x00" not in result.answer_frame
    assert all(value.isprintable() for value in result.fields.values())


def test_unknown_codes_get_readable_labels() -> None:
    result = interpret_answer(REQUEST, answer(CC="0ZZ", CI="9"))
    assert result.application_label == "Unknown application (0ZZ)"
    assert result.read_mode_label == "Unknown read mode (9)"


def test_as_dict_is_json_safe() -> None:
    data = json.loads(json.dumps(interpret_answer(REQUEST, answer()).as_dict()))
    assert data["status"] == "success"
    assert data["request_frame"] == REQUEST.encode().decode()
    assert data["fields"]["AC"] == "A1B2C3"
