"""Frame layer: TAG + 3-digit LEN + VALUE, ASCII only."""

from __future__ import annotations

import pytest

from caisse_ap import ProtocolError, decode_fields, encode_fields

EXAMPLE = b"CZ0040300CJ012012345678901CA00201CB0041250CD0010CE003978"


def test_decode_example_from_the_fact_sheet() -> None:
    assert decode_fields(EXAMPLE) == {
        "CZ": "0300",
        "CJ": "012345678901",
        "CA": "01",
        "CB": "1250",
        "CD": "0",
        "CE": "978",
    }


def test_decode_keeps_the_order_of_the_frame() -> None:
    assert list(decode_fields(b"AE00210CA00201")) == ["AE", "CA"]


def test_decode_accepts_bytearray_and_memoryview() -> None:
    assert decode_fields(bytearray(EXAMPLE)) == decode_fields(memoryview(EXAMPLE))


def test_decode_rejects_str_as_a_programming_error() -> None:
    with pytest.raises(TypeError):
        decode_fields(EXAMPLE.decode())  # type: ignore[arg-type]


def test_decode_tolerates_a_zero_length_value() -> None:
    assert decode_fields(b"AE00210AI000CA00201") == {"AE": "10", "AI": "", "CA": "01"}


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        (b"", 0, "empty"),
        (b"CZ0a40300", 3, "length digit"),
        (b"CZ 040300", 2, "length digit"),
        (b"CZ+04030", 2, "length digit"),
        (b"CZ0100300", 0, "declares 10 bytes but only 4"),
        (b"AE00210CB0041", 7, "declares 4 bytes but only 1"),
        (b"CZ004030\xe9", 8, "non-ASCII byte 0xe9"),
        (b"CZ0040300CZ0040310", 9, "duplicate tag CZ"),
        (b"cz0040300", 0, "bad tag character 'c'"),
        (b"C-0040300", 1, "bad tag character '-'"),
        (b"AE00210C", 7, "truncated field header"),
        (b"AE00210CA0", 7, "truncated field header"),
    ],
)
def test_decode_errors_say_what_and_where(data: bytes, offset: int, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_fields(data)
    assert caught.value.offset == offset
    assert words in str(caught.value)
    assert f"at byte {offset}" in str(caught.value)


def test_protocol_error_is_a_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)


def test_encode_keeps_order_and_counts_lengths() -> None:
    assert encode_fields([("CZ", "0300"), ("CA", "01")]) == b"CZ0040300CA00201"


def test_encode_accepts_a_mapping() -> None:
    assert encode_fields({"AE": "10", "CA": "01"}) == b"AE00210CA00201"


def test_encode_value_of_999_characters() -> None:
    frame = encode_fields([("ZT", "A" * 999)])
    assert frame.startswith(b"ZT999A")
    assert decode_fields(frame) == {"ZT": "A" * 999}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ([("cz", "0300")], "invalid tag"),
        ([("C", "0300")], "invalid tag"),
        ([("CZZ", "0300")], "invalid tag"),
        ([("C_", "0300")], "invalid tag"),
        ([(12, "0300")], "invalid tag"),
        ([("CZ", "")], "0 characters"),
        ([("CZ", "A" * 1000)], "1000 characters"),
        ([("CF", "café")], "non-ASCII character 'é' at position 3"),
        ([("CB", 1250)], "must be a str"),
        ([("CA", "01"), ("CA", "02")], "duplicate tag CA"),
        ([], "nothing to encode"),
    ],
)
def test_encode_validates_every_value(fields: list, words: str) -> None:
    with pytest.raises(ProtocolError, match=words):
        encode_fields(fields)
