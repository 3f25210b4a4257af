"""Incremental frame decoder, in the style of h11: feed bytes, poll events.

Caisse-AP has no length header and no end marker. The decoder only says
whether the bytes received so far form a whole number of fields holding the
tags a message needs (:attr:`FrameDecoder.complete`); deciding when to stop
reading (quiet period, peer close, deadline) is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from .frame import (
    HEADER_SIZE,
    AnswerError,
    describe_incomplete,
    first_non_ascii,
    scan_fields,
)
from .redact import redact_frame

MAX_ANSWER_SIZE = 64 * 1024


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA = _Sentinel("NEED_DATA")


@dataclass(frozen=True, repr=False)
class Frame:
    """A complete message: its fields and the exact bytes it came from."""

    fields: dict[str, str] = field(default_factory=dict)
    frame: bytes = b""

    def __repr__(self) -> str:
        # Never let a debug print show card data.
        return f"{type(self).__name__}({redact_frame(self.frame)!r})"


@dataclass(frozen=True, repr=False)
class Answer(Frame):
    """A complete answer from the terminal."""


# Bytes kept (for the journal) after a complete message; the rest is counted.
MAX_TRAILING = 1024


class FrameDecoder:
    """Accumulates bytes of one message; see :class:`AnswerDecoder`.

    Bytes that cannot continue a message that was already complete (CR/LF,
    NUL padding, a second frame) end it: the first complete message counts
    and the rest is kept apart in :attr:`trailing`, for the log.
    """

    event_type: type[Frame] = Frame

    def __init__(
        self, required_tags: tuple[str, ...], max_size: int = MAX_ANSWER_SIZE
    ) -> None:
        self._required = required_tags
        self._max_size = max_size
        self._buffer = bytearray()
        self._text = ""
        self._pos = 0
        self._fields: dict[str, str] = {}
        self._error: AnswerError | None = None
        self._closed = False
        self._trailing = bytearray()
        self._trailing_size = 0

    # Read-only views: the message's bytes (without the trailing ones), the
    # bytes received after it (at most MAX_TRAILING) and how many there were.
    buffer = property(lambda self: bytes(self._buffer))
    trailing = property(lambda self: bytes(self._trailing))
    trailing_size = property(lambda self: self._trailing_size)
    # The whole fields decoded so far (not a copy: read it, do not keep it).
    fields = property(lambda self: MappingProxyType(self._fields))

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def complete(self) -> bool:
        """True when the buffer is a whole number of fields with the required tags."""
        return (
            self._error is None
            and bool(self._text)
            and self._pos == len(self._text)
            and all(tag in self._fields for tag in self._required)
        )

    def receive_data(self, data: bytes) -> None:
        """Feed bytes; ``b""`` means the peer closed. Errors surface in next_event()."""
        if self._error is not None:
            return
        chunk = bytes(data)
        if not chunk:
            self._closed = True
            return
        if self._closed:
            self._error = AnswerError(
                "data received after the end of the stream", len(self._buffer)
            )
            return
        if self._trailing_size:
            self._keep_trailing(chunk)
            return
        start = len(self._buffer)
        self._buffer += chunk
        if len(self._buffer) > self._max_size:
            self._error = AnswerError(
                f"message larger than {self._max_size} bytes", self._max_size
            )
            return
        bad = first_non_ascii(chunk)
        self._text += (chunk if bad < 0 else chunk[:bad]).decode("ascii")
        try:
            # Incremental: only the part after the last whole field is scanned.
            self._pos = scan_fields(self._text, self._pos, self._fields)
        except AnswerError as error:
            self._end_message_or_fail(error)
            return
        if bad >= 0:
            self._end_message_or_fail(
                AnswerError(f"non-ASCII byte 0x{chunk[bad]:02x}", start + bad)
            )

    def _end_message_or_fail(self, error: AnswerError) -> None:
        """Bad bytes: after whole fields holding the required tags they only
        end the message; anywhere else they break it."""
        # scan_fields() stores whole fields only, from the start of the text.
        end = sum(HEADER_SIZE + len(value) for value in self._fields.values())
        if not self._fields or any(tag not in self._fields for tag in self._required):
            self._error = error
            return
        rest = bytes(self._buffer[end:])
        del self._buffer[end:]
        self._text = self._text[:end]
        self._pos = end
        self._keep_trailing(rest)

    def _keep_trailing(self, chunk: bytes) -> None:
        room = MAX_TRAILING - len(self._trailing)
        self._trailing += chunk[: max(room, 0)]
        self._trailing_size += len(chunk)

    def next_event(self) -> object:
        """``NEED_DATA``, or the message (the buffer is not consumed), or raise.

        Raises :class:`AnswerError` as soon as the bytes cannot become a
        valid message, and at peer close when they are not one.
        """
        if self._error is not None:
            raise self._error
        if self.complete:
            return self.event_type(dict(self._fields), bytes(self._buffer))
        if not self._closed:
            return NEED_DATA
        if not self._buffer:
            raise AnswerError("peer closed without sending anything", 0)
        if self._pos != len(self._text):
            error = describe_incomplete(self._text, self._pos)
            raise AnswerError(f"peer closed mid-field: {error.reason}", error.offset)
        missing = ", ".join(tag for tag in self._required if tag not in self._fields)
        raise AnswerError(f"message has no {missing} field", len(self._buffer))


class AnswerDecoder(FrameDecoder):
    """Decoder for a terminal answer: complete once whole fields include AE."""

    event_type = Answer

    def __init__(self, max_size: int = MAX_ANSWER_SIZE) -> None:
        super().__init__(("AE",), max_size)
