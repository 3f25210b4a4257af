"""Customer receipt: ZT holds a sub-frame whose AK value is base64 text."""

from __future__ import annotations

import base64
import binascii
import logging

from .frame import MAX_VALUE_LENGTH, AnswerError, decode_fields, encode_field

_logger = logging.getLogger(__name__)

CONTAINER_TAG = "ZT"
TEXT_TAG = "AK"
# A ZT value holds "AK" + 3 length digits + the base64 text.
MAX_RECEIPT_BASE64 = MAX_VALUE_LENGTH - 5


def _decode_text(blob: bytes) -> str:
    # Terminals are not consistent about the charset: try UTF-8, then Latin-1
    # (which never fails), and normalise line ends.
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        text = blob.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _from_base64(value: str) -> str:
    try:
        return _decode_text(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        raise AnswerError("receipt AK is not valid base64") from None


def decode_receipt(fields: dict[str, str]) -> str:
    """Receipt text found in ``fields`` ('' when there is none or it is unreadable).

    A broken receipt must not turn a payment into a protocol error: it is
    logged and dropped.
    """
    try:
        container = fields.get(CONTAINER_TAG)
        if container:
            inner = decode_fields(container.encode("ascii"))
            if TEXT_TAG in inner:
                return _from_base64(inner[TEXT_TAG])
            raise AnswerError("receipt container ZT has no AK field")
        if fields.get(TEXT_TAG):
            # Some terminals may put AK at the top level.
            return _from_base64(fields[TEXT_TAG])
    except AnswerError as error:
        _logger.warning("Ignoring unreadable receipt: %s", error)
    return ""


def encode_receipt(text: str) -> str:
    """ZT value for ``text`` (used by the simulator)."""
    if not text:
        raise ValueError("receipt text is empty")
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if len(encoded) > MAX_RECEIPT_BASE64:
        raise ValueError(
            f"receipt too long: {len(encoded)} base64 characters, "
            f"at most {MAX_RECEIPT_BASE64} fit in ZT"
        )
    return encode_field(TEXT_TAG, encoded)
