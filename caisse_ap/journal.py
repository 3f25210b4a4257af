"""What a journal keeps of an exchange, and the one check every outcome passes.

An exchange's outcome reaches the journal by three paths: from this
process's worker, from a spool file written when the database was away, and
from a shop relay's post. All three carry the same JSON-safe record
(:func:`outcome_record`), and :func:`checked_record` is the one gate it goes
through before anything is written: what a relay posts is believed only as
far as it is consistent, and what a terminal sent is bounded and escaped.
"""

from __future__ import annotations

import math
from typing import Any

from .address import KINDS
from .exchange import ExchangeResult, Outcome
from .frame import ProtocolError, decode_fields
from .redact import escape_controls, redact_frame

# Of bytes that are not a Caisse-AP frame, only this many characters are kept.
MAX_FOREIGN_PREFIX = 64

# The longest text each field may hold: what no terminal can exceed (a tag's
# value is at most 999 characters, each control character escaped as 4), so
# that a legal answer of any vendor passes; frames are escaped text of an
# answer of at most 64 KiB.
TEXT_LIMITS = {
    "error": 8000,
    "request_frame": 8000,
    "answer_frame": 300_000,
    "answer_log": 300_000,
}
RESULT_TEXT_LIMITS = {
    "auth_code": 4000,
    "card_last4": 4,
    "application_code": 4000,
    "read_mode_code": 4000,
    "failure_code": 8,
    "receipt_text": 8000,
}
REFUSAL_LIMITS = {"host": 300, "address": 64, "kind": 16}
# The longest an exchange may last: the payment timeout is at most 600 s.
MAX_DURATION = 86400.0
# The status a result must have for each outcome (None: no result at all).
RESULT_STATUS = {
    Outcome.SUCCESS: "success",
    Outcome.FAILURE: "failure",
    Outcome.ACCEPTED: "accepted",
    Outcome.NO_ANSWER: None,
    Outcome.MALFORMED: None,
    Outcome.NOT_SENT: None,
}

# The states of an attempt in the journal: still running, or ended. The moves
# allowed between them, and why, are the journal model's lifecycle
# (TRANSITIONS in models/pos_caisse_ap_transaction.py).
ACTIVE_STATES: tuple[str, ...] = ("pending", "sent", "cancel_requested")
FINAL_STATES: tuple[str, ...] = ("success", "failure", "unknown", "error")


class OutcomeRejected(ValueError):
    """A record that cannot be a true outcome: nothing of it is written."""


def _escaped(byte: int) -> str:
    if byte == 0x5C:
        return "\\\\"
    if 0x20 <= byte < 0x7F:
        return chr(byte)
    return f"\\x{byte:02x}"


def escaped_prefix(data: bytes, limit: int = MAX_FOREIGN_PREFIX) -> str:
    """The start of ``data`` as printable text of at most ``limit`` characters."""
    text = ""
    for byte in data:
        char = _escaped(byte)
        if len(text) + len(char) > limit:
            break
        text += char
    return text


def stored_answer(answer: bytes) -> str:
    """The (already redacted) answer as the journal stores it.

    A Caisse-AP frame is kept whole. Other bytes are not: whatever listens at
    the terminal's address (a web page, another service) could otherwise be
    read back from the journal. Their length and a short escaped prefix are
    enough to recognise what answered.
    """
    if not answer:
        return ""
    try:
        decode_fields(answer)
    except ProtocolError:
        return f"{len(answer)} bytes, not a Caisse-AP frame: {escaped_prefix(answer)}"
    return redact_frame(answer)


def outcome_record(exchange: ExchangeResult) -> dict[str, Any]:
    """What the journal keeps of an exchange, JSON-safe (spooled as it is)."""
    result = exchange.result
    stored = exchange.answer_text if result else stored_answer(exchange.answer_frame)
    refusal = exchange.refusal
    return {
        "outcome": exchange.outcome.value,
        "error": escape_controls(exchange.error or ""),
        "duration": exchange.duration,
        # Redacted and escaped: safe for the journal, a log line and the spool.
        "request_frame": exchange.request_text,
        # A readable answer is kept whole; other bytes (another service at the
        # terminal's address) only as their length and a short prefix.
        "answer_frame": stored,
        "answer_log": stored,
        # Why nothing was sent, when the address policy refused the host.
        "refusal": refusal
        and {"host": refusal.host, "address": refusal.address, "kind": refusal.kind},
        "result": result
        and {
            "status": result.status.value,
            "auth_code": result.auth_code,
            "card_last4": result.card_last4,
            "application_code": result.application_code,
            "read_mode_code": result.read_mode_code,
            "failure_code": result.failure_code,
            "receipt_text": result.receipt_text,
            "authorised_amount": result.authorised_amount,
            "partial": result.partial,
        },
    }


