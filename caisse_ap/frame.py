"""Caisse-AP frame layer: ``TAG`` (2 chars) + ``LEN`` (3 digits) + ``VALUE``.

Sans-I/O: bytes in, fields out. Every problem is reported as a
:class:`ProtocolError` that names the byte offset, so that a journal entry
is enough to understand what a terminal sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TAG_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_DIGITS = frozenset("0123456789")
HEADER_SIZE = 5  # 2 tag characters + 3 length digits
# Every valid tag (36 x 36) and length field ("000" to "999"): one lookup
# checks a whole header part.
_TAGS = frozenset(a + b for a in TAG_ALPHABET for b in TAG_ALPHABET)
_LENGTHS = {f"{length:03d}": length for length in range(1000)}
MAX_VALUE_LENGTH = 999


class ProtocolError(ValueError):
    """Bytes or values that do not follow the Caisse-AP rules.

    ``offset`` is the byte position of the problem when it is known.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.reason = message
        self.offset = offset
        text = message if offset is None else f"{message} (at byte {offset})"
        super().__init__(text)


class RequestError(ProtocolError):
    """Local input the engine cannot send (a bad setting or a bug on our side)."""


class AnswerError(ProtocolError):
    """Bytes received that break the rules: the terminal's fault, not ours.

    (The simulator uses it for the requests it receives.)
    """


def first_non_ascii(data: bytes) -> int:
    """Offset of the first byte above 0x7F, or -1 when the data is ASCII."""
    if data.isascii():
        return -1
    return next(i for i, byte in enumerate(data) if byte > 0x7F)


def _check_header(text: str, pos: int, fields: dict[str, str]) -> None:
    """Raise for the first bad character of the (maybe partial) header at ``pos``."""
    header = text[pos : pos + HEADER_SIZE]
    for index, char in enumerate(header[:2]):
        if char not in TAG_ALPHABET:
            raise AnswerError(
                f"bad tag character {char!r} (tags are 2 of A-Z/0-9)", pos + index
            )
    tag = header[:2]
    if len(tag) == 2 and tag in fields:
        raise AnswerError(f"duplicate tag {tag}", pos)
    for index, char in enumerate(header[2:]):
        if char not in _DIGITS:
            raise AnswerError(
                f"bad length digit {char!r} for tag {tag} (3 decimal digits expected)",
                pos + 2 + index,
            )


def scan_fields(text: str, pos: int, fields: dict[str, str]) -> int:
    """Parse whole fields of ``text`` from ``pos`` into ``fields``.

    Returns the offset where parsing stopped: ``len(text)`` when everything
    was consumed, otherwise the start of an incomplete trailing field. A
    header is checked as far as it goes so that garbage fails on its first
    byte instead of waiting for more data that cannot repair it.
    """
    end_of_text = len(text)
    # The hot path of every answer: two lookups check a header, no regex;
    # locals rather than globals inside the loop.
    lengths, tags = _LENGTHS, _TAGS
    while pos < end_of_text:
        value_start = pos + 5  # HEADER_SIZE
        tag = text[pos : pos + 2]
        length = lengths.get(text[pos + 2 : value_start])
        if length is None or tag not in tags:
            _check_header(text, pos, fields)
            return pos  # a header cut short, valid so far
        if tag in fields:
            raise AnswerError(f"duplicate tag {tag}", pos)
        value_end = value_start + length
        if value_end > end_of_text:
            return pos
        fields[tag] = text[value_start:value_end]
        pos = value_end
    return pos


def describe_incomplete(text: str, pos: int) -> AnswerError:
    """Explain why the field starting at ``pos`` is incomplete."""
    header = text[pos : pos + HEADER_SIZE]
    if len(header) < HEADER_SIZE:
        return AnswerError(
            f"truncated field header {header!r}: "
            f"{HEADER_SIZE} bytes needed, {len(header)} left",
            pos,
        )
    length = int(header[2:])
    left = len(text) - pos - HEADER_SIZE
    return AnswerError(
        f"value of tag {header[:2]} declares {length} bytes but only {left} are left",
        pos,
    )


def decode_fields(data: bytes) -> dict[str, str]:
    """Decode a whole frame into an insertion-ordered ``{tag: value}`` dict.

    Zero-length values are tolerated on input (the sender should have left
    the tag out); anything else that breaks the frame rules raises
    :class:`ProtocolError`.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_fields() needs bytes, not {type(data).__name__}")
    raw = data if type(data) is bytes else bytes(data)
    if not raw:
        raise AnswerError("empty input", 0)
    bad = first_non_ascii(raw)
    if bad >= 0:
        raise AnswerError(f"non-ASCII byte 0x{raw[bad]:02x}", bad)
    text = raw.decode("ascii")
    fields: dict[str, str] = {}
    pos = scan_fields(text, 0, fields)
    if pos != len(text):
        raise describe_incomplete(text, pos)
    return fields


def check_tag(tag: object) -> str:
    if not isinstance(tag, str) or len(tag) != 2 or not set(tag) <= TAG_ALPHABET:
        raise RequestError(f"invalid tag {tag!r}: 2 characters of A-Z/0-9 expected")
    return tag


def check_value(tag: str, value: object) -> str:
    if not isinstance(value, str):
        raise RequestError(f"value of {tag} must be a str, not {type(value).__name__}")
    if not 1 <= len(value) <= MAX_VALUE_LENGTH:
        raise RequestError(
            f"value of {tag} has {len(value)} characters; "
            f"1 to {MAX_VALUE_LENGTH} allowed"
        )
    if not value.isascii():
        position = next(i for i, char in enumerate(value) if ord(char) > 0x7F)
        raise RequestError(
            f"value of {tag} has a non-ASCII character {value[position]!r} "
            f"at position {position}"
        )
    return value


def encode_field(tag: str, value: str) -> str:
    return f"{tag}{len(value):03d}{value}"


def encode_unchecked(fields: Mapping[str, str]) -> bytes:
    """Encode fields that came out of :func:`decode_fields` (already valid)."""
    return "".join(encode_field(tag, value) for tag, value in fields.items()).encode(
        "ascii"
    )


def encode_fields(fields: Iterable[tuple[str, str]] | Mapping[str, str]) -> bytes:
    """Encode ``(tag, value)`` pairs in the given order, validating each one."""
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    seen: set[str] = set()
    parts: list[str] = []
    for tag, value in pairs:
        check_tag(tag)
        check_value(tag, value)
        if tag in seen:
            raise RequestError(f"duplicate tag {tag}")
        seen.add(tag)
        parts.append(encode_field(tag, value))
    if not parts:
        raise RequestError("nothing to encode: at least one field is needed")
    return "".join(parts).encode("ascii")
