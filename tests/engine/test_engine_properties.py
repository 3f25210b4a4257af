"""Property-based tests: round trips, and only ProtocolError for any input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caisse_ap import (
    NEED_DATA,
    PROTOCOL_VERSIONS,
    AnswerDecoder,
    Direction,
    PaymentMode,
    PaymentRequest,
    ProtocolError,
    Status,
    decode_fields,
    encode_fields,
    interpret_answer,
    redact_frame,
)
from caisse_ap.simulator import PROFILES, Scenario
from caisse_ap.simulator.answers import answer_fields

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,  # leave no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.too_slow],
)

TAG_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
tags = st.text(TAG_CHARS, min_size=2, max_size=2)
values = st.text(st.characters(max_codepoint=0x7F), min_size=1, max_size=999)
field_lists = st.lists(st.tuples(tags, values), max_size=12, unique_by=lambda f: f[0])

requests = st.builds(
    PaymentRequest,
    amount=st.integers(1, 999_999_999_999),
    currency_numeric=st.integers(1, 999),
    correlation_id=st.text(
        st.characters(min_codepoint=32, max_codepoint=126), max_size=99
    ),
    direction=st.sampled_from(Direction),
    pos_number=st.from_regex(r"\A[0-9]{2}\Z"),
    protocol_version=st.sampled_from(PROTOCOL_VERSIONS),
    mode=st.sampled_from(PaymentMode),
    request_receipt=st.booleans(),
)

SAMPLE_ANSWER = encode_fields(
    [
        ("CZ", "0300"),
        ("AE", "10"),
        ("CA", "01"),
        ("CB", "1250"),
        ("CD", "0"),
        ("CE", "978"),
        ("AA", "497010######1234"),
        ("AB", "2812"),
        ("AC", "123456"),
        ("CF", "1010000000"),
        ("ZT", "AK008TUVSQ0k="),
    ]
)
SAMPLE_REQUEST = PaymentRequest(amount=1250, currency_numeric=978)


@st.composite
def mutations(draw: st.DrawFn, frame: bytes = SAMPLE_ANSWER) -> bytes:
    """A valid frame with a few bytes replaced, inserted or deleted."""
    data = bytearray(frame)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.integers(0, 255))
        if action == "insert" or position == len(data):
            data.insert(position, byte)
        elif action == "replace":
            data[position] = byte
        else:
            del data[position]
    return bytes(data)


@SETTINGS
@given(field_lists.filter(bool))
def test_encode_then_decode_gives_the_fields_back(
    fields: list[tuple[str, str]],
) -> None:
    assert decode_fields(encode_fields(fields)) == dict(fields)


@SETTINGS
@given(requests)
def test_request_round_trip(request: PaymentRequest) -> None:
    decoded = decode_fields(request.encode())
    assert next(iter(decoded)) == "CZ"
    assert decoded == dict(request.fields())
    assert int(decoded["CB"]) == request.amount
    assert len(decoded["CB"]) >= 2
    assert decoded.get("CF", "") == request.correlation_id
    assert "BF" not in decoded


@SETTINGS
@given(st.binary(max_size=300))
def test_decode_arbitrary_bytes_raises_only_protocol_error(data: bytes) -> None:
    try:
        decode_fields(data)
    except ProtocolError:
        pass


@SETTINGS
@given(mutations())
def test_decode_mutated_frames_raises_only_protocol_error(data: bytes) -> None:
    try:
        decode_fields(data)
    except ProtocolError:
        pass


@SETTINGS
@given(st.one_of(mutations(), st.binary(max_size=200)))
def test_interpret_anything_raises_only_protocol_error(data: bytes) -> None:
    try:
        result = interpret_answer(SAMPLE_REQUEST, data)
    except ProtocolError:
        return
    assert len(result.fields.get("AA", "")) <= 4
    assert "AB" not in result.fields


@SETTINGS
@given(st.data())
def test_decoder_gives_the_same_answer_whatever_the_chunks(data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(SAMPLE_ANSWER)), max_size=10)))
    decoder = AnswerDecoder()
    start = 0
    for cut in [*cuts, len(SAMPLE_ANSWER)]:
        if cut > start:  # b"" would mean "peer closed"
            decoder.receive_data(SAMPLE_ANSWER[start:cut])
        start = cut
    decoder.receive_data(b"")
    event = decoder.next_event()
    assert event.frame == SAMPLE_ANSWER
    assert event.fields == decode_fields(SAMPLE_ANSWER)


@SETTINGS
@given(st.lists(st.one_of(st.binary(max_size=40), mutations()), max_size=6))
def test_decoder_on_arbitrary_chunks_raises_only_protocol_error(
    chunks: list[bytes],
) -> None:
    decoder = AnswerDecoder(max_size=400)
    try:
        for chunk in [*chunks, b""]:
            decoder.receive_data(chunk)
            event = decoder.next_event()
            assert event is NEED_DATA or decoder.complete
    except ProtocolError:
        pass


@SETTINGS
@given(st.one_of(st.binary(max_size=300), mutations()))
def test_redact_never_raises(data: bytes) -> None:
    text = redact_frame(data)
    assert text.isascii()
    assert text.isprintable()


@SETTINGS
@given(
    field_lists,
    st.from_regex(r"\A[0-9]{12,19}\Z"),
    st.from_regex(r"\A[0-9]{4}\Z"),
    st.binary(max_size=20),
)
def test_redacted_frames_never_show_the_card(
    fields: list[tuple[str, str]], card: str, expiry: str, junk: bytes
) -> None:
    others = [(tag, value) for tag, value in fields if tag not in ("AA", "AB")]
    frame = encode_fields([*others, ("AA", card), ("AB", expiry)])
    for data in (frame, junk + frame, frame[: len(frame) - 1]):
        text = redact_frame(data)
        assert card not in text
        assert f"AB004{expiry}" not in text


@SETTINGS
@given(
    requests,
    st.sampled_from(["approve", "decline", "red_button", "partial", "accepted"]),
    st.sampled_from(sorted(PROFILES)),
)
def test_simulated_answers_are_understood(
    request: PaymentRequest, kind: str, profile: str
) -> None:
    """The simulator and the codec agree, for any valid request and profile."""
    fields = answer_fields(
        dict(request.fields()),
        Scenario(kind=kind, receipt="Merci"),
        PROFILES[profile],
    )
    result = interpret_answer(request, encode_fields(fields))
    expected = {
        "approve": Status.SUCCESS,
        "partial": Status.SUCCESS,
        "accepted": Status.ACCEPTED,
    }.get(kind, Status.FAILURE)
    assert result.status is expected
    if kind == "partial":
        assert result.authorised_amount == max(1, request.amount // 2)
        assert result.partial is (request.amount > 1)
    if kind == "approve":
        assert result.receipt_text == "Merci"


@SETTINGS
@given(
    st.sampled_from(["approve", "decline", "split", "wrong_echo"]),
    st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3)),
    st.integers(1, 20),
    st.sampled_from(["CA", "CB", "CD", "CE"]),
    st.booleans(),
)
def test_scenario_spec_round_trip(
    kind: str, delay: float, segments: int, echo: str, keep_open: bool
) -> None:
    scenario = Scenario(
        kind=kind, delay=delay, segments=segments, echo_tag=echo, keep_open=keep_open
    )
    assert Scenario.parse(scenario.to_spec()) == scenario


@SETTINGS
@given(
    requests,
    st.sampled_from(["CA", "CB", "CD", "CE"]),
    st.sampled_from(sorted(PROFILES)),
)
def test_simulated_wrong_echo_is_always_caught(
    request: PaymentRequest, tag: str, profile: str
) -> None:
    fields = dict(
        answer_fields(
            dict(request.fields()),
            Scenario("wrong_echo", echo_tag=tag),
            PROFILES[profile],
        )
    )
    assert fields[tag] != dict(request.fields())[tag]
    try:
        interpret_answer(request, encode_fields(fields.items()))
    except ProtocolError as error:
        assert tag in str(error)
    else:
        raise AssertionError(f"a wrong {tag} was accepted")