def _text(data: dict[str, Any], key: str, limit: int, keep: str = "") -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise OutcomeRejected(f"{key}: a text expected")
    if len(value) > limit:
        raise OutcomeRejected(f"{key}: longer than {limit} characters")
    return escape_controls(value, keep=keep)


def _amount(
    result: dict[str, Any], status: str, requested: int
) -> tuple[int | None, bool]:
    authorised = result.get("authorised_amount")
    partial = result.get("partial", False)
    if not isinstance(partial, bool):
        raise OutcomeRejected("partial: true or false expected")
    if status != "success":
        if authorised is not None or partial:
            raise OutcomeRejected(f"a {status} authorises no amount")
        return None, False
    if not isinstance(authorised, int) or isinstance(authorised, bool):
        raise OutcomeRejected("an approval needs its authorised amount")
    if not 0 < authorised <= requested:
        raise OutcomeRejected(
            f"authorised amount {authorised} is not between 1 and the "
            f"{requested} requested"
        )
    if partial != (authorised < requested):
        raise OutcomeRejected("partial does not match the authorised amount")
    return authorised, partial


def _result(result: object, outcome: Outcome, requested: int) -> dict[str, Any] | None:
    expected = RESULT_STATUS[outcome]
    if expected is None:
        if result is not None:
            raise OutcomeRejected(f"outcome {outcome.value} carries no result")
        return None
    if not isinstance(result, dict):
        raise OutcomeRejected(f"outcome {outcome.value} needs the terminal's result")
    # Records spooled by older versions have no status: their outcome is it.
    status = result.get("status", expected)
    if status != expected:
        raise OutcomeRejected(f"outcome {outcome.value} with a {status!r} result")
    clean: dict[str, Any] = {"status": status}
    for key, limit in RESULT_TEXT_LIMITS.items():
        clean[key] = _text(
            result, key, limit, keep="\n" if key == "receipt_text" else ""
        )
    last4 = clean["card_last4"]
    if last4 and not (len(last4) == 4 and last4.isascii() and last4.isdigit()):
        raise OutcomeRejected("card_last4: 4 digits expected")
    clean["authorised_amount"], clean["partial"] = _amount(result, status, requested)
    return clean


def _refusal(refusal: object, outcome: Outcome) -> dict[str, str] | None:
    if refusal is None:
        return None
    if outcome is not Outcome.NOT_SENT or not isinstance(refusal, dict):
        raise OutcomeRejected("an address refusal goes with not_sent only")
    clean = {key: _text(refusal, key, limit) for key, limit in REFUSAL_LIMITS.items()}
    if clean["kind"] not in KINDS:
        raise OutcomeRejected(f"refusal kind {clean['kind']!r} unknown")
    return clean


def checked_record(record: object, requested: int) -> dict[str, Any]:
    """``record`` (:func:`outcome_record`'s form) checked against the request
    of ``requested`` minor units: a copy with every text bounded and its
    control characters escaped. Raises :class:`OutcomeRejected`.

    The outcome and the terminal's status agree; an approval authorises more
    than nothing and no more than was asked; a card is 4 digits or nothing.
    """
    if not isinstance(record, dict):
        raise OutcomeRejected("an object expected")
    try:
        outcome = Outcome(record.get("outcome"))
    except ValueError:
        raise OutcomeRejected(f"unknown outcome {record.get('outcome')!r}") from None
    duration = record.get("duration")
    if (
        not isinstance(duration, (int, float))
        or isinstance(duration, bool)
        or not math.isfinite(duration)
        or not 0 <= duration <= MAX_DURATION
    ):
        raise OutcomeRejected("duration: seconds expected")
    clean: dict[str, Any] = {"outcome": outcome.value, "duration": float(duration)}
    for key, limit in TEXT_LIMITS.items():
        clean[key] = _text(record, key, limit)
    clean["refusal"] = _refusal(record.get("refusal"), outcome)
    clean["result"] = _result(record.get("result"), outcome, requested)
    return clean
