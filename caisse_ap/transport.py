"""TCP client side of Caisse-AP over IP: one request, one answer, classified.

The classification is what the caller acts on: ``not_sent`` is safe to
retry; ``no_answer`` and ``malformed`` mean the outcome is UNKNOWN (the
customer may have paid) and must be checked on the terminal, never treated
as a failure.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from enum import Enum

from .answer import PaymentResult, Status, interpret_answer
from .connect import CANCEL_POLL, Cancelled, connect
from .decoder import MAX_ANSWER_SIZE, AnswerDecoder
from .frame import ProtocolError
from .redact import LOG_LIMIT, redact_frame, redact_frame_bytes
from .request import PaymentRequest

_logger = logging.getLogger(__name__)

RECV_SIZE = 4096


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


@dataclass
class ExchangeResult:
    """How one exchange ended. ``answer_frame`` is redacted (safe to store)."""

    outcome: Outcome
    result: PaymentResult | None
    error: str
    request_frame: bytes
    answer_frame: bytes
    sent: bool
    duration: float
    cancelled: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON-safe dict for journals."""
        return {
            "outcome": self.outcome.value,
            "result": self.result.as_dict() if self.result else None,
            "error": self.error,
            "request_frame": self.request_frame.decode("ascii", "backslashreplace"),
            "answer_frame": self.answer_frame.decode("ascii", "backslashreplace"),
            "sent": self.sent,
            "duration": self.duration,
            "cancelled": self.cancelled,
        }


def _connect_failure(host: str, port: int, error: BaseException, timeout: float) -> str:
    where = f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host {host!r}: {error.strerror or error}"
    if isinstance(error, TimeoutError):
        return f"connection to {where} timed out after {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return f"connection to {where} refused (nothing listening on that port?)"
    return f"cannot connect to {where}: {error}"


def _bad_address(host: object, port: object) -> str:
    if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
        raise TypeError("host must be a str and port an int")
    if not host.strip():
        return "no terminal host configured"
    if not 0 < port < 65536:
        return f"invalid port {port} (1 to 65535)"
    return ""


def probe(host: str, port: int, timeout: float = 3.0) -> tuple[bool, str]:
    """Open and close a TCP connection (nothing is sent): ``(ok, reason)``."""
    problem = _bad_address(host, port)
    if problem:
        return False, problem
    try:
        sock = connect(host, port, timeout)
    except (OSError, UnicodeError, ValueError, OverflowError) as error:
        return False, _connect_failure(host, port, error, timeout)
    sock.close()
    return True, ""


class _Exchange:
    """State of one exchange; split out of :func:`exchange` to keep steps small."""

    def __init__(
        self,
        host: str,
        port: int,
        request: PaymentRequest,
        answer_timeout: float,
        quiet_period: float,
        max_answer_size: int,
        cancel_event: threading.Event | None,
    ) -> None:
        self.where = f"{host}:{port}"
        self.request = request
        self.frame = request.encode()
        self.answer_timeout = answer_timeout
        self.quiet_period = quiet_period
        self.cancel_event = cancel_event
        self.decoder = AnswerDecoder(max_answer_size)
        self.started = time.monotonic()
        self.sent = False
        self.abandoned = False  # the wait was given up through cancel_event
        self.last_data = 0.0  # monotonic time of the last bytes received

    def cancelled(self) -> bool:
        return self.cancel_event is not None and self.cancel_event.is_set()

    def finish(
        self, outcome: Outcome, error: str = "", result: PaymentResult | None = None
    ) -> ExchangeResult:
        received = self.decoder.buffer
        outcome_result = ExchangeResult(
            outcome=outcome,
            result=result,
            error=error,
            request_frame=self.frame,
            answer_frame=redact_frame_bytes(received),
            sent=self.sent,
            duration=time.monotonic() - self.started,
            cancelled=self.abandoned,
        )
        level = logging.WARNING if outcome.is_unknown else logging.INFO
        _logger.log(
            level,
            "Caisse-AP %s: %s in %.1f s%s; answer: %s",
            self.where,
            outcome.value,
            outcome_result.duration,
            f" ({error})" if error else "",
            redact_frame(received, LOG_LIMIT) if received else "(none)",
        )
        return outcome_result

    def log_sending(self) -> None:
        _logger.info("Caisse-AP %s: sending %s", self.where, redact_frame(self.frame))

    def send(self, sock: socket.socket, timeout: float) -> ExchangeResult | None:
        self.log_sending()
        try:
            sock.settimeout(timeout)
            sock.sendall(self.frame)
        except OSError as error:
            # Part of the frame may have left: the terminal may have it.
            return self.finish(
                Outcome.NO_ANSWER, f"sending to {self.where} failed: {error}"
            )
        self.sent = True
        return None

    def read(self, sock: socket.socket) -> tuple[str, str]:
        """Read until quiet period, close, deadline, cancel or reset: (why, detail)."""
        deadline = time.monotonic() + self.answer_timeout
        while True:
            why, wait = self.read_step(deadline)
            if why:
                return why, ""
            sock.settimeout(wait)
            try:
                chunk = sock.recv(RECV_SIZE)
            except TimeoutError:
                continue
            except OSError as error:
                return "reset", str(error)
            if self.received(chunk):
                return "closed", ""

    def read_step(self, deadline: float) -> tuple[str, float]:
        """Why the read is over ("" if it is not) and how long to wait for data.

        Shared by the blocking and the asyncio reads: same stop rules.
        """
        now = time.monotonic()
        if self.cancelled():
            return "cancelled", 0.0
        if self.decoder.complete and now - self.last_data >= self.quiet_period:
            return "quiet", 0.0
        if now >= deadline:
            return "deadline", 0.0
        wait = min(deadline - now, CANCEL_POLL)
        if self.decoder.complete:
            wait = min(wait, self.last_data + self.quiet_period - now)
        return "", max(wait, 0.001)

    def received(self, chunk: bytes) -> bool:
        """Feed ``chunk``; True when the peer closed (``b""``).

        Raises ProtocolError at once for bytes no answer can start with.
        """
        self.decoder.receive_data(chunk)
        if not chunk:
            return True
        self.last_data = time.monotonic()
        self.decoder.next_event()
        return False

    def conclude(self, why: str, detail: str) -> ExchangeResult:
        decoder = self.decoder
        if decoder.complete:
            # Whatever ended the wait, a whole answer had arrived: use it.
            answer = decoder.next_event()
            try:
                result = interpret_answer(self.request, answer.frame)
            except ProtocolError as error:
                return self.finish(Outcome.MALFORMED, f"invalid answer: {error}")
            return self.finish(_OUTCOME_OF_STATUS[result.status], "", result)
        size = len(decoder.buffer)
        if why == "cancelled":
            self.abandoned = True
            return self.finish(
                Outcome.NO_ANSWER, "wait for the answer abandoned (cancelled)"
            )
        if size == 0:
            return self.finish(Outcome.NO_ANSWER, self._silence(why, detail))
        if why == "closed":
            return self.finish(
                Outcome.MALFORMED, f"invalid answer: {_closing_error(decoder)}"
            )
        if why == "reset":
            return self.finish(
                Outcome.MALFORMED,
                f"connection reset after {size} bytes of answer: {detail}",
            )
        return self.finish(
            Outcome.MALFORMED,
            f"incomplete answer ({size} bytes) after {self.answer_timeout:g} s",
        )

    def _silence(self, why: str, detail: str) -> str:
        if why == "closed":
            return f"terminal {self.where} closed the connection without answering"
        if why == "reset":
            return f"connection reset by {self.where} without an answer: {detail}"
        return f"no answer from {self.where} within {self.answer_timeout:g} s"


