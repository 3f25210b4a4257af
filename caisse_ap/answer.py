"""Interpretation of a terminal answer against the request it answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from . import labels
from .frame import AnswerError, decode_fields, encode_unchecked
from .receipt import decode_receipt
from .redact import escape_controls, safe_answer_fields
from .request import PaymentMode, PaymentRequest

# AE values
AE_SUCCESS = "10"
AE_FAILURE = "01"
AE_ACCEPTED = "11"


class Status(str, Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    ACCEPTED = "accepted"


# Not frozen: a frozen dataclass's __init__ costs a setattr call per field,
# on every answer. Nothing in the engine changes a result once made.
@dataclass(slots=True)
class PaymentResult:
    """What the terminal said, safe to store: codes, not words.

    Card data is reduced to ``card_last4``; ``answer_frame`` and ``fields``
    are redacted (AA -> last 4 digits, AB removed) and control characters
    escaped. Absent text is ''. The ``*_label`` properties name the codes in
    English, for logs (the cashier's words are translated by the addon).
    """

    status: Status
    requested_amount: int
    authorised_amount: int | None
    partial: bool
    auth_code: str
    card_last4: str
    application_code: str
    read_mode_code: str
    failure_code: str
    failure_detail: str
    receipt_text: str
    # CF of the answer: the terminal's private data (Ingenico approvals carry
    # their own, e.g. "1010000000"). Kept for the journal, never compared.
    private_data: str
    request_frame: bytes
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def answer_frame(self) -> bytes:
        """The answer as stored: encoded from the safe fields when asked for
        (the journal needs it once, the hot path not at all)."""
        return encode_unchecked(self.fields)

    # English names of the codes, for logs and the CLI.
    application_label = property(lambda r: labels.application_label(r.application_code))
    read_mode_label = property(lambda r: labels.read_mode_label(r.read_mode_code))

    @property
    def failure_label(self) -> str:
        if self.status is not Status.FAILURE:
            return ""
        return labels.failure_label(self.failure_code)

    def as_dict(self) -> dict[str, object]:
        """JSON-safe dict (frames as ASCII text)."""
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["request_frame"] = self.request_frame.decode("ascii", "backslashreplace")
        data["answer_frame"] = self.answer_frame.decode("ascii", "backslashreplace")
        return data


def _echo_error(fields: dict[str, str], tag: str, expected: str) -> AnswerError:
    if tag not in fields:
        return AnswerError(f"answer does not echo {tag} (expected {expected!r})")
    return AnswerError(f"answer {tag} is {fields[tag]!r}, request had {expected!r}")


def _authorised_amount(fields: dict[str, str], requested: int) -> int:
    value = fields.get("CB")
    if value is None:
        raise AnswerError("successful answer has no amount (CB)")
    if not (value.isascii() and value.isdigit()):
        raise AnswerError(f"answer amount CB {value!r} is not a number")
    amount = int(value)  # leading zeros do not matter
    if amount == 0:
        raise AnswerError("successful answer authorises an amount of 0")
    if amount > requested:
        raise AnswerError(
            f"answer amount CB {value!r} is more than the {requested} requested"
        )
    return amount


def interpret_answer(request: PaymentRequest, answer: bytes) -> PaymentResult:
    """Turn answer bytes into a :class:`PaymentResult`, or raise ProtocolError."""
    fields = decode_fields(answer)
    status_code = fields.get("AE")
    if status_code is None:
        raise AnswerError("answer has no status (AE)")

    authorised: int | None = None
    failure_code = failure_detail = ""
    if status_code == AE_SUCCESS:
        status = Status.SUCCESS
        for tag, expected in request.echoes:
            if fields.get(tag) != expected:
                raise _echo_error(fields, tag, expected)
        authorised = _authorised_amount(fields, request.amount)
    elif status_code == AE_FAILURE:
        # CB may be missing (red button): still a failure, not an error.
        status = Status.FAILURE
        reason = fields.get("AF", "")
        failure_code = escape_controls(reason[:2])
        failure_detail = escape_controls(reason[2:])
    elif status_code == AE_ACCEPTED:
        status = Status.ACCEPTED
    else:
        raise AnswerError(f"unknown status AE={status_code!r} (10, 01 or 11 expected)")

    # Redacted (no card number) and escaped (no control character): safe to
    # store and to log, as every value taken from it below.
    safe_fields = safe_answer_fields(fields)
    return PaymentResult(
        status=status,
        requested_amount=request.amount,
        authorised_amount=authorised,
        partial=authorised is not None and authorised < request.amount,
        auth_code=safe_fields.get("AC", ""),
        card_last4=safe_fields.get("AA", ""),
        application_code=safe_fields.get("CC", ""),
        read_mode_code=safe_fields.get("CI", ""),
        failure_code=failure_code,
        failure_detail=failure_detail,
        receipt_text=escape_controls(decode_receipt(fields), keep="\n"),
        private_data=safe_fields.get("CF", ""),
        request_frame=request.encode(),
        fields=safe_fields,
    )


def outcome_is_settled(request: PaymentRequest, fields: Mapping[str, str]) -> bool:
    """True when the answer's ``fields`` already hold everything it needs.

    That is: every tag of the request repeated (but CF, the terminal's own
    data), AE, and what that status needs (AF for a failure; for a card
    approval the authorisation number AC; the receipt ZT when it was asked
    for). Each tag comes at most once, so nothing still on its way can change
    the outcome: a short wait for the rest of the segment is enough. An answer
    that does not repeat the whole request (other vendors, red button) gets the
    full quiet period instead.
    """
    if any(tag not in fields for tag in request.repeated_tags):
        return False
    status = fields.get("AE")
    if status == AE_FAILURE:
        return "AF" in fields
    if status == AE_SUCCESS:
        if request.request_receipt and "ZT" not in fields:
            return False
        return request.mode is not PaymentMode.CARD or "AC" in fields
    return status == AE_ACCEPTED
