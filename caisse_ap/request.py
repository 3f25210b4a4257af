"""Typed payment request (point of sale -> terminal)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from .frame import RequestError, encode_unchecked

PROTOCOL_VERSIONS = ("0300", "0310", "0320")
MAX_AMOUNT = 999_999_999_999  # CB carries at most 12 digits
MAX_CORRELATION_LENGTH = 99
# CJ is informative only: terminals do not check it, but it is expected to be there.
CONCERT_IDENTIFIER = "012345678901"
RECEIPT_REQUESTED = "100"


class Direction(str, Enum):
    """CD: what the terminal should do with the amount."""

    DEBIT = "0"
    CREDIT = "1"


class PaymentMode(str, Enum):
    """Which application the terminal is forced to (CC)."""

    CARD = "card"
    CHECK = "check"
    ANCV = "ancv"


# CC is left out for cards so that the terminal picks the application.
_FORCED_APPLICATION = {PaymentMode.CHECK: "00C", PaymentMode.ANCV: "00V"}


def _coerce_enum(enum_type: type[Enum], value: object, what: str) -> Enum:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in enum_type)
        raise RequestError(
            f"invalid {what} {value!r}: one of {allowed} expected"
        ) from None


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as an amount is a bug, not 1 cent.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PaymentRequest:
    """A payment request; validated on creation, encoded with :meth:`encode`.

    ``amount`` is in minor units (cents). BF (partial payment allowed) is
    never sent: recent terminal software rejects requests carrying it.
    ``correlation_id`` is sent in CF only when set (the default is not to
    send CF, like the reference clients): terminals treat CF as their own
    private data, so the answer's CF never decides anything.
    """

    amount: int
    currency_numeric: int
    correlation_id: str = ""
    direction: Direction = Direction.DEBIT
    pos_number: str = "01"
    protocol_version: str = "0300"
    mode: PaymentMode = PaymentMode.CARD
    request_receipt: bool = False

    def __post_init__(self) -> None:
        if not _is_int(self.amount) or not 0 < self.amount <= MAX_AMOUNT:
            raise RequestError(
                f"invalid amount {self.amount!r}: an int from 1 to {MAX_AMOUNT} "
                "minor units expected"
            )
        if not _is_int(self.currency_numeric) or not 0 < self.currency_numeric <= 999:
            raise RequestError(
                f"invalid currency {self.currency_numeric!r}: an ISO 4217 numeric "
                "code from 1 to 999 expected"
            )
        self._check_correlation_id()
        if not (
            isinstance(self.pos_number, str)
            and len(self.pos_number) == 2
            and self.pos_number.isascii()
            and self.pos_number.isdigit()
        ):
            raise RequestError(
                f"invalid POS number {self.pos_number!r}: 2 digits expected"
            )
        if self.protocol_version not in PROTOCOL_VERSIONS:
            raise RequestError(
                f"invalid protocol version {self.protocol_version!r}: one of "
                f"{', '.join(PROTOCOL_VERSIONS)} expected"
            )
        if not isinstance(self.request_receipt, bool):
            raise RequestError(
                f"request_receipt must be a bool, not {self.request_receipt!r}"
            )
        # Frozen dataclass: normalise plain strings to the enum members.
        object.__setattr__(
            self, "direction", _coerce_enum(Direction, self.direction, "direction")
        )
        object.__setattr__(
            self, "mode", _coerce_enum(PaymentMode, self.mode, "payment mode")
        )
        # Computed once: a frozen request always gives the same bytes.
        # Every value was validated above: no need to check each field again.
        object.__setattr__(self, "_frame", encode_unchecked(dict(self.fields())))
        object.__setattr__(
            self,
            "_echoes",
            (
                ("CA", self.pos_number),
                ("CD", self.direction.value),
                ("CE", self.currency_field),
            ),
        )

    def _check_correlation_id(self) -> None:
        value = self.correlation_id
        if not isinstance(value, str) or len(value) > MAX_CORRELATION_LENGTH:
            raise RequestError(
                f"invalid correlation id {value!r}: at most {MAX_CORRELATION_LENGTH} "
                "characters expected"
            )
        if not all(" " <= char <= "~" for char in value):
            raise RequestError(
                f"invalid correlation id {value!r}: printable ASCII characters only"
            )

    @property
    def amount_field(self) -> str:
        """CB: at least 2 digits, zero-padded (5 cents -> ``05``)."""
        return f"{self.amount:02d}"

    @property
    def currency_field(self) -> str:
        return f"{self.currency_numeric:03d}"

    def fields(self) -> list[tuple[str, str]]:
        """The request fields in sending order; CZ comes first."""
        fields = [
            ("CZ", self.protocol_version),
            ("CJ", CONCERT_IDENTIFIER),
            ("CA", self.pos_number),
            ("CB", self.amount_field),
            ("CD", self.direction.value),
            ("CE", self.currency_field),
        ]
        forced = _FORCED_APPLICATION.get(self.mode)
        if forced:
            fields.append(("CC", forced))
        if self.correlation_id:
            fields.append(("CF", self.correlation_id))
        if self.request_receipt:
            fields.append(("CK", RECEIPT_REQUESTED))
        return fields

    @property
    def echoes(self) -> tuple[tuple[str, str], ...]:
        """Tags a successful answer must repeat exactly, with their values.

        CB is checked apart (it may be lower: partial authorisation). CF is
        not an echo: terminals answer it with their own private data.
        """
        return self._echoes  # type: ignore[attr-defined,no-any-return]

    @cached_property
    def repeated_tags(self) -> tuple[str, ...]:
        """Tags a terminal that repeats the request (Ingenico) sends back:
        all but CF, which it replaces with its own data or may leave out."""
        return tuple(tag for tag, _value in self.fields() if tag != "CF")

    def encode(self) -> bytes:
        return self._frame  # type: ignore[attr-defined,no-any-return]
