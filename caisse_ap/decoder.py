"""Incremental frame decoder, in the style of h11: feed bytes, poll events.

Caisse-AP has no length header and no end marker. The decoder only says
whether the bytes received so far form a whole number of fields holding the
tags a message needs (:attr:`FrameDecoder.complete`); deciding when to stop
reading (quiet period, peer close, deadline) is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .frame import ProtocolError, describe_incomplete, first_non_ascii, scan_fields
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


class FrameDecoder:
    """Accumulates bytes of one message; see :class:`AnswerDecoder`."""

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
        self._error: ProtocolError | None = None
        self._closed = False

    @property
    def buffer(self) -> bytes:
        return bytes(self._buffer)

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
            self._error = ProtocolError(
                "data received after the end of the stream", len(self._buffer)
            )
            return
        start = len(self._buffer)
        self._buffer += chunk
        if len(self._buffer) > self._max_size:
            self._error = ProtocolError(
                f"message larger than {self._max_size} bytes", self._max_size
            )
            return
        bad = first_non_ascii(chunk)
        if bad >= 0:
            self._error = ProtocolError(
                f"non-ASCII byte 0x{chunk[bad]:02x}", start + bad
            )
            return
        self._text += chunk.decode("ascii")
        try:
            # Incremental: only the part after the last whole field is scanned.
            self._pos = scan_fields(self._text, self._pos, self._fields)
        except ProtocolError as error:
            self._error = error

    def next_event(self) -> object:
        """``NEED_DATA``, or the message (the buffer is not consumed), or raise.

        Raises :class:`ProtocolError` as soon as the bytes cannot become a
        valid message, and at peer close when they are not one.
        """
        if self._error is not None:
            raise self._error
        if self.complete:
            return self.event_type(dict(self._fields), bytes(self._buffer))
        if not self._closed:
            return NEED_DATA
        if not self._buffer:
            raise ProtocolError("peer closed without sending anything", 0)
        if self._pos != len(self._text):
            error = describe_incomplete(self._text, self._pos)
            raise ProtocolError(f"peer closed mid-field: {error.reason}", error.offset)
        missing = ", ".join(tag for tag in self._required if tag not in self._fields)
        raise ProtocolError(f"message has no {missing} field", len(self._buffer))


class AnswerDecoder(FrameDecoder):
    """Decoder for a terminal answer: complete once whole fields include AE."""

    event_type = Answer

    def __init__(self, max_size: int = MAX_ANSWER_SIZE) -> None:
        super().__init__(("AE",), max_size)