def _closing_error(decoder: AnswerDecoder) -> ProtocolError:
    """The error the decoder reports for an incomplete answer at peer close."""
    try:
        decoder.next_event()
    except ProtocolError as error:
        return error
    return ProtocolError("answer incomplete at peer close")


def _check_timing(**values: float) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, not {value!r}")


def prepare(
    host: str,
    port: int,
    request: PaymentRequest,
    connect_timeout: float,
    answer_timeout: float,
    quiet_period: float,
    max_answer_size: int,
    cancel_event: threading.Event | None,
) -> tuple[_Exchange, ExchangeResult | None]:
    """Check the arguments (programming errors raise): (state, early result)."""
    if not isinstance(request, PaymentRequest):
        raise TypeError(
            f"request must be a PaymentRequest, not {type(request).__name__}"
        )
    _check_timing(
        connect_timeout=connect_timeout,
        answer_timeout=answer_timeout,
        quiet_period=quiet_period,
    )
    if not isinstance(max_answer_size, int) or max_answer_size < 1:
        raise ValueError(
            f"max_answer_size must be a positive int, not {max_answer_size!r}"
        )
    state = _Exchange(
        host, port, request, answer_timeout, quiet_period, max_answer_size, cancel_event
    )
    problem = _bad_address(host, port)
    return state, state.finish(Outcome.NOT_SENT, problem) if problem else None


# What a failed connection raises (besides Cancelled); every one means NOT_SENT.
CONNECT_ERRORS = (OSError, UnicodeError, ValueError, OverflowError)


def connect_failed(
    state: _Exchange, host: str, port: int, error: BaseException, timeout: float
) -> ExchangeResult:
    if isinstance(error, Cancelled):
        state.abandoned = True
        return state.finish(
            Outcome.NOT_SENT, "cancelled before the connection was made"
        )
    return state.finish(Outcome.NOT_SENT, _connect_failure(host, port, error, timeout))


def cancelled_before_sending(state: _Exchange) -> ExchangeResult | None:
    if not state.cancelled():
        return None
    state.abandoned = True
    return state.finish(Outcome.NOT_SENT, "cancelled before the request was sent")


def exchange(
    host: str,
    port: int,
    request: PaymentRequest,
    *,
    connect_timeout: float = 5.0,
    answer_timeout: float = 180.0,
    quiet_period: float = 0.3,
    max_answer_size: int = MAX_ANSWER_SIZE,
    cancel_event: threading.Event | None = None,
) -> ExchangeResult:
    """Send ``request`` to the terminal and wait for its answer.

    Never raises for network or protocol problems: every ending is an
    :class:`Outcome`. ``answer_timeout`` counts from the moment the request
    was sent. Setting ``cancel_event`` abandons the wait within
    ``CANCEL_POLL`` seconds (outcome NO_ANSWER unless an answer had arrived).
    """
    state, early = prepare(
        host,
        port,
        request,
        connect_timeout,
        answer_timeout,
        quiet_period,
        max_answer_size,
        cancel_event,
    )
    if early:
        return early
    try:
        sock = connect(host, port, connect_timeout, cancel_event)
    except (Cancelled, *CONNECT_ERRORS) as error:
        return connect_failed(state, host, port, error, connect_timeout)
    with sock:
        early = cancelled_before_sending(state)
        if early:
            return early
        failed = state.send(sock, max(connect_timeout, 1.0))
        if failed:
            return failed
        try:
            why, detail = state.read(sock)
        except ProtocolError as error:
            return state.finish(Outcome.MALFORMED, f"invalid answer: {error}")
        return state.conclude(why, detail)
