"""What the journal keeps of the bytes a terminal answered."""

from ..caisse_ap import ProtocolError, decode_fields, redact_frame

# Of bytes that are not a Caisse-AP frame, only this many characters are kept.
MAX_FOREIGN_PREFIX = 64


def _escaped(byte):
    if byte == 0x5C:
        return "\\\\"
    if 0x20 <= byte < 0x7F:
        return chr(byte)
    return f"\\x{byte:02x}"


def escaped_prefix(data, limit=MAX_FOREIGN_PREFIX):
    """The start of ``data`` as printable text of at most ``limit`` characters."""
    text = ""
    for byte in data:
        char = _escaped(byte)
        if len(text) + len(char) > limit:
            break
        text += char
    return text


def stored_answer(answer):
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
