"""What a simulated terminal answers: pure functions, no I/O.

The terminal profile shapes the answer (which request tags it repeats, what
card data and private data it adds); the scenario decides the status and how
the bytes are delivered (one piece, segments, byte by byte, cut by a reset).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from ..decoder import MAX_ANSWER_SIZE
from ..frame import TAG_ALPHABET, decode_fields, encode_fields
from ..receipt import encode_receipt
from .profiles import INGENICO_AID, INGENICO_CONTRACT, TerminalProfile
from .scenario import Scenario

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


def _echo(
    request: dict[str, str], profile: TerminalProfile, amount: str | None = None
) -> list[tuple[str, str]]:
    """The request tags the profile repeats, CB as ``amount`` (None: left out)."""
    wanted = request.keys() if profile.echo_tags is None else profile.echo_tags
    echoed = []
    for tag in wanted:
        value = request.get(tag, "")
        if tag == "CB":
            value = amount or ""
        if tag == "CF" and profile.private_data:
            continue  # replaced by the terminal's own private data
        if value:
            echoed.append((tag, value))
    return echoed


def format_error_fields(
    request: dict[str, str] | None, profile: TerminalProfile
) -> list[tuple[str, str]]:
    """AE=01 AF=09: what a terminal answers to a request it cannot read."""
    request = request or {}
    return [*_echo(request, profile, request.get("CB")), ("AE", "01"), ("AF", "09")]


def _card_data(tag: str, scenario: Scenario) -> str:
    return {
        "CC": scenario.application,
        "CI": scenario.read_mode,
        "AC": scenario.auth_code,
        "AA": scenario.masked_card,
        "AB": scenario.expiry,
        "AI": INGENICO_AID,
        "CG": INGENICO_CONTRACT,
    }[tag]


def _is_forced(request: dict[str, str]) -> bool:
    return request.get("CC", "") in _FORCED_APPLICATIONS


def _approval(
    request: dict[str, str], scenario: Scenario, profile: TerminalProfile, amount: str
) -> list[tuple[str, str]]:
    fields = [*_echo(request, profile, amount), ("AE", "10")]
    if _is_forced(request):
        # No card data for a check or ANCV vouchers: CC says which application.
        if all(tag != "CC" for tag, _ in fields):
            fields.append(("CC", request["CC"]))
        extra = profile.forced_application_tags
    else:
        extra = profile.card_tags
    fields += [(tag, _card_data(tag, scenario)) for tag in extra]
    if profile.private_data:
        fields.append(("CF", profile.private_data))
    if scenario.receipt:
        fields.append(("ZT", encode_receipt(scenario.receipt)))
    return [(tag, value) for tag, value in fields if value]


def _failure(
    request: dict[str, str],
    scenario: Scenario,
    profile: TerminalProfile,
    amount: str | None,
) -> list[tuple[str, str]]:
    reason = scenario.af_code
    if _is_forced(request) and profile.forced_application_failure:
        reason = profile.forced_application_failure  # checks fail with AF=04
    return [*_echo(request, profile, amount), ("AE", "01"), ("AF", reason)]


def acknowledgement_fields(
    request: dict[str, str], profile: TerminalProfile
) -> list[tuple[str, str]]:
    """AE=11: the request was taken, the result will not be in this answer."""
    return [*_echo(request, profile, request["CB"]), ("AE", "11")]


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


def answer_fields(
    request: dict[str, str], scenario: Scenario, profile: TerminalProfile
) -> list[tuple[str, str]]:
    """Fields answering ``request`` (a valid request) under ``scenario``."""
    kind = scenario.kind
    if kind in _APPROVING:
        amount = (
            _partial_amount(request, scenario) if kind == "partial" else request["CB"]
        )
        fields = _approval(request, scenario, profile, amount)
        return (
            _with_wrong_echo(fields, scenario.echo_tag)
            if kind == "wrong_echo"
            else fields
        )
    if kind == "decline":
        return _failure(request, scenario, profile, request["CB"])
    if kind == "red_button":
        return _failure(request, scenario, profile, None)  # CB may be missing
    if kind == "accepted":
        return acknowledgement_fields(request, profile)
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


def _trailer(kind: str, answer: bytes) -> bytes:
    return {"": b"", "crlf": b"\r\n", "nul": b"\x00" * 16, "frame": answer}[kind]


def is_valid_request(request: dict[str, str] | None, profile: TerminalProfile) -> bool:
    """Has the tags the terminal needs, with a numeric amount."""
    return (
        request is not None
        and all(tag in request for tag in profile.mandatory_tags)
        and request.get("CB", "").isdigit()
    )


def asks_acknowledgement(request: dict[str, str], profile: TerminalProfile) -> bool:
    """BA=1 on a terminal that answers it at once with AE=11."""
    return profile.acknowledges_ba and request.get("BA") == "1"


def plan_delivery(
    request: dict[str, str] | None, scenario: Scenario, profile: TerminalProfile
) -> Delivery:
    """How to answer; an unreadable ``request`` (None) gets a format error."""
    if request is None or not is_valid_request(request, profile):
        return Delivery((encode_fields(format_error_fields(request, profile)),))
    if asks_acknowledgement(request, profile):
        return Delivery((encode_fields(acknowledgement_fields(request, profile)),))
    kind = scenario.kind
    if kind == "garbage":
        return Delivery((GARBAGE,))
    if kind == "oversize":
        return Delivery((_oversize(answer_fields(request, scenario, profile)),))
    answer = encode_fields(answer_fields(request, scenario, profile))
    answer += _trailer(scenario.trailing, answer)
    if kind == "split":
        return Delivery(_pieces(answer, scenario.segments), scenario.segment_delay)
    if kind == "drip":
        return Delivery(_pieces(answer, len(answer)), scenario.byte_delay)
    if kind == "reset":
        return Delivery(
            (answer[: _mid_field(answer)],), scenario.segment_delay, reset=True
        )
    return Delivery((answer,))
