"""What the simulated terminal does with the next transaction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..frame import ProtocolError, check_value
from ..receipt import encode_receipt

KINDS = (
    "approve",  # AE=10, echoes, card data, optional receipt
    "decline",  # AE=01 with af_code
    "red_button",  # AE=01 with af_code and no CB, like a cancel on the terminal
    "hang",  # never answers (until release_hang() or stop())
    "close",  # closes the connection without answering
    "garbage",  # answers bytes that are not Caisse-AP
    "split",  # approval sent in `segments` pieces, `segment_delay` apart
    "drip",  # approval sent byte by byte, `byte_delay` apart
    "oversize",  # an approval padded past 64 KiB
    "wrong_echo",  # approval with `echo_tag` not matching the request
    "partial",  # approval of `partial_amount` (default: half) instead of the amount
    "accepted",  # AE=11 (request accepted, result later)
    "reset",  # half an approval, then a TCP reset
)
# CF is not among them: it is the terminal's private data, not an echo.
ECHO_TAGS = ("CA", "CB", "CD", "CE")

TRAILERS = ("", "crlf", "nul", "frame")

_ALIASES = {
    "af": "af_code",
    "app": "application",
    "cc": "application",
    "ci": "read_mode",
    "ac": "auth_code",
    "card": "masked_card",
    "aa": "masked_card",
    "echo": "echo_tag",
    "amount": "partial_amount",
}
_FLOATS = frozenset({"delay", "segment_delay", "byte_delay"})
_INTS = frozenset({"segments", "partial_amount"})
_BOOLS = frozenset({"keep_open", "hold"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_TEXT_FIELDS = (
    "af_code",
    "application",
    "read_mode",
    "auth_code",
    "masked_card",
    "expiry",
)


@dataclass
class Scenario:
    """One terminal behaviour. Invalid values raise ``ValueError``."""

    kind: str = "approve"
    delay: float = 0.2  # customer delay before answering, seconds
    af_code: str = "04"
    application: str = "001"
    read_mode: str = "2"
    auth_code: str = "123456"
    masked_card: str = "497010######1234"
    expiry: str = "2812"
    receipt: str = ""  # sent in ZT/AK (base64) when not empty
    segments: int = 3
    segment_delay: float = 0.05
    echo_tag: str = "CA"
    partial_amount: int | None = None
    keep_open: bool = False  # keep the socket open after answering
    byte_delay: float = 0.005
    # After the delay, wait for TerminalSimulator.release() before answering:
    # lets a test act while the customer is "still paying", without timing.
    hold: bool = False
    # Bytes sent after the answer, as some terminals do: "crlf", "nul" (NUL
    # padding) or "frame" (the answer a second time); "" sends nothing.
    trailing: str = ""

    def __post_init__(self) -> None:
        self.kind = (
            self.kind.replace("-", "_") if isinstance(self.kind, str) else self.kind
        )
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown scenario {self.kind!r}: one of {', '.join(KINDS)}"
            )
        for name in _FLOATS:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or value < 0
            ):
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")
        if (
            isinstance(self.segments, bool)
            or not isinstance(self.segments, int)
            or self.segments < 1
        ):
            raise ValueError(f"segments must be an int >= 1, not {self.segments!r}")
        if self.echo_tag not in ECHO_TAGS:
            raise ValueError(f"echo_tag must be one of {', '.join(ECHO_TAGS)}")
        if self.partial_amount is not None and (
            isinstance(self.partial_amount, bool)
            or not isinstance(self.partial_amount, int)
            or self.partial_amount < 0
        ):
            raise ValueError(
                f"partial_amount must be an int >= 0, not {self.partial_amount!r}"
            )
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value != "":  # empty means "leave the tag out"
                try:
                    check_value(name, value)
                except ProtocolError as error:
                    raise ValueError(str(error)) from None
        if self.trailing not in TRAILERS:
            raise ValueError(
                f"trailing must be one of {', '.join(map(repr, TRAILERS))}, "
                f"not {self.trailing!r}"
            )
        if self.receipt:
            encode_receipt(self.receipt)

    @classmethod
    def parse(cls, spec: str) -> Scenario:
        """``"kind"`` or ``"kind:key=value,..."``, e.g. ``"decline:af=05,delay=1"``."""
        kind, _, options = spec.strip().partition(":")
        values: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in options.split(","))):
            key, equals, raw = item.partition("=")
            key = _ALIASES.get(key.strip().lower(), key.strip().lower())
            if not equals or key not in _FIELD_NAMES or key == "kind":
                raise ValueError(
                    f"bad scenario option {item!r} (key=value, key one of "
                    f"{', '.join(sorted(_FIELD_NAMES - {'kind'}))})"
                )
            values[key] = _convert(key, raw.strip())
        return cls(kind=kind.strip().lower() or "approve", **values)

    def to_spec(self, hide: tuple[str, ...] = ()) -> str:
        """Inverse of :meth:`parse`: the options that differ from the defaults.

        Options named in ``hide`` are left out.
        """
        defaults = Scenario()
        options = [
            f"{item.name}={getattr(self, item.name)}"
            for item in dataclasses.fields(self)
            if item.name not in ("kind", *hide)
            and getattr(self, item.name) != getattr(defaults, item.name)
        ]
        return self.kind + (":" + ",".join(options) if options else "")

    def describe(self) -> str:
        """:meth:`to_spec` without card data, for logs."""
        return self.to_spec(hide=("masked_card", "expiry"))


_FIELD_NAMES = frozenset(item.name for item in dataclasses.fields(Scenario))


def _convert(key: str, raw: str) -> object:
    try:
        if key in _FLOATS:
            return float(raw)
        if key in _INTS:
            return None if raw.lower() in ("", "none") else int(raw)
    except ValueError:
        raise ValueError(f"{key} needs a number, not {raw!r}") from None
    if key in _BOOLS:
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise ValueError(f"{key} needs yes/no, not {raw!r}")
    if key == "echo_tag":
        return raw.upper()
    return raw
