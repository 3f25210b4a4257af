"""One exchange with a terminal as a clock-free state machine (sans-I/O).

The I/O layer (:mod:`.client`) feeds it the bytes it receives and the
times it reads from its clock; the state says how long to wait for more and,
once the reading is over, what the outcome is. Tests drive it with made-up
bytes and timestamps, without sockets nor sleeps.

The outcome is what the caller acts on: ``not_sent`` is safe to retry;
``no_answer`` and ``malformed`` mean the outcome is UNKNOWN (the customer
may have paid) and must be checked on the terminal, never taken for a
failure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from .address import AddressRefusal
from .answer import PaymentResult, Status, interpret_answer, outcome_is_settled
from .decoder import MAX_ANSWER_SIZE, AnswerDecoder
from .frame import ProtocolError
from .redact import LOG_LIMIT, redact_frame, redact_frame_bytes
from .request import PaymentRequest


class Outcome(str, Enum):
    NOT_SENT = "not_sent"
    NO_ANSWER = "no_answer"
    MALFORMED = "malformed"
    SUCCESS = "success"
    FAILURE = "failure"
    ACCEPTED = "accepted"

    @property
    def is_unknown(self) -> bool:
        """The request may have been processed: check the terminal."""
        return self in (Outcome.NO_ANSWER, Outcome.MALFORMED)


_OUTCOME_OF_STATUS = {
    Status.SUCCESS: Outcome.SUCCESS,
    Status.FAILURE: Outcome.FAILURE,
    Status.ACCEPTED: Outcome.ACCEPTED,
}


# Silence that ends a whole answer which already holds everything it needs
# (see :func:`.answer.outcome_is_settled`): time for the rest of a message
# sent in several TCP segments, not for a second message.
SETTLE_PERIOD = 0.05


class Ending(str, Enum):
    """Why the reading stopped."""

    QUIET = "quiet"  # a whole answer, then silence for the quiet period
    SETTLED = "settled"  # an answer holding all it needs, then a short silence
    CLOSED = "closed"  # the terminal closed the connection
    RESET = "reset"  # the connection broke
    DEADLINE = "deadline"  # the answer timeout passed
    INVALID = "invalid"  # bytes that no answer can start with


@dataclass
class ExchangeResult:
    """How one exchange ended. ``answer_frame`` is redacted (no card number)."""

    outcome: Outcome
    result: PaymentResult | None
    error: str
    request_frame: bytes
    answer_frame: bytes
    sent: bool
    duration: float
    # Set when the address policy refused every address of the host (NOT_SENT).
    refusal: AddressRefusal | None = None

    # The frames, safe for a log or a database (control characters escaped).
    request_text = property(lambda self: redact_frame(self.request_frame))
    answer_text = property(lambda self: redact_frame(self.answer_frame))

    def as_dict(self) -> dict[str, object]:
        """JSON-safe dict for journals."""
        return {
            "outcome": self.outcome.value,
            "result": self.result.as_dict() if self.result else None,
            "error": self.error,
            "request_frame": self.request_text,
            "answer_frame": self.answer_text,
            "sent": self.sent,
            "duration": self.duration,
            "refusal": dataclasses.asdict(self.refusal) if self.refusal else None,
        }


class Exchange:
    """What one request has received so far, and when to stop reading.

    Times are seconds on any monotonic clock, given by the caller. A whole
    answer ends after ``quiet_period`` of silence, or after ``settle_period``
    once it holds everything the request needs: a terminal that keeps the
    connection open (Ingenico) is then read in one segment's time.
    """

    def __init__(
        self,
        request: PaymentRequest,
        answer_timeout: float,
        quiet_period: float,
        max_answer_size: int = MAX_ANSWER_SIZE,
        where: str = "the terminal",
        settle_period: float = SETTLE_PERIOD,
    ) -> None:
        self.request = request
        self.frame = request.encode()
        self.answer_timeout = answer_timeout
        self.quiet_period = quiet_period
        self.settle_period = min(settle_period, quiet_period)
        self.where = where
        self.decoder = AnswerDecoder(max_answer_size)
        self.sent = False
        self.ending: Ending | None = None
        self.detail = ""  # of a reset or of invalid bytes
        self._deadline = 0.0
        self._last_data = 0.0
        # Silence that ends the answer as received so far (while complete).
        self._silence_needed = quiet_period

    # -- events --------------------------------------------------------------
    def request_sent(self, now: float) -> None:
        """The whole request left: the answer timeout starts now."""
        self.sent = True
        self._deadline = now + self.answer_timeout

    def receive(self, data: bytes, now: float) -> None:
        """Bytes from the terminal; ``b""`` when it closed the connection."""
        if self.ending is not None:
            return
        self.decoder.receive_data(data)
        if not data:
            self.ending = Ending.CLOSED
            return
        self._last_data = now
        try:
            self.decoder.next_event()
        except ProtocolError as error:
            self.ending, self.detail = Ending.INVALID, str(error)
            return
        settled = self.decoder.complete and outcome_is_settled(
            self.request, self.decoder.fields
        )
        self._silence_needed = self.settle_period if settled else self.quiet_period

    def connection_broken(self, detail: str) -> None:
        if self.ending is None:
            self.ending, self.detail = Ending.RESET, detail

    def wait_time(self, now: float) -> float | None:
        """Seconds to wait for more bytes; None once the reading is over."""
        if self.ending is None:
            if self.decoder.complete and now - self._last_data >= self._silence_needed:
                settled = self._silence_needed < self.quiet_period
                self.ending = Ending.SETTLED if settled else Ending.QUIET
            elif now >= self._deadline:
                self.ending = Ending.DEADLINE
        if self.ending is not None:
            return None
        wait = self._deadline - now
        if self.decoder.complete:
            wait = min(wait, self._last_data + self._silence_needed - now)
        return max(wait, 0.0)

    # -- conclusion ----------------------------------------------------------
    @property
    def received(self) -> bytes:
        """Everything received: the answer, then any trailing bytes kept."""
        return self.decoder.buffer + self.decoder.trailing

    def trailing_note(self) -> str:
        """What came after the complete answer ('' when nothing did), for the log."""
        size = self.decoder.trailing_size
        if not size:
            return ""
        return (
            f"{size} byte(s) after the complete answer ignored: "
            f"{redact_frame(self.decoder.trailing, LOG_LIMIT)}"
        )

    def conclude(self) -> tuple[Outcome, PaymentResult | None, str]:
        """``(outcome, result, error)`` once the reading is over."""
        decoder = self.decoder
        if self.ending is Ending.INVALID:
            return Outcome.MALFORMED, None, f"invalid answer: {self.detail}"
        if decoder.complete:
            # Whatever ended the wait, a whole answer had arrived: use it.
            try:
                result = interpret_answer(self.request, decoder.next_event().frame)  # type: ignore[attr-defined]
            except ProtocolError as error:
                return Outcome.MALFORMED, None, f"invalid answer: {error}"
            return _OUTCOME_OF_STATUS[result.status], result, ""
        size = len(decoder.buffer)
        if size == 0:
            return Outcome.NO_ANSWER, None, self._silence()
        if self.ending is Ending.CLOSED:
            return Outcome.MALFORMED, None, f"invalid answer: {self._closing_error()}"
        if self.ending is Ending.RESET:
            return (
                Outcome.MALFORMED,
                None,
                f"connection reset after {size} bytes of answer: {self.detail}",
            )
        return (
            Outcome.MALFORMED,
            None,
            f"incomplete answer ({size} bytes) after {self.answer_timeout:g} s",
        )

    def _silence(self) -> str:
        if self.ending is Ending.CLOSED:
            return f"terminal {self.where} closed the connection without answering"
        if self.ending is Ending.RESET:
            return f"connection reset by {self.where} without an answer: {self.detail}"
        return f"no answer from {self.where} within {self.answer_timeout:g} s"

    def _closing_error(self) -> ProtocolError:
        """The error the decoder reports for an incomplete answer at peer close."""
        try:
            self.decoder.next_event()
        except ProtocolError as error:
            return error
        return ProtocolError("answer incomplete at peer close")

    def redacted_answer(self) -> bytes:
        return redact_frame_bytes(self.received)
