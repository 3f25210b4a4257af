"""Keep card data out of logs and journals.

AA (card number, already masked by the terminal) is cut down to its last 4
digits and AB (expiry) is dropped. Frames that do not parse are redacted as
far as they parse; the rest has long digit runs masked, so that even a
broken frame never shows a whole card number.
"""

from __future__ import annotations

import re

from .frame import HEADER_SIZE, TAG_ALPHABET

CARD_TAG = "AA"
EXPIRY_TAG = "AB"
_TAG_BYTES = frozenset(ord(char) for char in TAG_ALPHABET)
_DIGIT_BYTES = frozenset(b"0123456789")
# In unparsed bytes: an AA/AB header followed by its (possibly cut) value.
_SENSITIVE_HEADER = re.compile(rb"A([AB])(\d{3})")
# Any digit run long enough to be a card number keeps only its last 4 digits.
_LONG_DIGITS = re.compile(rb"\d{9,}")
# Control characters are escaped too: a frame must not forge log lines.
_ESCAPE_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


def card_last4(masked_card: str) -> str:
    """The last 4 characters of AA when they are 4 digits, else ''."""
    tail = masked_card[-4:]
    return tail if len(tail) == 4 and all("0" <= char <= "9" for char in tail) else ""


def redact_fields(fields: dict[str, str]) -> dict[str, str]:
    """A copy of ``fields`` that is safe to store: AA -> last 4, AB removed."""
    safe: dict[str, str] = {}
    for tag, value in fields.items():
        if tag == EXPIRY_TAG:
            continue
        if tag == CARD_TAG:
            value = card_last4(value)
            if not value:
                continue
        safe[tag] = value
    return safe


def safe_answer_fields(fields: dict[str, str]) -> dict[str, str]:
    """:func:`redact_fields`, then control characters escaped: safe to store
    and to log. It runs on every answer: a copy, two lookups, one C call for
    the usual case (nothing to escape)."""
    safe = dict(fields)
    safe.pop(EXPIRY_TAG, None)
    if CARD_TAG in safe:
        last4 = card_last4(safe[CARD_TAG])
        if last4:
            safe[CARD_TAG] = last4  # in place: the order of the tags stays
        else:
            del safe[CARD_TAG]
    if not "".join(safe.values()).isprintable():
        for tag, value in safe.items():
            safe[tag] = value.translate(_ESCAPE_CONTROLS)
    return safe


def _mask_long_digits(match: re.Match[bytes]) -> bytes:
    digits = match.group(0)
    return b"#" * (len(digits) - 4) + digits[-4:]


def _redact_tail(tail: bytes) -> bytes:
    """Best effort for bytes that do not parse as fields."""
    out = bytearray()
    pos = 0
    for match in _SENSITIVE_HEADER.finditer(tail):
        if match.start() < pos:
            continue
        out += _LONG_DIGITS.sub(_mask_long_digits, tail[pos : match.start()])
        value_start = match.end()
        value_end = min(len(tail), value_start + int(match.group(2)))
        value = tail[value_start:value_end]
        if match.group(1) == b"A":
            last4 = card_last4(value.decode("ascii", "replace")).encode("ascii")
            out += b"AA" + f"{len(last4):03d}".encode("ascii") + last4
        pos = value_end
    out += _LONG_DIGITS.sub(_mask_long_digits, tail[pos:])
    return bytes(out)


def redact_frame_bytes(frame: bytes) -> bytes:
    """``frame`` with AA reduced to its last 4 digits and AB removed.

    Never raises for bytes input, whatever the bytes are.
    """
    raw = bytes(frame)
    out = bytearray()
    pos = 0
    size = len(raw)
    while size - pos >= HEADER_SIZE:
        tag, digits = raw[pos : pos + 2], raw[pos + 2 : pos + HEADER_SIZE]
        if not (set(tag) <= _TAG_BYTES and set(digits) <= _DIGIT_BYTES):
            break
        end = pos + HEADER_SIZE + int(digits)
        if end > size:
            break
        if tag == b"AA":
            last4 = card_last4(raw[pos + HEADER_SIZE : end].decode("ascii", "replace"))
            if last4:
                out += (
                    b"AA" + f"{len(last4):03d}".encode("ascii") + last4.encode("ascii")
                )
        elif tag != b"AB":
            out += raw[pos:end]
        pos = end
    out += _redact_tail(raw[pos:])
    return bytes(out)


# Characters of a frame worth a log line (an oversize answer is 64 KiB).
LOG_LIMIT = 2000


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with control characters (NUL included) as ``\\xNN``, except ``keep``.

    PostgreSQL refuses NUL in text and a control character can forge a log
    line: every value from a terminal goes through this before either.
    """
    if text.isprintable():
        return text
    table = _ESCAPE_CONTROLS
    if keep:
        table = {
            code: escaped for code, escaped in table.items() if chr(code) not in keep
        }
    return text.translate(table)


def redact_frame(frame: bytes, limit: int | None = None) -> str:
    """Printable, log-safe text of a frame (other bytes as ``\\xNN``).

    With ``limit``, text longer than that is cut and says how long it was.
    """
    raw = redact_frame_bytes(frame)
    cut = raw if limit is None else raw[:limit]
    text = cut.decode("ascii", "backslashreplace").translate(_ESCAPE_CONTROLS)
    if len(cut) < len(raw):
        text += f"... ({len(raw)} bytes)"
    return text
