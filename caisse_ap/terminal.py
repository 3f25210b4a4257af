"""What a simulated terminal answers: pure functions, no I/O.

The answer echoes the request's tags (CZ, CA, CB, CD, CE, CF) like a real
terminal, then the scenario decides status, card data and how the bytes are
delivered (one piece, segments, byte by byte, cut by a reset).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from .decoder import MAX_ANSWER_SIZE
from .frame import TAG_ALPHABET, decode_fields, encode_fields
from .receipt import encode_receipt
from .scenario import Scenario

REQUEST_TAGS = ("CZ", "CA", "CB", "CD", "CE")
GARBAGE = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n\xff\xfe"
# Applications a card answer must not report when the request forced one.
_FORCED_APPLICATIONS = ("00C", "00V")
_APPROVING = frozenset(
    {"approve", "split", "drip", "oversize", "wrong_echo", "partial", "reset"}
)


@dataclass(frozen=True)
class Delivery:
    """Bytes to write, ``pause`` seconds apart; ``reset`` then aborts the socket."""

    chunks: tuple[bytes, ...]
    pause: float = 0.0
    reset: bool = False

    @property
    def answer(self) -> bytes:
        return b"".join(self.chunks)


def _echo(request: dict[str, str], *tags: str) -> list[tuple[str, str]]:
    return [(tag, request[tag]) for tag in tags if request.get(tag)]


def format_error_fields(request: dict[str, str] | None) -> list[tuple[str, str]]:
    """AE=01 AF=09: what a terminal answers to a request it cannot read."""
    request = request or {}
    return [("AE", "01"), ("AF", "09"), *_echo(request, "CA", "CD", "CE", "CF")]


def _approval(
    request: dict[str, str], scenario: Scenario, amount: str
) -> list[tuple[str, str]]:
    fields = [
        *_echo(request, "CZ"),
        ("AE", "10"),
        *_echo(request, "CA"),
        ("CB", amount),
        *_echo(request, "CD", "CE"),
    ]
    forced = request.get("CC", "")
    if forced in _FORCED_APPLICATIONS:
        fields.append(("CC", forced))  # no card data for a check or ANCV vouchers
    else:
        fields += [
            ("CC", scenario.application),
            ("CI", scenario.read_mode),
            ("AA", scenario.masked_card),
            ("AB", scenario.expiry),
        ]
    fields += [("AC", scenario.auth_code), *_echo(request, "CF")]
    if scenario.receipt:
        fields.append(("ZT", encode_receipt(scenario.receipt)))
    return [(tag, value) for tag, value in fields if value]


def _partial_amount(request: dict[str, str], scenario: Scenario) -> str:
    amount_field = request["CB"]
    wanted = scenario.partial_amount
    if wanted is None:
        wanted = max(1, int(amount_field) // 2)
    # Same width as the request: exercises "equal after stripping zeros".
    return str(wanted).zfill(len(amount_field))


def _wrong(tag: str, value: str) -> str:
    if tag == "CA":
        return f"{(int(value) + 1) % 100:02d}" if value.isdigit() else "99"
    if tag == "CB":
        return str(int(value) + 1) if value.isdigit() else "1"  # more than requested
    if tag == "CD":
        return "1" if value == "0" else "0"
    if tag == "CE":
        return "840" if value != "840" else "978"
    if not value:
        return "NOT-YOURS"
    return value[:-1] + ("B" if value.endswith("A") else "A")  # same length, differs


def _with_wrong_echo(fields: list[tuple[str, str]], tag: str) -> list[tuple[str, str]]:
    if all(name != tag for name, _ in fields):
        return [*fields, (tag, _wrong(tag, ""))]
    return [
        (name, _wrong(name, value) if name == tag else value) for name, value in fields
    ]


def _filler_tags(used: set[str]) -> Iterator[str]:
    letters = sorted(TAG_ALPHABET, reverse=True)  # ZZ, ZY...: far from real tags
    return (a + b for a, b in itertools.product(letters, repeat=2) if a + b not in used)


def _oversize(fields: list[tuple[str, str]]) -> bytes:
    padded = list(fields)
    tags = _filler_tags({tag for tag, _ in fields})
    size = len(encode_fields(fields))
    while size <= MAX_ANSWER_SIZE + 4096:
        padded.append((next(tags), "X" * 999))
        size += 1004
    return encode_fields(padded)


def answer_fields(request: dict[str, str], scenario: Scenario) -> list[tuple[str, str]]:
    """Fields answering ``request`` (a valid request) under ``scenario``."""
    kind = scenario.kind
    if kind in _APPROVING:
        amount = (
            _partial_amount(request, scenario) if kind == "partial" else request["CB"]
        )
        fields = _approval(request, scenario, amount)
        return (
            _with_wrong_echo(fields, scenario.echo_tag)
            if kind == "wrong_echo"
            else fields
        )
    if kind == "decline":
        return [
            *_echo(request, "CZ"),
            ("AE", "01"),
            ("AF", scenario.af_code),
            *_echo(request, "CA", "CB", "CD", "CE", "CF"),
        ]
    if kind == "red_button":
        return [
            *_echo(request, "CZ"),
            ("AE", "01"),
            ("AF", scenario.af_code),
            *_echo(request, "CA", "CD", "CE", "CF"),
        ]
    if kind == "accepted":
        return [
            *_echo(request, "CZ"),
            ("AE", "11"),
            *_echo(request, "CA", "CB", "CD", "CE", "CF"),
        ]
    raise ValueError(f"scenario {kind!r} has no answer fields")


def _pieces(data: bytes, count: int) -> tuple[bytes, ...]:
    count = max(1, min(count, len(data)))
    step, extra = divmod(len(data), count)
    bounds = [0]
    for index in range(count):
        bounds.append(bounds[-1] + step + (1 if index < extra else 0))
    return tuple(data[start:end] for start, end in itertools.pairwise(bounds))


def _mid_field(answer: bytes) -> int:
    """An offset near the middle that cuts a field: the reset leaves a torn answer."""
    boundaries = set(
        itertools.accumulate(
            5 + len(value) for _, value in decode_fields(answer).items()
        )
    )
    cut = len(answer) // 2
    while cut in boundaries:
        cut += 1
    return cut


def is_valid_request(request: dict[str, str] | None) -> bool:
    """Has the tags a payment needs, with a numeric amount."""
    return (
        request is not None
        and all(tag in request for tag in REQUEST_TAGS)
        and request["CB"].isdigit()
    )


def plan_delivery(request: dict[str, str] | None, scenario: Scenario) -> Delivery:
    """How to answer; an unreadable ``request`` (None) gets a format error."""
    if request is None or not is_valid_request(request):
        return Delivery((encode_fields(format_error_fields(request)),))
    kind = scenario.kind
    if kind == "garbage":
        return Delivery((GARBAGE,))
    if kind == "oversize":
        return Delivery((_oversize(answer_fields(request, scenario)),))
    answer = encode_fields(answer_fields(request, scenario))
    if kind == "split":
        return Delivery(_pieces(answer, scenario.segments), scenario.segment_delay)
    if kind == "drip":
        return Delivery(_pieces(answer, len(answer)), scenario.byte_delay)
    if kind == "reset":
        return Delivery(
            (answer[: _mid_field(answer)],), scenario.segment_delay, reset=True
        )
    return Delivery((answer,))
