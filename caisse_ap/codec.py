"""Sans-I/O Caisse-AP codec: the public names, gathered from small modules.

Nothing here opens a socket: bytes in, typed messages out.
"""

from __future__ import annotations

from .answer import (
    AE_ACCEPTED,
    AE_FAILURE,
    AE_SUCCESS,
    PaymentResult,
    Status,
    interpret_answer,
)
from .decoder import (
    MAX_ANSWER_SIZE,
    NEED_DATA,
    Answer,
    AnswerDecoder,
    Frame,
    FrameDecoder,
)
from .frame import ProtocolError, decode_fields, encode_fields
from .receipt import decode_receipt, encode_receipt
from .redact import card_last4, redact_fields, redact_frame, redact_frame_bytes
from .request import (
    CONCERT_IDENTIFIER,
    MAX_AMOUNT,
    PROTOCOL_VERSIONS,
    Direction,
    PaymentMode,
    PaymentRequest,
)

__all__ = [
    "AE_ACCEPTED",
    "AE_FAILURE",
    "AE_SUCCESS",
    "CONCERT_IDENTIFIER",
    "MAX_AMOUNT",
    "MAX_ANSWER_SIZE",
    "NEED_DATA",
    "PROTOCOL_VERSIONS",
    "Answer",
    "AnswerDecoder",
    "Direction",
    "Frame",
    "FrameDecoder",
    "PaymentMode",
    "PaymentRequest",
    "PaymentResult",
    "ProtocolError",
    "Status",
    "card_last4",
    "decode_fields",
    "decode_receipt",
    "encode_fields",
    "encode_receipt",
    "interpret_answer",
    "redact_fields",
    "redact_frame",
    "redact_frame_bytes",
]
