"""Redaction: AA cut to its last 4 digits, AB removed, whatever the bytes."""

from __future__ import annotations

from caisse_ap import encode_fields, redact_frame
from caisse_ap.redact import card_last4, redact_fields, redact_frame_bytes

FRAME = encode_fields(
    [("AE", "10"), ("AA", "497010######1234"), ("AB", "2812"), ("AC", "123456")]
)


def test_valid_frame() -> None:
    assert redact_frame(FRAME) == "AE00210AA0041234AC006123456"
    assert redact_frame_bytes(FRAME) == b"AE00210AA0041234AC006123456"


def test_fields() -> None:
    fields = {"AE": "10", "AA": "497010######1234", "AB": "2812"}
    assert redact_fields(fields) == {"AE": "10", "AA": "1234"}
    assert redact_fields({"AA": "############"}) == {}


def test_card_last4() -> None:
    assert card_last4("497010######1234") == "1234"
    assert card_last4("4970101234561234") == "1234"
    assert card_last4("1234567890XX") == ""
    assert card_last4("") == ""


def test_broken_frame_is_redacted_as_far_as_possible() -> None:
    broken = b"AE00210?? AA016497010######1234AB0042812 tail 4970101234567890123"
    text = redact_frame(broken)
    assert text.startswith("AE00210?? AA0041234")
    assert "497010" not in text
    assert "2812" not in text
    assert "4970101234567890123" not in text
    assert text.endswith("###############0123")


def test_cut_sensitive_value_at_the_end() -> None:
    text = redact_frame(b"AE00210xAA016497010####")
    assert "497010" not in text


def test_control_and_non_ascii_bytes_are_escaped() -> None:
    assert redact_frame(b"OK\r\n\xff") == "OK\\x0d\\x0a\\xff"


def test_limit() -> None:
    text = redact_frame(b"AE00210" + b"ZZ999" + b"X" * 999, limit=10)
    assert text == "AE00210ZZ9... (1011 bytes)"
