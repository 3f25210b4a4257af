"""AnswerDecoder: bytes in as they come, NEED_DATA until a whole answer is there."""

from __future__ import annotations

import pytest

from caisse_ap import NEED_DATA, Answer, AnswerDecoder, ProtocolError

ANSWER = b"AE00210CA00201CB0041250CD0010CE003978AA016497010######1234AB0042812"


def test_byte_by_byte_becomes_complete_at_whole_fields_only() -> None:
    decoder = AnswerDecoder()
    complete_at = []
    for index in range(len(ANSWER)):
        decoder.receive_data(ANSWER[index : index + 1])
        if decoder.complete:
            complete_at.append(index + 1)
        else:
            assert decoder.next_event() is NEED_DATA
    # After AE and after every following field.
    assert complete_at == [7, 14, 23, 29, 37, 58, 67]
    event = decoder.next_event()
    assert isinstance(event, Answer)
    assert event.frame == ANSWER
    assert event.fields["CB"] == "1250"


def test_complete_needs_ae() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(b"CA00201CB0041250")
    assert not decoder.complete
    assert decoder.next_event() is NEED_DATA
    decoder.receive_data(b"AE00201")
    assert decoder.complete


def test_answer_is_not_consumed_and_grows_with_more_data() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(b"AE00201")
    assert decoder.next_event().fields == {"AE": "01"}
    decoder.receive_data(b"AF00204")
    assert decoder.next_event().fields == {"AE": "01", "AF": "04"}
    assert decoder.buffer == b"AE00201AF00204"


def test_peer_close_after_a_whole_answer() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(b"AE00201")
    decoder.receive_data(b"")
    assert decoder.closed
    assert decoder.next_event().fields == {"AE": "01"}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "without sending anything"),
        (b"AE00210CB004125", "peer closed mid-field: value of tag CB declares 4"),
        (b"AE00210C", "peer closed mid-field: truncated field header"),
        (b"CA00201", "no AE field"),
    ],
)
def test_peer_close_with_no_whole_answer(data: bytes, words: str) -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(data)
    decoder.receive_data(b"")
    with pytest.raises(ProtocolError, match=words):
        decoder.next_event()


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"-", 0),
        (b"H", None),
        (b"AE0", None),
        (b"CA00201x", 7),
        (b"AE00x", 4),
        (b"CA00201\x80", 7),
    ],
)
def test_garbage_fails_as_soon_as_it_cannot_become_an_answer(
    data: bytes, offset: int | None
) -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(data)
    if offset is None:
        assert decoder.next_event() is NEED_DATA
        return
    with pytest.raises(ProtocolError) as caught:
        decoder.next_event()
    assert caught.value.offset == offset
    with pytest.raises(ProtocolError):  # the error sticks
        decoder.next_event()


def test_lowercase_first_byte_is_rejected_at_once() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(b"h")
    with pytest.raises(ProtocolError, match="bad tag character 'h'"):
        decoder.next_event()


def test_duplicate_tag_is_rejected() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(b"CA00201CA")
    with pytest.raises(ProtocolError, match="duplicate tag CA"):
        decoder.next_event()


@pytest.mark.parametrize(
    "trailing",
    [
        b"\r\n",
        b"\x00" * 16,
        b"\x80\xff",
        b"Z\x00",
        ANSWER,  # a second frame (duplicate tags)
        b"\n" + ANSWER,
    ],
)
@pytest.mark.parametrize("split", [False, True])
def test_bytes_after_a_complete_answer_end_it(trailing: bytes, split: bool) -> None:
    """The first complete answer counts; what follows is kept apart for the log."""
    decoder = AnswerDecoder()
    if split:
        decoder.receive_data(ANSWER)
        for byte in trailing:
            decoder.receive_data(bytes([byte]))
    else:
        decoder.receive_data(ANSWER + trailing)
    event = decoder.next_event()
    assert isinstance(event, Answer)
    assert event.frame == ANSWER
    assert decoder.buffer == ANSWER
    assert decoder.trailing == trailing
    assert decoder.trailing_size == len(trailing)
    decoder.receive_data(b"more")  # still ignored
    assert decoder.next_event().frame == ANSWER


def test_trailing_bytes_kept_are_capped() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(ANSWER + b"\x00" * 5000)
    assert decoder.next_event().frame == ANSWER
    assert (len(decoder.trailing), decoder.trailing_size) == (1024, 5000)


def test_size_cap() -> None:
    decoder = AnswerDecoder(max_size=20)
    decoder.receive_data(b"AE00210ZZ010" + b"X" * 10)
    with pytest.raises(ProtocolError, match="larger than 20 bytes"):
        decoder.next_event()


def test_default_cap_is_64_kib() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(b"AE00210")
    tags = [a + b for a in "XY" for b in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    for tag in tags[:65]:  # 7 + 65 * 1004 = 65267 bytes: still fine
        decoder.receive_data(tag.encode() + b"999" + b"9" * 999)
    assert decoder.complete
    decoder.receive_data(tags[65].encode() + b"999" + b"9" * 999)
    with pytest.raises(ProtocolError, match="larger than 65536 bytes"):
        decoder.next_event()


def test_data_after_close_is_an_error() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(b"AE00210")
    decoder.receive_data(b"")
    decoder.receive_data(b"CA00201")
    with pytest.raises(ProtocolError, match="after the end"):
        decoder.next_event()


def test_answer_repr_hides_card_data() -> None:
    decoder = AnswerDecoder()
    decoder.receive_data(ANSWER)
    text = repr(decoder.next_event())
    assert "497010" not in text
    assert "2812" not in text
    assert "AA0041234" in text
