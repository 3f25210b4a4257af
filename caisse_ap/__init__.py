"""Caisse-AP over IP protocol engine (French payment terminals), pure Python.

Imports nothing from Odoo. Main entry points:

- :mod:`.codec`: sans-I/O encoding, decoding and interpretation of frames;
- :mod:`.transport`: :func:`exchange` sends a request and classifies the outcome;
- :mod:`.simulator`: a simulated terminal (``python -m caisse_ap.simulator``),
  not imported here so that ``-m`` runs it cleanly.
"""

from .codec import (
    NEED_DATA,
    PROTOCOL_VERSIONS,
    Answer,
    AnswerDecoder,
    Direction,
    PaymentMode,
    PaymentRequest,
    PaymentResult,
    ProtocolError,
    Status,
    decode_fields,
    encode_fields,
    interpret_answer,
    redact_frame,
)
from .labels import application_label, failure_label, read_mode_label
from .transport import ExchangeResult, Outcome, exchange, probe

__all__ = [
    "NEED_DATA",
    "PROTOCOL_VERSIONS",
    "Answer",
    "AnswerDecoder",
    "Direction",
    "ExchangeResult",
    "Outcome",
    "PaymentMode",
    "PaymentRequest",
    "PaymentResult",
    "ProtocolError",
    "Status",
    "application_label",
    "decode_fields",
    "encode_fields",
    "exchange",
    "failure_label",
    "interpret_answer",
    "probe",
    "read_mode_label",
    "redact_frame",
]
