"""Interpretation of a terminal answer against the request it answers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum

from .frame import AnswerError, decode_fields, encode_unchecked
from .labels import application_label, failure_label, read_mode_label
from .receipt import decode_receipt
from .redact import card_last4, escape_controls, redact_fields
from .request import PaymentRequest

# AE values
AE_SUCCESS = "10"
AE_FAILURE = "01"
AE_ACCEPTED = "11"


class Status(str, Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    ACCEPTED = "accepted"


@dataclass(frozen=True)
class PaymentResult:
    """What the terminal said, safe to store.

    Card data is reduced to ``card_last4``; ``answer_frame`` and ``fields``
    are redacted (AA -> last 4 digits, AB removed). Absent text is ''.
    """

    status: Status
    requested_amount: int
    authorised_amount: int | None
    partial: bool
    auth_code: str
    card_last4: str
    application_code: str
    application_label: str
    read_mode_code: str
    read_mode_label: str
    failure_code: str
    failure_detail: str
    failure_label: str
    receipt_text: str
    # CF of the answer: the terminal's private data (Ingenico approvals carry
    # their own, e.g. "1010000000"). Kept for the journal, never compared.
    private_data: str
    request_frame: bytes
    answer_frame: bytes
    fields: dict[str, str] = field(default_factory=dict)
    lang: str = "en"

    def localized(self, lang: str) -> PaymentResult:
        """A copy with the labels in ``lang`` ("en" or "fr")."""
        return dataclasses.replace(
            self,
            lang=lang,
            application_label=application_label(self.application_code, lang),
            read_mode_label=read_mode_label(self.read_mode_code, lang),
            failure_label=(
                failure_label(self.failure_code, lang)
                if self.status is Status.FAILURE
                else ""
            ),
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-safe dict (frames as ASCII text)."""
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["request_frame"] = self.request_frame.decode("ascii", "backslashreplace")
        data["answer_frame"] = self.answer_frame.decode("ascii", "backslashreplace")
        data["fields"] = dict(self.fields)
        return data


def _echoes(request: PaymentRequest) -> dict[str, str]:
    """Tags a successful answer must echo exactly, with their request values.

    CB is checked apart (it may be lower: partial authorisation). CF is not
    an echo: terminals answer with their own private data there.
    """
    return {
        "CA": request.pos_number,
        "CD": request.direction.value,
        "CE": request.currency_field,
    }


def _check_echo(fields: dict[str, str], tag: str, expected: str) -> None:
    if tag not in fields:
        raise AnswerError(f"answer does not echo {tag} (expected {expected!r})")
    if fields[tag] != expected:
        raise AnswerError(f"answer {tag} is {fields[tag]!r}, request had {expected!r}")


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


def interpret_answer(
    request: PaymentRequest, answer: bytes, lang: str = "en"
) -> PaymentResult:
    """Turn answer bytes into a :class:`PaymentResult`, or raise ProtocolError."""
    fields = decode_fields(answer)
    status_code = fields.get("AE")
    if status_code is None:
        raise AnswerError("answer has no status (AE)")

    authorised: int | None = None
    failure_code = failure_detail = ""
    if status_code == AE_SUCCESS:
        status = Status.SUCCESS
        for tag, expected in _echoes(request).items():
            _check_echo(fields, tag, expected)
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
    safe_fields = {
        tag: escape_controls(value) for tag, value in redact_fields(fields).items()
    }
    application = safe_fields.get("CC", "")
    read_mode = safe_fields.get("CI", "")
    return PaymentResult(
        status=status,
        requested_amount=request.amount,
        authorised_amount=authorised,
        partial=authorised is not None and authorised < request.amount,
        auth_code=safe_fields.get("AC", ""),
        card_last4=card_last4(fields.get("AA", "")),
        application_code=application,
        application_label=application_label(application, lang),
        read_mode_code=read_mode,
        read_mode_label=read_mode_label(read_mode, lang),
        failure_code=failure_code,
        failure_detail=failure_detail,
        failure_label=failure_label(failure_code, lang)
        if status is Status.FAILURE
        else "",
        receipt_text=escape_controls(decode_receipt(fields), keep="\n"),
        private_data=safe_fields.get("CF", ""),
        request_frame=request.encode(),
        answer_frame=encode_unchecked(safe_fields),
        fields=safe_fields,
        lang=lang,
    )
